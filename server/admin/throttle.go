package admin

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"sync"
	"time"

	"acceso/store"
)

// Sign-in throttling per account name, besides the per-address limit: an
// attacker with many addresses still gets only a few guesses per name.
// After SignInFreeFailures failed attempts for a name, attempts for it are
// refused for SignInBackoff, doubled for each further failure, up to
// SignInMaxBackoff; a successful sign-in forgets the name's failures.
// Names are counted whether or not an account has them, so a refusal
// reveals nothing about which names exist. A browser where the admin
// signed in before has its failures counted apart (device.go), so that
// failures from elsewhere cannot lock the admin out of it.
//
// The counts are kept in the store (table sign_in_failures), so that
// every replica sharing the database sees every failure and a restart
// forgets none; a store that cannot be read lets the attempt go on to the
// password check, which needs the store as well.
const (
	SignInFreeFailures = 5
	SignInBackoff      = 30 * time.Second
	SignInMaxBackoff   = 15 * time.Minute
	// signInForget is how long after the end of its backoff (or its last
	// failure, without one) a name is forgotten.
	signInForget = time.Hour
)

// accountThrottle counts failed sign-ins per account name, in db.
type accountThrottle struct {
	now func() time.Time
	db  *store.DB
	log *slog.Logger

	mu    sync.Mutex
	swept time.Time // when old names were last forgotten
}

// newAccountThrottle returns a throttle that keeps its counts in db; log
// hears of a store that fails. Without a store (a static export) there is
// no sign-in to throttle.
func newAccountThrottle(now func() time.Time, db *store.DB, log *slog.Logger) *accountThrottle {
	return &accountThrottle{now: now, db: db, log: log}
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
// no list of the names tried in the store), ignoring case and surrounding
// space so that "Ana " and "ana" share their count.
func throttleKey(name string) [sha256.Size]byte {
	return sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(name))))
}

// backoff is how long attempts are refused after failures failed ones.
func backoff(failures int) time.Duration {
	if failures < SignInFreeFailures {
		return 0
	}
	d := SignInBackoff
	for range failures - SignInFreeFailures {
		if d *= 2; d >= SignInMaxBackoff {
			return SignInMaxBackoff
		}
	}
	return d
}

// wait is how long attempts counted against key (signInKey: a name, or a
// name on a known device) are still refused; zero when one may be made
// now.
func (t *accountThrottle) wait(key [sha256.Size]byte) time.Duration {
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

// failed counts a failed attempt against key.
func (t *accountThrottle) failed(key [sha256.Size]byte) {
	now := t.now()
	t.inStore("counting a failure", func(ctx context.Context) error {
		t.sweepStore(ctx, now)
		_, err := t.db.SignInFailed(ctx, key[:], now, backoff)
		return err
	})
}

// succeeded forgets the failures counted against key.
func (t *accountThrottle) succeeded(key [sha256.Size]byte) {
	t.inStore("forgetting a name's failures", func(ctx context.Context) error {
		return t.db.SignInSucceeded(ctx, key[:])
	})
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
