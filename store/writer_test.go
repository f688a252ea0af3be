package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"acceso/internal/pgtest"
)

// syncBuffer is a log that goroutines may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), substr)
}

func decisionN(i int, at time.Time) Kept {
	return Kept{Reference: fmt.Sprintf("T%08d", i), At: at, Source: "api", Revision: "rev",
		Facts: map[string]any{"vpn": i%2 == 0}, Findings: []string{"check_spam"}, Outcome: "causes_found"}
}

// waitFor polls cond every 10 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestWriterWaitsWhileSQLiteIsLocked holds SQLite's write lock from
// another connection (as another process would) past the busy timeout:
// decisions wait in memory up to the bound, those beyond are counted as
// dropped, each of the two is logged once, the writer says it is not
// healthy, and once the lock is released every decision that waited is
// stored.
func TestWriterWaitsWhileSQLiteIsLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out SQLite's 5 s busy timeout")
	}
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var log syncBuffer
	w := NewDecisionWriter(db, WriterConfig{Batch: 16, Every: 50 * time.Millisecond, Queue: 100,
		Log: slog.New(slog.NewTextHandler(&log, nil))})
	defer w.Close(ctx)

	locker, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	conn, err := locker.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	for i := range 150 {
		w.Add(decisionN(i, at))
	}
	took := waitFor(t, 15*time.Second, "the writer says it cannot store", func() bool { ok, _ := w.Healthy(); return !ok })
	t.Logf("unhealthy %v after the lock was taken", took.Round(time.Millisecond))
	if got := w.Dropped(); got != 50 {
		t.Errorf("Dropped() = %d; want 50, the decisions beyond the bound of 100", got)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	waitFor(t, 10*time.Second, "every waiting decision stored", func() bool { return w.Stored() == 100 })
	waitFor(t, time.Second, "healthy again", func() bool { ok, _ := w.Healthy(); return ok })
	t.Logf("100 waiting decisions stored and healthy %v after the lock was released", time.Since(released).Round(time.Millisecond))
	for _, line := range []string{"decisions cannot be stored", "decisions are being dropped", "decisions are stored again"} {
		if n := log.count(line); n != 1 {
			t.Errorf("log has %q %d times; want once per outage", line, n)
		}
	}
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM decisions").Scan(&n); err != nil || n != 100 {
		t.Errorf("rows = %d, %v; want 100", n, err)
	}
}

// testWriterAcrossPostgresOutage stops PostgreSQL while decisions are
// added, then starts it again: every decision is stored, none dropped.
func testWriterAcrossPostgresOutage(t *testing.T, c *pgtest.Cluster) {
	ctx := context.Background()
	db := openPG(t, c)
	w := NewDecisionWriter(db, WriterConfig{Batch: 16, Every: 50 * time.Millisecond})
	at := time.Now()
	for i := range 100 {
		w.Add(decisionN(i, at))
	}
	w.Flush()
	c.Stop(t)
	for i := 100; i < 1100; i++ {
		w.Add(decisionN(i, at))
	}
	waitFor(t, 10*time.Second, "the writer says it cannot store", func() bool { ok, _ := w.Healthy(); return !ok })
	time.Sleep(2 * time.Second)
	c.Restart(t)
	restarted := time.Now()
	waitFor(t, 15*time.Second, "every decision stored", func() bool { return w.Stored() == 1100 })
	t.Logf("1,000 decisions of the outage stored %v after PostgreSQL restarted", time.Since(restarted).Round(time.Millisecond))
	w.Close(ctx)
	if w.Dropped() != 0 {
		t.Errorf("Dropped() = %d; want 0", w.Dropped())
	}
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM decisions").Scan(&n); err != nil || n != 1100 {
		t.Errorf("rows = %d, %v; want 1100", n, err)
	}
}

// TestOpenOnAFullDisk opens a new database on a tmpfs of 1 MB filled to
// the last byte: the error says the disk is full. Mounting needs root; the
// test is skipped without, and fails under CI=true as root.
func TestOpenOnAFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	fill(t, dir)
	_, err := Open(context.Background(), filepath.Join(dir, "data"))
	t.Logf("Open on a full disk: %v", err)
	if err == nil || !strings.Contains(err.Error(), "is full") {
		t.Errorf("Open on a full disk = %v; want it to say the disk is full", err)
	}
}

// mountTmpfs mounts a tmpfs of size on a new folder for the test.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := mountTmpfsAt(dir, size); err != nil {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatalf("mount -t tmpfs as root under CI: %v", err)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { unmount(dir) })
	return dir
}

// fill writes a file into dir until its disk is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

// TestWriterDequeue checks how the writer takes a written batch off its
// queue: what came in meanwhile moves to the front of the same array,
// whose written rows are cleared; a backlog is not moved; and once a
// backlog's array is no longer needed, it is let go.
func TestWriterDequeue(t *testing.T) {
	rows := func(n, capacity int) []decisionRow {
		q := make([]decisionRow, n, capacity)
		for i := range q {
			q[i].reference = fmt.Sprintf("r%d", i)
		}
		return q
	}
	tests := []struct {
		name        string
		queue       []decisionRow
		n           int
		wantFirst   string
		wantLen     int
		wantSameArr bool
	}{
		{"a few came in during the write", rows(10, 16), 8, "r8", 2, true},
		{"nothing came in", rows(8, 16), 8, "", 0, true},
		{"a backlog", rows(3*maxWrite, 3*maxWrite), maxWrite, fmt.Sprintf("r%d", maxWrite), 2 * maxWrite, true},
		{"the end of a backlog", rows(10, 8*maxWrite), 5, "r5", 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &DecisionWriter{queue: tc.queue}
			array := tc.queue[:cap(tc.queue)]
			w.dequeue(tc.n)
			if len(w.queue) != tc.wantLen {
				t.Fatalf("dequeue(%d) left %d; want %d", tc.n, len(w.queue), tc.wantLen)
			}
			if tc.wantLen > 0 && w.queue[0].reference != tc.wantFirst {
				t.Errorf("dequeue(%d): first waiting is %s; want %s", tc.n, w.queue[0].reference, tc.wantFirst)
			}
			same := cap(w.queue) > 0 && &w.queue[:1][0] == &array[cap(array)-cap(w.queue)]
			if same != tc.wantSameArr {
				t.Errorf("dequeue(%d) kept the array: %v; want %v (cap %d of %d)", tc.n, same, tc.wantSameArr, cap(w.queue), cap(array))
			}
			if tc.wantSameArr && len(w.queue) <= maxWrite {
				for i := len(w.queue); i < tc.n+tc.wantLen; i++ {
					if array[i].reference != "" {
						t.Errorf("dequeue(%d): row %d of the array still holds %s", tc.n, i, array[i].reference)
					}
				}
			}
		})
	}
}
