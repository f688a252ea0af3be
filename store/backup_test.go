package store

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// feedbackTotal counts the feedback stored in db.
func feedbackTotal(t *testing.T, db *DB) int {
	t.Helper()
	counts, err := db.FeedbackCounts(context.Background())
	if err != nil {
		t.Fatalf("FeedbackCounts = %v; want no error", err)
	}
	total := 0
	for _, c := range counts.ByPage {
		total += c.Total()
	}
	return total
}

// copyFile copies src to dst, created with mode 0600.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	db, dir := openDB(t)
	const before = 50
	f := Feedback{Page: PageDiagnose, Lang: "es", Reaction: "yes", Causes: []string{"check_spam"}, Revision: "r1"}
	for range before {
		if err := db.AddFeedback(ctx, f); err != nil {
			t.Fatalf("AddFeedback = %v; want no error", err)
		}
	}
	if err := db.PutAdmin(ctx, "ana", "hash-of-ana"); err != nil {
		t.Fatalf("PutAdmin = %v; want no error", err)
	}

	// Another connection, as the running server would be, writes while
	// the backup is taken.
	writer, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open(%s) a second time = %v; want no error", dir, err)
	}
	defer writer.Close()
	stop := make(chan struct{})
	written := make(chan int)
	go func() {
		n := 0
		defer func() { written <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := writer.AddFeedback(ctx, f); err != nil {
				t.Errorf("AddFeedback during the backup = %v; want no error", err)
				return
			}
			n++
		}
	}()

	path := filepath.Join(t.TempDir(), "backup.db")
	err = db.Backup(ctx, path)
	close(stop)
	during := <-written
	t.Logf("%d feedbacks written during the backup", during)
	if err != nil {
		t.Fatalf("Backup(%s) while another connection writes = %v; want no error", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("Backup(%s) wrote a file with mode %v; want 0600", path, mode)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("Backup(%s) left %d files in its folder; want the backup alone", path, len(entries))
	}

	// The copy opens as a data folder of its own, holding every row
	// written before the backup and only whole transactions after.
	restored := t.TempDir()
	copyFile(t, path, filepath.Join(restored, FileName))
	back, err := Open(ctx, restored)
	if err != nil {
		t.Fatalf("Open(the backup) = %v; want no error", err)
	}
	defer back.Close()
	if got := feedbackTotal(t, back); got < before || got > before+during {
		t.Errorf("the backup holds %d feedbacks; want between %d and %d", got, before, before+during)
	}
	counts, err := back.FeedbackCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts.ByPage {
		if c.Total() != c.Yes {
			t.Errorf("the backup's counts %+v; want every feedback a yes, as written", c)
		}
	}
	if hash, err := back.PasswordHash(ctx, "ana"); err != nil || hash != "hash-of-ana" {
		t.Errorf("PasswordHash(ana) in the backup = %q, %v; want hash-of-ana", hash, err)
	}
	if got := feedbackTotal(t, db); got != before+during {
		t.Errorf("the database holds %d feedbacks after the backup; want %d", got, before+during)
	}
}

func TestBackupRefusesAnExistingFile(t *testing.T) {
	db, _ := openDB(t)
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := db.Backup(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("Backup(%s), an existing file = %v; want an error saying it exists", path, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Errorf("Backup(%s) changed the existing file to %q; want it untouched", path, b)
	}
}
