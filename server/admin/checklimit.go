package admin

import (
	"errors"
	"sync"
)

// Checks of a draft (and publishes and rollbacks, which check too) each
// start a child process that may use up to its limits (sandbox.Limits: 2
// GiB, 20 s of CPU). Eight at once took 2.2 GB; so an admin runs one at a
// time and the server MaxChecks, and the next is refused with 429 and a
// message on the form, not queued.
const MaxChecks = 2

// checkLimit counts the checks running, in all and per admin.
type checkLimit struct {
	mu      sync.Mutex
	running int
	byAdmin map[string]bool
}

func newCheckLimit() *checkLimit { return &checkLimit{byAdmin: make(map[string]bool)} }

// Refusals of a check beyond the limits, shown on the form (with 429) as
// its check's problem.
var (
	errCheckRunning = errors.New("a check of yours is still running: wait for its page before you check or publish again")
	errChecksBusy   = errors.New("other admins' checks are running on this server: try again in a few seconds")
)

// start takes a place for a check by admin, or says why there is none;
// the returned function gives the place back.
func (l *checkLimit) start(admin string) (done func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.byAdmin[admin]:
		return nil, errCheckRunning
	case l.running >= MaxChecks:
		return nil, errChecksBusy
	}
	l.running++
	l.byAdmin[admin] = true
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.running--
		delete(l.byAdmin, admin)
	}, nil
}
