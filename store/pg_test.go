package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"acceso/internal/pgtest"
	"acceso/knowledge"
)

// pgCluster, while TestPostgres runs, makes openDB and openTestDB open a
// fresh PostgreSQL database in it instead of a SQLite file. The tests it
// runs are not parallel, so one variable is enough.
var pgCluster *pgtest.Cluster

// openPG opens a fresh database in cluster c.
func openPG(t *testing.T, c *pgtest.Cluster) *DB {
	t.Helper()
	saved := pgCluster
	pgCluster = c
	defer func() { pgCluster = saved }()
	db, _ := openDB(t)
	return db
}

// bothDialects are the tests whose behaviour must not depend on the
// database: TestPostgres runs them again on PostgreSQL.
var bothDialects = []struct {
	name string
	test func(*testing.T)
}{
	{"AdminPasswordHash", TestAdminPasswordHash},
	{"Sessions", TestSessions},
	{"PasswordResetEndsSessions", TestPasswordResetEndsSessions},
	{"SessionOfUnknownAdminIsRefused", TestSessionOfUnknownAdminIsRefused},
	{"Revisions", TestRevisions},
	{"AddFeedbackRefusesBadFields", TestAddFeedbackRefusesBadFields},
	{"FeedbackCounts", TestFeedbackCounts},
	{"SignInFailures", TestSignInFailures},
	{"Decisions", TestDecisions},
	{"DecisionsInSeveralStatements", TestDecisionsInSeveralStatements},
	{"WriterCountsCollisions", TestWriterCountsCollisions},
	{"Migrations", TestMigrations},
	{"OpenConcurrently", TestOpenConcurrently},
	{"DraftFiles", TestDraftFiles},
	{"ReferencesNeverCollide", TestReferencesNeverCollide},
	{"PurgeUnderWrites", TestPurgeUnderWrites},
	{"APIKeys", TestAPIKeys},
	{"InsightCounts", TestInsightCounts},
}

// TestPostgres runs the store's tests on a real PostgreSQL, then what only
// PostgreSQL does: notify the replicas of a new revision.
func TestPostgres(t *testing.T) {
	c := pgtest.Start(t)
	pgCluster = c
	t.Cleanup(func() { pgCluster = nil })
	for _, tc := range bothDialects {
		t.Run(tc.name, tc.test)
	}
	t.Run("ListenRevisions", func(t *testing.T) { testListenRevisions(t, c) })
	// Last: it stops the cluster for a while.
	t.Run("WriterAcrossAnOutage", func(t *testing.T) { testWriterAcrossPostgresOutage(t, c) })
	t.Run("Backup", func(t *testing.T) {
		db := openPG(t, c)
		if err := db.Backup(context.Background(), t.TempDir()+"/copy.db"); !errors.Is(err, ErrBackupPostgres) ||
			!strings.Contains(err.Error(), "pg_dump") {
			t.Errorf("Backup on PostgreSQL = %v; want ErrBackupPostgres naming pg_dump", err)
		}
	})
}

func TestSignInFailures(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	ana, luis := tokenHash("ana"), tokenHash("luis")
	now := time.UnixMilli(1_800_000_000_000)
	backoff := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	if until, err := db.SignInBlockedUntil(ctx, ana); err != nil || !until.IsZero() {
		t.Fatalf("SignInBlockedUntil(ana) before any failure = %v, %v; want zero", until, err)
	}
	for i := 1; i <= 3; i++ {
		if n, err := db.SignInFailed(ctx, ana, now, backoff); err != nil || n != i {
			t.Fatalf("SignInFailed(ana) #%d = %d, %v; want %d", i, n, err, i)
		}
	}
	if until, err := db.SignInBlockedUntil(ctx, ana); err != nil || !until.Equal(now.Add(3*time.Minute)) {
		t.Errorf("SignInBlockedUntil(ana) after 3 failures = %v, %v; want %v", until, err, now.Add(3*time.Minute))
	}
	if _, err := db.SignInFailed(ctx, luis, now, backoff); err != nil {
		t.Fatal(err)
	}
	if err := db.SignInSucceeded(ctx, ana); err != nil {
		t.Fatal(err)
	}
	if until, err := db.SignInBlockedUntil(ctx, ana); err != nil || !until.IsZero() {
		t.Errorf("SignInBlockedUntil(ana) after a success = %v, %v; want zero", until, err)
	}
	if n, err := db.ForgetSignInFailures(ctx, now.Add(2*time.Minute)); err != nil || n != 1 {
		t.Errorf("ForgetSignInFailures = %d, %v; want 1 (luis)", n, err)
	}

	// Failures counted at once, as on several replicas, are all counted.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := db.SignInFailed(ctx, ana, now, backoff); err != nil {
				t.Errorf("SignInFailed at once = %v", err)
			}
		})
	}
	wg.Wait()
	if n, err := db.SignInFailed(ctx, ana, now, backoff); err != nil || n != 11 {
		t.Errorf("SignInFailed after 10 at once = %d, %v; want 11", n, err)
	}
}

