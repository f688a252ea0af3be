package server

import (
	"context"
	"runtime"
	"time"

	"acceso/answer"
)

// Load shedding. Evaluations are CPU work: past a few per core, more of
// them at once only make each one slower, until they all miss their
// deadline together. So a bounded number run at once, and a request that
// finds them all taken is answered at once with 503 overloaded and
// Retry-After, which a client can act on, instead of waiting for a CPU
// and failing later with evaluation_failed, which it cannot.

// evaluationsPerCPU is how many evaluations may run at once per CPU when
// Config.MaxEvaluations is zero: enough to keep every core busy while some
// goroutines wait on the network, few enough that a deadline measures
// evaluation rather than queueing.
const evaluationsPerCPU = 4

// shedWait is how long a request may wait for an evaluation slot before it
// is shed: long enough to ride out a burst's jitter, short enough that the
// excess is answered at once.
const shedWait = 2 * time.Millisecond

// errOverloaded is the answer to a request shed for want of a slot.
var errOverloaded = &answer.Error{
	Code:      answer.CodeOverloaded,
	Message:   "the server is busy with other requests; try again after Retry-After seconds",
	Temporary: true,
}

// evaluations bounds the evaluations that run at once.
type evaluations struct {
	slots chan struct{}
	wait  time.Duration
}

// newEvaluations allows n evaluations at once (4×GOMAXPROCS when n ≤ 0), each
// waiting at most wait for a slot.
func newEvaluations(n int, wait time.Duration) *evaluations {
	if n <= 0 {
		n = evaluationsPerCPU * runtime.GOMAXPROCS(0)
	}
	return &evaluations{slots: make(chan struct{}, n), wait: wait}
}

// acquire takes a slot, waiting at most e.wait. It returns the function
// that gives the slot back (call it once), errOverloaded when no slot
// came free in time, or ctx's error when ctx ended first.
func (e *evaluations) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-e.slots }
	select {
	case e.slots <- struct{}{}:
		return release, nil
	default:
	}
	if e.wait <= 0 {
		return nil, errOverloaded
	}
	timer := time.NewTimer(e.wait)
	defer timer.Stop()
	select {
	case e.slots <- struct{}{}:
		return release, nil
	case <-timer.C:
		return nil, errOverloaded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// inUse is how many slots are taken.
func (e *evaluations) inUse() int { return len(e.slots) }

// acquireEvaluation takes one of the server's evaluation slots, shared by
// every surface that evaluates rules (the API, the site's diagnosis).
// Call it before starting the evaluation's deadline, so that the deadline
// counts evaluating, not waiting; call release when the evaluation is
// over. When no slot comes free within a few milliseconds it returns an
// *answer.Error with code overloaded (503, Retry-After), counted in
// acceso_evaluations_shed_total; when ctx ends first, ctx's error.
func (s *Server) acquireEvaluation(ctx context.Context) (release func(), err error) {
	release, err = s.evaluations.acquire(ctx)
	if err == errOverloaded { //nolint:errorlint // the sentinel itself, never wrapped
		s.metrics.shed.Inc()
	}
	return release, err
}
