package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDraftFiles(t *testing.T) {
	ctx := context.Background()
	db, dir := openDB(t)
	for _, name := range []string{"ana", "luis"} {
		if err := db.PutAdmin(ctx, name, "hash"); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Unix(1_800_000_000, 0).UTC()
	facts := DraftFile{Path: "rules/login/facts.rego", Base: "package login\n", Text: "package login\n# one\n", Updated: at}
	texts := DraftFile{Path: "locales/active.en.toml", Base: "[A]\nother = \"a\"\n", Text: "[A]\nother = \"b\"\n", Updated: at}
	for _, f := range []DraftFile{facts, texts} {
		if err := db.PutDraftFile(ctx, "ana", f); err != nil {
			t.Fatalf("PutDraftFile(ana, %s) = %v", f.Path, err)
		}
	}
	// Saved again, a file gets its new text and keeps the base it entered
	// the draft with.
	again := facts
	again.Base, again.Text, again.Updated = "changed meanwhile\n", "package login\n# two\n", at.Add(time.Minute)
	if err := db.PutDraftFile(ctx, "ana", again); err != nil {
		t.Fatalf("PutDraftFile(ana, %s) again = %v", facts.Path, err)
	}
	facts.Text, facts.Updated = again.Text, again.Updated

	check := func(t *testing.T, db *DB) {
		t.Helper()
		files, err := db.DraftFiles(ctx, "ana")
		if err != nil || len(files) != 2 || files[0] != texts || files[1] != facts {
			t.Errorf("DraftFiles(ana) = %+v, %v; want %+v and %+v, by path", files, err, texts, facts)
		}
		if got, err := db.DraftFile(ctx, "ana", facts.Path); err != nil || got != facts {
			t.Errorf("DraftFile(ana, %s) = %+v, %v; want %+v", facts.Path, got, err, facts)
		}
		if n, err := db.DraftSize(ctx, "ana"); err != nil || n != 2 {
			t.Errorf("DraftSize(ana) = %d, %v; want 2", n, err)
		}
		if files, err := db.DraftFiles(ctx, "luis"); err != nil || len(files) != 0 {
			t.Errorf("DraftFiles(luis) = %+v, %v; want none: a draft is its admin's", files, err)
		}
		if _, err := db.DraftFile(ctx, "luis", facts.Path); !errors.Is(err, ErrNotFound) {
			t.Errorf("DraftFile(luis, %s) = %v; want ErrNotFound", facts.Path, err)
		}
	}
	t.Run("open", func(t *testing.T) { check(t, db) })
	db.Close()
	db, err := reopen(ctx, dir)
	if err != nil {
		t.Fatalf("reopen(%s) = %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	t.Run("after reopening", func(t *testing.T) { check(t, db) })

	// Kept over a change published since: the text stays, the base is the
	// text served now.
	if err := db.RebaseDraftFile(ctx, "ana", texts.Path, "[A]\nother = \"c\"\n"); err != nil {
		t.Fatalf("RebaseDraftFile(ana, %s) = %v", texts.Path, err)
	}
	if got, err := db.DraftFile(ctx, "ana", texts.Path); err != nil || got.Text != texts.Text || got.Base != "[A]\nother = \"c\"\n" {
		t.Errorf("after RebaseDraftFile, DraftFile(ana, %s) = %+v, %v; want its text with the new base", texts.Path, got, err)
	}
	texts.Base = "[A]\nother = \"c\"\n"
	if err := db.RebaseDraftFile(ctx, "luis", texts.Path, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RebaseDraftFile of a file not in the draft = %v; want ErrNotFound", err)
	}

	if err := db.DeleteDraftFile(ctx, "ana", facts.Path); err != nil {
		t.Fatalf("DeleteDraftFile(ana, %s) = %v", facts.Path, err)
	}
	if err := db.DeleteDraftFile(ctx, "ana", "not/drafted.rego"); err != nil {
		t.Errorf("DeleteDraftFile of a file not in the draft = %v; want no error", err)
	}
	if files, _ := db.DraftFiles(ctx, "ana"); len(files) != 1 || files[0].Path != texts.Path {
		t.Errorf("after DeleteDraftFile, DraftFiles(ana) = %+v; want only %s", files, texts.Path)
	}
	if err := db.PutDraftFile(ctx, "luis", facts); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteDraft(ctx, "ana"); err != nil {
		t.Fatalf("DeleteDraft(ana) = %v", err)
	}
	if n, err := db.DraftSize(ctx, "ana"); err != nil || n != 0 {
		t.Errorf("after DeleteDraft, DraftSize(ana) = %d, %v; want 0", n, err)
	}
	if n, _ := db.DraftSize(ctx, "luis"); n != 1 {
		t.Errorf("DeleteDraft(ana) left luis with %d files; want his 1 kept", n)
	}
}