func TestDecisions(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	at := time.Unix(1_800_000_000, 0).UTC()
	decs := []Kept{
		{Reference: "r1", At: at, Source: "api", Revision: "rev", Symptom: "code_not_received",
			Facts:    map[string]any{"email_verified": true, "codes_requested": 3, "where": []string{"web", "app"}, "domain": "example.org"},
			Findings: []string{"check_spam"}, Outcome: "causes_found"},
		{Reference: "r2", At: at.Add(time.Hour), Source: "site", Revision: "rev", Topic: "notifications", Facts: map[string]any{},
			Findings: []string{}, Outcome: "needs_answers"},
	}
	if collided, err := db.AddDecisions(ctx, decs); err != nil || len(collided) != 0 {
		t.Fatalf("AddDecisions = %v, %v; want none collided", collided, err)
	}
	// A reference stored again is left as it was, and the later decision
	// is told apart as a collision.
	again := decs[0]
	again.Outcome = "no_known_cause"
	if collided, err := db.AddDecisions(ctx, []Kept{again, decs[1]}); err != nil || len(collided) != 2 || collided[0].Outcome != "no_known_cause" {
		t.Fatalf("AddDecisions(references again) = %+v, %v; want both collided", collided, err)
	}
	got, err := db.Decision(ctx, "r1")
	if err != nil || got.Outcome != "causes_found" || !got.At.Equal(at) {
		t.Errorf("Decision(r1) = %+v, %v; want the first one stored", got, err)
	}
	// Facts come back typed as a request holds them, not as JSON decodes
	// them (float64, []any).
	if !reflect.DeepEqual(got.Facts, decs[0].Facts) {
		t.Errorf("Decision(r1).Facts = %#v; want %#v", got.Facts, decs[0].Facts)
	}
	// The topic comes back; a decision kept without one (the default
	// topic's, as every decision kept before there were topics) has none.
	if got.Topic != "" {
		t.Errorf("Decision(r1).Topic = %q; want \"\" (the default topic)", got.Topic)
	}
	if r2, err := db.Decision(ctx, "r2"); err != nil || r2.Topic != "notifications" {
		t.Errorf("Decision(r2) = %+v, %v; want topic notifications", r2, err)
	}
	if _, err := db.Decision(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Decision(nope) = %v; want ErrNotFound", err)
	}
	if n, err := db.PurgeDecisions(ctx, at.Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("PurgeDecisions = %d, %v; want 1", n, err)
	}
}

// TestDecisionsInSeveralStatements stores a batch larger than one INSERT
// takes, with a reference repeated inside it: every row arrives, and the
// repeat leaves the first as it was.
func TestDecisionsInSeveralStatements(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	at := time.Unix(1_800_000_000, 0).UTC()
	var decs []Kept
	for i := range 2*decisionsPerInsert + 7 {
		decs = append(decs, Kept{Reference: fmt.Sprintf("r%d", i), At: at, Source: "api", Revision: "rev",
			Facts: map[string]any{"vpn": i%2 == 0}, Findings: []string{}, Outcome: "needs_answers"})
	}
	repeat := decs[0]
	repeat.Outcome = "no_known_cause"
	decs = append(decs[:decisionsPerInsert], append([]Kept{repeat}, decs[decisionsPerInsert:]...)...)
	collided, err := db.AddDecisions(ctx, decs)
	if err != nil || len(collided) != 1 || collided[0].Outcome != "no_known_cause" {
		t.Fatalf("AddDecisions(%d) = %+v, %v; want the repeat collided", len(decs), collided, err)
	}
	for _, ref := range []string{"r0", fmt.Sprintf("r%d", decisionsPerInsert), fmt.Sprintf("r%d", 2*decisionsPerInsert+6)} {
		got, err := db.Decision(ctx, ref)
		if err != nil || got.Outcome != "needs_answers" {
			t.Errorf("Decision(%s) = %+v, %v; want the one first stored", ref, got, err)
		}
	}
	if n, err := db.PurgeDecisions(ctx, at.Add(time.Minute)); err != nil || n != int64(2*decisionsPerInsert+7) {
		t.Errorf("PurgeDecisions = %d, %v; want %d, one row per reference", n, err, 2*decisionsPerInsert+7)
	}
}

