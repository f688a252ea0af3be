package server

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"
)

// Sign-in throttling per account name, besides the per-address limit: an
// attacker with many addresses still gets only a few guesses per name.
// After signInFreeFailures failed attempts for a name, attempts for it are
// refused for signInBackoff, doubled for each further failure, up to
// signInMaxBackoff; a successful sign-in forgets the name's failures.
// Names are counted whether or not an account has them, so a refusal
// reveals nothing about which names exist.
//
// The counts are kept in memory, per server process: a restart forgets
// them, and replicas behind one address each keep their own (so N
// replicas allow N times the guesses). Moving them to the shared database
// is planned.
const (
	signInFreeFailures = 5
	signInBackoff      = 30 * time.Second
	signInMaxBackoff   = 15 * time.Minute
	// signInForget is how long after the end of its backoff (or its last
	// failure, without one) a name is forgotten.
	signInForget = time.Hour
	// signInNames bounds the names remembered, so that attempts with
	// made-up names cannot grow the server's memory without end.
	signInNames = 10000
)

// accountThrottle counts failed sign-ins per account name.
type accountThrottle struct {
	now func() time.Time

	mu    sync.Mutex
	names map[[sha256.Size]byte]*signInFailures
	swept time.Time
}

// signInFailures are one name's failed sign-ins since its last success.
type signInFailures struct {
	count int
	until time.Time // attempts are refused before this
	last  time.Time // the last failure
}

func newAccountThrottle(now func() time.Time) *accountThrottle {
	return &accountThrottle{now: now, names: make(map[[sha256.Size]byte]*signInFailures)}
}

// throttleKey is how a name is remembered: its hash (a bounded size, and
// no list of the names tried in memory), ignoring case and surrounding
// space so that "Ana " and "ana" share their count.
func throttleKey(name string) [sha256.Size]byte {
	return sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(name))))
}

// backoff is how long attempts are refused after failures failed ones.
func backoff(failures int) time.Duration {
	if failures < signInFreeFailures {
		return 0
	}
	d := signInBackoff
	for range failures - signInFreeFailures {
		if d *= 2; d >= signInMaxBackoff {
			return signInMaxBackoff
		}
	}
	return d
}

// wait is how long attempts for name are still refused; zero when one may
// be made now.
func (t *accountThrottle) wait(name string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.names[throttleKey(name)]
	if !ok {
		return 0
	}
	return max(0, f.until.Sub(t.now()))
}

// failed counts a failed attempt for name.
func (t *accountThrottle) failed(name string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	key := throttleKey(name)
	f, ok := t.names[key]
	if !ok {
		if len(t.names) >= signInNames {
			t.evictOldest()
		}
		f = &signInFailures{}
		t.names[key] = f
	}
	f.count++
	f.last = now
	f.until = now.Add(backoff(f.count))
}

// succeeded forgets name's failures.
func (t *accountThrottle) succeeded(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.names, throttleKey(name))
}

// sweep forgets, at most once a minute, the names whose last failure and
// backoff are more than signInForget old.
func (t *accountThrottle) sweep(now time.Time) {
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for k, f := range t.names {
		if now.Sub(f.until) > signInForget { // until is never before last

			delete(t.names, k)
		}
	}
}

// evictOldest forgets the name whose last failure is the oldest.
func (t *accountThrottle) evictOldest() {
	var oldest [sha256.Size]byte
	var at time.Time
	first := true
	for k, f := range t.names {
		if first || f.last.Before(at) {
			oldest, at, first = k, f.last, false
		}
	}
	delete(t.names, oldest)
}
