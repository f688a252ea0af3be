package server

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"sync"
	"time"

	"acceso/server/store"
)

// Sign-in throttling per account name, besides the per-address limit: an
// attacker with many addresses still gets only a few guesses per name.
// After signInFreeFailures failed attempts for a name, attempts for it are
// refused for signInBackoff, doubled for each further failure, up to
// signInMaxBackoff; a successful sign-in forgets the name's failures.
// Names are counted whether or not an account has them, so a refusal
// reveals nothing about which names exist.
//
// With a store, the counts are kept in it (table sign_in_failures), so
// that every replica sharing the database sees every failure and a
// restart forgets none; a store that cannot be read lets the attempt go
// on to the password check, which needs the store as well. Without a
// store they are kept in memory, per process.
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
	// db, when not nil, keeps the counts instead of names.
	db  *store.DB
	log *slog.Logger

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

// newAccountThrottle returns a throttle that keeps its counts in db, or in
// memory when db is nil; log hears of a store that fails.
func newAccountThrottle(now func() time.Time, db *store.DB, log *slog.Logger) *accountThrottle {
	return &accountThrottle{now: now, db: db, log: log, names: make(map[[sha256.Size]byte]*signInFailures)}
}

// storeTimeout bounds one call to the store on the sign-in path.
const storeTimeout = 5 * time.Second

// inStore runs f on the store with a timeout, logging its failure as what.
func (t *accountThrottle) inStore(what string, f func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		t.log.Error("sign-in throttle: "+what, "err", err)
	}
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
	if t.db != nil {
		key := throttleKey(name)
		var until time.Time
		t.inStore("reading a name's failures", func(ctx context.Context) (err error) {
			until, err = t.db.SignInBlockedUntil(ctx, key[:])
			return err
		})
		if until.IsZero() {
			return 0
		}
		return max(0, until.Sub(t.now()))
	}
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
	if t.db != nil {
		key := throttleKey(name)
		t.inStore("counting a failure", func(ctx context.Context) error {
			t.sweepStore(ctx, now)
			_, err := t.db.SignInFailed(ctx, key[:], now, backoff)
			return err
		})
		return
	}
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
	if t.db != nil {
		key := throttleKey(name)
		t.inStore("forgetting a name's failures", func(ctx context.Context) error {
			return t.db.SignInSucceeded(ctx, key[:])
		})
		return
	}
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

// sweepStore forgets in the store, at most once a minute per process, the
// names whose backoff ended more than signInForget ago. The table needs no
// bound on its names beyond this: a name stays at most signInForget after
// its backoff.
func (t *accountThrottle) sweepStore(ctx context.Context, now time.Time) {
	t.mu.Lock()
	due := now.Sub(t.swept) >= time.Minute
	if due {
		t.swept = now
	}
	t.mu.Unlock()
	if !due {
		return
	}
	if _, err := t.db.ForgetSignInFailures(ctx, now.Add(-signInForget)); err != nil {
		t.log.Warn("sign-in throttle: forgetting old failures", "err", err)
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
