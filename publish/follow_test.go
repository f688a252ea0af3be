package publish

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"acceso/internal/pgtest"
	"acceso/knowledge"
	"acceso/rules"
	"acceso/store"
)

// variant is the embedded rules with a comment of its own: another
// revision that decides alike.
func variant(n int) knowledge.Source {
	src := rules.Embedded().Clone()
	src.Modules["rules/login/decision.rego"] += fmt.Sprintf("\n# variant %d\n", n)
	return src
}

// lockedBuffer is a log sink a test reads while publishers write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// followWithin bounds how long TestFollow waits for a follower.
const followWithin = 30 * time.Second

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFollow publishes on one publisher and rolls back on another sharing
// the store, on SQLite (polling) and on PostgreSQL (LISTEN/NOTIFY): each
// serves the other's change, without a restart. A stored revision that
// does not verify is logged and not served; the previous rules keep
// serving. The followers poll every 500 ms; the bound is followWithin,
// far beyond that, because following means building the revision, which
// a busy machine does slowly: the test shows that the change is served,
// not how fast.
func TestFollow(t *testing.T) {
	t.Parallel()
	openers := []struct {
		name string
		open func(t *testing.T) func() (*store.DB, error)
	}{
		{"sqlite", func(t *testing.T) func() (*store.DB, error) {
			dir := t.TempDir()
			return func() (*store.DB, error) { return store.Open(context.Background(), dir) }
		}},
		{"postgres", func(t *testing.T) func() (*store.DB, error) {
			url := pgtest.Start(t).NewDatabase(t)
			return func() (*store.DB, error) { return store.OpenURL(context.Background(), url) }
		}},
	}
	for _, tc := range openers {
		t.Run(tc.name, func(t *testing.T) {
			open := tc.open(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var logs lockedBuffer
			var pubs [2]*Publisher
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			for i := range pubs {
				db, err := open()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				log := slog.New(slog.NewTextHandler(&logs, nil)).With("replica", i)
				if pubs[i], err = Load(ctx, Config{Follow: true, FollowEvery: 500 * time.Millisecond}, db, log); err != nil {
					t.Fatal(err)
				}
				wg.Go(func() { pubs[i].Follow(ctx) })
			}
			a, b := pubs[0], pubs[1]
			serving := func(p *Publisher, rev string) func() bool {
				return func() bool { return p.Engine().Current().Revision == rev }
			}
			rev, _, err := a.Publish(ctx, Change{Source: variant(1), Admin: "ana", Note: "one"})
			if err != nil {
				t.Fatalf("Publish on a = %v", err)
			}
			waitFor(t, followWithin, "b serves a's publish", serving(b, rev.ID))

			first, err := b.store.Revisions(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			baseline := first[len(first)-1]
			back, err := b.Rollback(ctx, baseline.Seq, "luis")
			if err != nil {
				t.Fatalf("Rollback on b = %v", err)
			}
			waitFor(t, followWithin, "a serves b's rollback", serving(a, back.ID))

			// A revision that does not verify, stored as a faulty server
			// or a later release might: neither serves it.
			broken := variant(2)
			broken.Modules["rules/login/broken.rego"] = "package login\n\nbroken if {\n"
			if _, err := a.store.AddRevision(ctx, store.Revision{ID: broken.Revision(), Admin: "x", PublishedAt: time.Now(),
				Source: broken}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, followWithin, "the broken revision is logged by both", func() bool {
				return strings.Count(logs.String(), "does not verify on this server") >= 2
			})
			for i, p := range pubs {
				if got := p.Engine().Current().Revision; got != back.ID {
					t.Errorf("replica %d serves %s after a broken revision; want %s still", i, got, back.ID)
				}
			}
			// A publish made afterwards is served again everywhere.
			rev, _, err = b.Publish(ctx, Change{Source: variant(3), Admin: "luis"})
			if err != nil {
				t.Fatalf("Publish on b after the broken revision = %v", err)
			}
			waitFor(t, followWithin, "a serves b's publish", serving(a, rev.ID))
		})
	}
}
