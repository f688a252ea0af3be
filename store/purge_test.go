package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPurgeUnderWrites purges a million old decisions (SQLite; 50,000 on
// PostgreSQL and with -short) while the decision writer keeps storing new
// ones: none is dropped, every old one is gone, every new one kept, and
// SQLite's WAL stays small.
func TestPurgeUnderWrites(t *testing.T) {
	ctx := context.Background()
	db, where := openDB(t)
	old := 1_000_000
	if testing.Short() || db.Shared() {
		old = 50_000
	}
	then := time.Now().Add(-48 * time.Hour)
	start := time.Now()
	rows := make([]decisionRow, 0, 10_000)
	for i := range old {
		r, err := rowOf(decisionN(i, then))
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
		if len(rows) == cap(rows) || i == old-1 {
			if _, err := db.addRows(ctx, rows, nil); err != nil {
				t.Fatalf("storing old decisions: %v", err)
			}
			rows = rows[:0]
		}
	}
	t.Logf("%d old decisions stored in %v", old, time.Since(start).Round(time.Millisecond))

	w := NewDecisionWriter(db, WriterConfig{Batch: 64, Every: 100 * time.Millisecond})
	var added atomic.Int64
	var maxWAL, unhealthy atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // about 2,000 decisions a second
		now := time.Now()
		for i := old; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Microsecond):
			}
			w.Add(decisionN(i, now))
			added.Add(1)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if st, err := os.Stat(filepath.Join(where, FileName+"-wal")); err == nil && st.Size() > maxWAL.Load() {
				maxWAL.Store(st.Size())
			}
			if ok, _ := w.Healthy(); !ok {
				unhealthy.Add(1)
			}
		}
	})
	start = time.Now()
	n, err := db.PurgeDecisions(ctx, time.Now().Add(-time.Hour))
	took := time.Since(start)
	close(stop)
	wg.Wait()
	w.Close(ctx)
	if err != nil || n != int64(old) {
		t.Fatalf("PurgeDecisions = %d, %v; want %d", n, err, old)
	}
	t.Logf("purged %d in %v beside %d new decisions: stored %d, dropped %d, WAL at most %d KB, writer behind in %d samples of 20 ms",
		n, took.Round(time.Millisecond), added.Load(), w.Stored(), w.Dropped(), maxWAL.Load()>>10, unhealthy.Load())
	if w.Dropped() != 0 || w.Stored() != added.Load() {
		t.Errorf("while purging: stored %d, dropped %d of %d; want all stored", w.Stored(), w.Dropped(), added.Load())
	}
	if !db.Shared() && maxWAL.Load() > 64<<20 {
		t.Errorf("the WAL reached %d MB; want it below 64 MB", maxWAL.Load()>>20)
	}
	var left int
	if err := db.db.QueryRowContext(ctx, db.dialect.rebind("SELECT count(*) FROM decisions WHERE created_at < ?"), time.Now().Add(-time.Hour).Unix()).Scan(&left); err != nil || left != 0 {
		t.Errorf("old decisions left = %d, %v; want 0", left, err)
	}
	if _, err := db.Decision(ctx, fmt.Sprintf("T%08d", old)); err != nil {
		t.Errorf("Decision(the first new one) = %v; want it kept", err)
	}
}
