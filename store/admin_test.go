package store

import (
	"acceso/knowledge"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"
)

// openDB opens a fresh database in a temporary folder, or a fresh
// PostgreSQL database while TestPostgres runs the tests there, and says
// where (the folder, or the URL) for reopen.
func openDB(t *testing.T) (*DB, string) {
	t.Helper()
	where := newDatabase(t)
	db, err := reopen(context.Background(), where)
	if err != nil {
		t.Fatalf("opening %s = %v; want no error", where, err)
	}
	t.Cleanup(func() { db.Close() })
	return db, where
}

// newDatabase says where a database nobody opened yet is: a temporary
// folder, or a new PostgreSQL database while TestPostgres runs.
func newDatabase(t *testing.T) string {
	t.Helper()
	if pgCluster != nil {
		return pgCluster.NewDatabase(t)
	}
	return t.TempDir()
}

// TestOpenConcurrently opens one new database from several connection
// pools at once, as replicas starting together or a server starting
// beside an admin command do: each opens it, and the migrations run once.
func TestOpenConcurrently(t *testing.T) {
	for range 10 {
		where := newDatabase(t)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				db, err := reopen(context.Background(), where)
				if err != nil {
					t.Errorf("opening %s beside others = %v; want it open", where, err)
					return
				}
				defer db.Close()
				if v, err := db.SchemaVersion(context.Background()); err != nil || v != migrations[len(migrations)-1].version {
					t.Errorf("SchemaVersion = %d, %v; want the last migration", v, err)
				}
			})
		}
		wg.Wait()
	}
}