// TestWriterCountsCollisions has the writer store one batch of two full
// INSERTs and a partial one, two of whose references are kept already
// (one in a full INSERT, one in the partial): the writer counts the rows
// each statement stored, so it stores the others, counts the two as
// collisions and drops, and leaves the kept decisions as they were.
func TestWriterCountsCollisions(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	at := time.Unix(1_800_000_000, 0).UTC()
	n := 2*decisionsPerInsert + 7
	var decs []Kept
	for i := range n {
		decs = append(decs, decisionN(i, at))
	}
	taken := []Kept{decs[5], decs[n-2]}
	for i := range taken {
		taken[i].Outcome = "no_known_cause"
	}
	if collided, err := db.AddDecisions(ctx, taken); err != nil || len(collided) != 0 {
		t.Fatalf("AddDecisions(the two kept first) = %v, %v", collided, err)
	}
	w := NewDecisionWriter(db, WriterConfig{Batch: n, Every: time.Hour, Log: slog.New(slog.DiscardHandler)})
	for _, dec := range decs {
		w.Add(dec)
	}
	w.Flush()
	w.Close(ctx)
	if w.Collisions() != 2 || w.Dropped() != 2 || w.Stored() != int64(n-2) {
		t.Errorf("collisions %d, dropped %d, stored %d; want 2, 2, %d", w.Collisions(), w.Dropped(), w.Stored(), n-2)
	}
	for _, dec := range []Kept{decs[0], decs[5], decs[decisionsPerInsert], decs[n-2], decs[n-1]} {
		want := "causes_found"
		if dec.Reference == taken[0].Reference || dec.Reference == taken[1].Reference {
			want = "no_known_cause"
		}
		if got, err := db.Decision(ctx, dec.Reference); err != nil || got.Outcome != want {
			t.Errorf("Decision(%s) = %+v, %v; want outcome %s", dec.Reference, got, err, want)
		}
	}
}

func TestMigrations(t *testing.T) {
	db, _ := openDB(t)
	v, err := db.SchemaVersion(context.Background())
	if want := migrations[len(migrations)-1].version; err != nil || v != want {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, want)
	}
	// Migrating again, as a second replica starting does, changes nothing.
	if err := db.migrate(context.Background()); err != nil {
		t.Errorf("migrate again = %v; want no error", err)
	}
}

func TestOpenURLNamesWhatIsWrong(t *testing.T) {
	tests := []struct{ url, want string }{
		{"mysql://u:secret@localhost/acceso", "want a postgres:// URL"},
		{"postgres://u:secret@127.0.0.1:1/acceso?connect_timeout=1", "127.0.0.1:1"},
	}
	for _, tc := range tests {
		_, err := OpenURL(context.Background(), tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("OpenURL(%s) = %v; want an error saying %q, without the password", tc.url, err, tc.want)
		}
	}
}

// testListenRevisions stores a revision through one DB and hears of it
// through another, as two replicas do.
func testListenRevisions(t *testing.T, c *pgtest.Cluster) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := c.NewDatabase(t)
	a, err := OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	heard := make(chan struct{}, 16)
	done := make(chan error)
	go func() {
		done <- b.ListenRevisions(ctx, func() { heard <- struct{}{} }, func(err error) { t.Logf("listen: %v", err) })
	}()
	select { // the first signal says the listener is in place
	case <-heard:
	case <-time.After(5 * time.Second):
		t.Fatal("ListenRevisions did not start within 5s")
	}
	seq, err := a.AddRevision(ctx, Revision{ID: "r1", PublishedAt: time.Now(), Source: knowledge.Source{Modules: map[string]string{}}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-time.After(2 * time.Second):
		t.Fatal("a stored revision was not heard of within 2s")
	}
	if gotSeq, id, err := b.LatestRevisionID(ctx); err != nil || gotSeq != seq || id != "r1" {
		t.Errorf("LatestRevisionID = %d, %s, %v; want %d, r1", gotSeq, id, err, seq)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenRevisions after cancel = %v; want nil", err)
	}
}
