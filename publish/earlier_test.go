package publish

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/store"
)

// earlierRevision is a revision as a release before the rules became
// self-contained published it: the policy modules of main at ff308b6
// (testdata/earlier-format), with custom.order, custom.facts,
// custom.contact_can_try and data.acceso.causes.
func earlierRevision(t *testing.T) knowledge.Source {
	t.Helper()
	src := knowledge.Source{Modules: map[string]string{}, Messages: locales.Embedded()}
	for _, name := range []string{"causes", "decision", "facts"} {
		b, err := os.ReadFile(filepath.Join("testdata", "earlier-format", "login", name+".rego"))
		if err != nil {
			t.Fatal(err)
		}
		src.Modules["rules/login/"+name+".rego"] = string(b)
	}
	return src
}

// TestEarlierFormatRevision: a server whose latest published revision was
// written for the earlier rules format still starts, serving the built-in
// rules, and its log names the revision, says it is of the earlier format
// and what to change at which file:line; an admin who rolls back to it is
// refused with the same.
func TestEarlierFormatRevision(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	builtIn := rules.Embedded()
	if _, err := db.AddRevision(ctx, store.Revision{ID: builtIn.Revision(), Source: builtIn, PublishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	earlier := earlierRevision(t)
	seq, err := db.AddRevision(ctx, store.Revision{ID: earlier.Revision(), Source: earlier, PublishedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("revision %s (#%d)", earlier.Revision(), seq)
	order := lineOf(t, earlier.Modules["rules/login/causes.rego"], "#   order: 1")
	data := lineOf(t, earlier.Modules["rules/login/decision.rego"], "data.acceso.causes")

	var log lockedBuffer
	p, err := Load(ctx, Config{}, db, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatalf("Load with an earlier-format revision published last = %v; want the server to start", err)
	}
	if got := p.Engine().Current().Revision; got != builtIn.Revision() {
		t.Errorf("Load serves %s; want the built-in rules %s", got, builtIn.Revision())
	}
	for _, want := range []string{
		name, "was published for the earlier rules format",
		fmt.Sprintf("rules/login/causes.rego:%d: custom.order is no longer read", order),
		fmt.Sprintf("rules/login/decision.rego:%d: data.acceso.causes is no longer given", data),
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log says\n%s\nwant it to say %q", log.String(), want)
		}
	}

	_, err = p.Rollback(ctx, seq, "ana")
	ps, ok := knowledge.AsProblems(err)
	if !ok || len(ps) < 3 || ps[0].File != name || !strings.Contains(ps[0].Message, "earlier rules format") {
		t.Fatalf("Rollback(#%d) = %v; want problems led by %s: was published for the earlier rules format", seq, err, name)
	}
	want := knowledge.Problem{File: "rules/login/causes.rego", Line: order, Message: "custom.order is no longer read: remove it; a cause's place in the article is its place in the file, or custom.after: <cause id>"}
	found := false
	for _, p := range ps {
		found = found || p == want
	}
	if !found {
		t.Errorf("Rollback(#%d) = %v; want among its problems %v", seq, err, want)
	}
	if got := p.Engine().Current().Revision; got != builtIn.Revision() {
		t.Errorf("after the refused rollback the server serves %s; want %s", got, builtIn.Revision())
	}
}

// lineOf is the line number of the first line of text containing s.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", s)
	return 0
}
