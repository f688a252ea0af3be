package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// openTestDB opens a fresh database in a temporary folder.
func openTestDB(t *testing.T) *DB {
	t.Helper()
	if pgCluster != nil {
		return openPG(t, pgCluster)
	}
	db, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("Open = %v; want no error", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAddFeedbackRefusesBadFields(t *testing.T) {
	good := Feedback{Page: PageDiagnose, Lang: "es", Reaction: "yes", Causes: []string{"check_spam"}, Revision: "0123abcd"}
	tests := []struct {
		name      string
		change    func(f *Feedback)
		wantField string
	}{
		{"valid", func(f *Feedback) {}, ""},
		{"article without causes", func(f *Feedback) { f.Page, f.Causes = PageArticle, nil }, ""},
		{"unknown page", func(f *Feedback) { f.Page = "admin" }, "page"},
		{"empty page", func(f *Feedback) { f.Page = "" }, "page"},
		{"bad lang", func(f *Feedback) { f.Lang = "es-ES; drop" }, "lang"},
		{"unknown reaction", func(f *Feedback) { f.Reaction = "maybe" }, "reaction"},
		{"empty revision", func(f *Feedback) { f.Revision = "" }, "revision"},
		{"revision with spaces", func(f *Feedback) { f.Revision = "a b" }, "revision"},
		{"long revision", func(f *Feedback) { f.Revision = strings.Repeat("a", 65) }, "revision"},
		{"cause with capitals", func(f *Feedback) { f.Causes = []string{"CheckSpam"} }, "causes"},
		{"cause that is an email", func(f *Feedback) { f.Causes = []string{"ana@example.com"} }, "causes"},
		{"too many causes", func(f *Feedback) { f.Causes = make([]string, MaxFeedbackCauses+1) }, "causes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTestDB(t)
			f := good
			f.Causes = append([]string(nil), good.Causes...)
			tc.change(&f)
			err := db.AddFeedback(context.Background(), f)
			var fe *FeedbackError
			switch {
			case tc.wantField == "" && err != nil:
				t.Fatalf("AddFeedback(%+v) = %v; want no error", f, err)
			case tc.wantField != "" && !errors.As(err, &fe):
				t.Fatalf("AddFeedback(%+v) = %v; want a *FeedbackError on %s", f, err, tc.wantField)
			case tc.wantField != "" && fe.Field != tc.wantField:
				t.Fatalf("AddFeedback(%+v) field = %q; want %q", f, fe.Field, tc.wantField)
			}
			counts, err := db.FeedbackCounts(context.Background())
			if err != nil {
				t.Fatalf("FeedbackCounts = %v; want no error", err)
			}
			stored := 0
			for _, c := range counts.ByPage {
				stored += c.Total()
			}
			if want := map[bool]int{true: 1, false: 0}[tc.wantField == ""]; stored != want {
				t.Errorf("after AddFeedback(%+v), %d feedbacks stored; want %d", f, stored, want)
			}
		})
	}
}

func TestFeedbackCounts(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	counts, err := db.FeedbackCounts(ctx)
	if err != nil {
		t.Fatalf("FeedbackCounts on an empty database = %v; want no error", err)
	}
	if !reflect.DeepEqual(counts, FeedbackCounts{}) {
		t.Errorf("FeedbackCounts on an empty database = %+v; want nothing", counts)
	}

	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	given := []Feedback{
		{Page: PageArticle, Lang: "es", Reaction: "yes", Revision: "r1", At: at},
		{Page: PageArticle, Lang: "en", Reaction: "no", Revision: "r2"},
		{Page: PageDiagnose, Lang: "es", Reaction: "partly", Causes: []string{"try_other_channel", "check_spam"}, Revision: "r1"},
		{Page: PageDiagnose, Lang: "en", Reaction: "yes", Causes: []string{"check_spam", "check_spam"}, Revision: "r2"},
		{Page: PageDiagnose, Lang: "es", Reaction: "no", Revision: "r2"},
	}
	for _, f := range given {
		if err := db.AddFeedback(ctx, f); err != nil {
			t.Fatalf("AddFeedback(%+v) = %v; want no error", f, err)
		}
	}
	got, err := db.FeedbackCounts(ctx)
	if err != nil {
		t.Fatalf("FeedbackCounts = %v; want no error", err)
	}
	want := FeedbackCounts{
		ByPage: []FeedbackCount{
			{Key: "article", Yes: 1, No: 1},
			{Key: "diagnose", Yes: 1, Partly: 1, No: 1},
		},
		ByCause: []FeedbackCount{
			{Key: "check_spam", Yes: 1, Partly: 1},
			{Key: "try_other_channel", Partly: 1},
		},
		ByRevision: []FeedbackCount{
			{Key: "r1", Yes: 1, Partly: 1},
			{Key: "r2", Yes: 1, No: 2},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FeedbackCounts = %+v; want %+v", got, want)
	}
}

func TestFeedbackSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open = %v; want no error", err)
	}
	f := Feedback{Page: PageArticle, Lang: "en", Reaction: "partly", Revision: "r1"}
	if err := db.AddFeedback(ctx, f); err != nil {
		t.Fatalf("AddFeedback(%+v) = %v; want no error", f, err)
	}
	db.Close()
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open again = %v; want no error", err)
	}
	defer db.Close()
	got, err := db.FeedbackCounts(ctx)
	if err != nil {
		t.Fatalf("FeedbackCounts = %v; want no error", err)
	}
	if want := []FeedbackCount{{Key: "article", Partly: 1}}; !reflect.DeepEqual(got.ByPage, want) {
		t.Errorf("FeedbackCounts().ByPage after reopening = %+v; want %+v", got.ByPage, want)
	}
}