// reopen opens the database that openDB said is at where.
func reopen(ctx context.Context, where string) (*DB, error) {
	if strings.HasPrefix(where, "postgres://") {
		return OpenURL(ctx, where)
	}
	return Open(ctx, where)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func TestAdminPasswordHash(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	if _, err := db.PasswordHash(ctx, "ana"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PasswordHash(ana) before PutAdmin = %v; want ErrNotFound", err)
	}
	steps := []struct{ name, hash string }{
		{"ana", "hash-1"},
		{"ana", "hash-2"}, // a reset replaces the hash
		{"luis", "hash-3"},
	}
	for _, step := range steps {
		if err := db.PutAdmin(ctx, step.name, step.hash); err != nil {
			t.Fatalf("PutAdmin(%s) = %v; want no error", step.name, err)
		}
		got, err := db.PasswordHash(ctx, step.name)
		if err != nil || got != step.hash {
			t.Errorf("PasswordHash(%s) = %q, %v; want %q", step.name, got, err, step.hash)
		}
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	if err := db.PutAdmin(ctx, "ana", "hash"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	valid, expired, ended := tokenHash("valid"), tokenHash("expired"), tokenHash("ended")
	for _, s := range []struct {
		hash    []byte
		expires time.Time
	}{{valid, now.Add(time.Hour)}, {expired, now.Add(-time.Second)}, {ended, now.Add(time.Hour)}} {
		if err := db.CreateSession(ctx, s.hash, "ana", s.expires); err != nil {
			t.Fatalf("CreateSession = %v; want no error", err)
		}
	}
	if err := db.DeleteSession(ctx, ended); err != nil {
		t.Fatalf("DeleteSession = %v; want no error", err)
	}
	tests := []struct {
		name string
		hash []byte
		at   time.Time
		want string
	}{
		{"valid", valid, now, "ana"},
		{"valid, after it expires", valid, now.Add(2 * time.Hour), ""},
		{"expired", expired, now, ""},
		{"ended", ended, now, ""},
		{"unknown", tokenHash("unknown"), now, ""},
		{"the token itself is not the key", []byte("valid"), now, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.SessionAdmin(ctx, tc.hash, tc.at)
			if tc.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("SessionAdmin(%s) = %q, %v; want ErrNotFound", tc.name, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("SessionAdmin(%s) = %q, %v; want %q", tc.name, got, err, tc.want)
			}
		})
	}
}

func TestPasswordResetEndsSessions(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	if err := db.PutAdmin(ctx, "ana", "old"); err != nil {
		t.Fatal(err)
	}
	h := tokenHash("t")
	if err := db.CreateSession(ctx, h, "ana", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutAdmin(ctx, "ana", "new"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.SessionAdmin(ctx, h, time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("SessionAdmin after a password reset = %q, %v; want ErrNotFound", got, err)
	}
}

func TestSessionOfUnknownAdminIsRefused(t *testing.T) {
	db, _ := openDB(t)
	err := db.CreateSession(context.Background(), tokenHash("t"), "nobody", time.Now().Add(time.Hour))
	if err == nil {
		t.Error("CreateSession(nobody) = nil; want an error (no such admin)")
	}
}

func sampleSource(marker string) knowledge.Source {
	return knowledge.Source{
		Modules:  map[string]string{"rules/login/a.rego": "package login\n# " + marker + "\n"},
		Messages: map[string][]byte{"active.es.toml": []byte("[X]\nother = \"" + marker + "\"\n"), "active.en.toml": []byte("[X]\nother = \"x\"\n")},
	}
}

func sameSource(a, b knowledge.Source) bool {
	return maps.Equal(a.Modules, b.Modules) && maps.EqualFunc(a.Messages, b.Messages, bytes.Equal)
}

func TestRevisions(t *testing.T) {
	ctx := context.Background()
	db, dir := openDB(t)
	if _, err := db.LatestRevision(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LatestRevision on an empty store = %v; want ErrNotFound", err)
	}
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	want := []Revision{
		{ID: "r1", Admin: "ana", PublishedAt: at, Note: "first", Diff: "", Source: sampleSource("one")},
		{ID: "r2", Admin: "luis", PublishedAt: at.Add(time.Minute), Note: "second", Diff: "-a\n+b\n", Source: sampleSource("two")},
		{ID: "r1", Admin: "ana", PublishedAt: at.Add(2 * time.Minute), Note: "rollback to r1", Diff: "-b\n+a\n", Source: sampleSource("one")},
	}
	for i := range want {
		seq, err := db.AddRevision(ctx, want[i])
		if err != nil {
			t.Fatalf("AddRevision(%s) = %v; want no error", want[i].ID, err)
		}
		want[i].Seq = seq
	}
	check := func(t *testing.T, db *DB) {
		t.Helper()
		list, err := db.Revisions(ctx, 10)
		if err != nil || len(list) != len(want) {
			t.Fatalf("Revisions(10) = %d revisions, %v; want %d", len(list), err, len(want))
		}
		for i, got := range list {
			w := want[len(want)-1-i] // newest first
			if got.Seq != w.Seq || got.ID != w.ID || got.Admin != w.Admin || !got.PublishedAt.Equal(w.PublishedAt) || got.Note != w.Note || got.Diff != w.Diff {
				t.Errorf("Revisions()[%d] = %+v; want %+v", i, got, w)
			}
		}
		for _, w := range want {
			got, err := db.Revision(ctx, w.Seq)
			if err != nil || got.ID != w.ID || !sameSource(got.Source, w.Source) {
				t.Errorf("Revision(%d) = %s %v, %v; want %s with its source", w.Seq, got.ID, got.Source, err, w.ID)
			}
		}
		latest, err := db.LatestRevision(ctx)
		if last := want[len(want)-1]; err != nil || latest.Seq != last.Seq || !sameSource(latest.Source, last.Source) {
			t.Errorf("LatestRevision() = %d, %v; want %d", latest.Seq, err, last.Seq)
		}
		if got, err := db.RevisionByID(ctx, "r1"); err != nil || got.Seq != want[2].Seq || !sameSource(got.Source, want[2].Source) {
			t.Errorf("RevisionByID(r1) = %d, %v; want %d, the latest with that id", got.Seq, err, want[2].Seq)
		}
		if _, err := db.RevisionByID(ctx, "r9"); !errors.Is(err, ErrNotFound) {
			t.Errorf("RevisionByID(r9) = %v; want ErrNotFound", err)
		}
		if _, err := db.Revision(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("Revision(999) = %v; want ErrNotFound", err)
		}
		if list, _ := db.Revisions(ctx, 1); len(list) != 1 || list[0].Seq != want[len(want)-1].Seq {
			t.Errorf("Revisions(1) = %v; want only the newest", list)
		}
	}
	t.Run("open", func(t *testing.T) { check(t, db) })
	t.Run("after reopening", func(t *testing.T) {
		db.Close()
		again, err := reopen(ctx, dir)
		if err != nil {
			t.Fatalf("Open(%s) again = %v", dir, err)
		}
		defer again.Close()
		check(t, again)
	})
}
