package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"acceso/locales"
	"acceso/rules"
	"acceso/server/store"
)

// Drafts in these tests are made from whatever rules are embedded, located
// through the catalog, so that they keep working when the article's rules
// change: a rule is its # METADATA block, a head ending in "{", a body and a
// "}" at the start of a line.

// ruleHead returns the index of the line that opens the body of cause's
// rule in lines.
func ruleHead(tb testing.TB, lines []string, cause rules.Cause) int {
	tb.Helper()
	for i := cause.Line - 1; i < len(lines); i++ {
		if strings.HasSuffix(strings.TrimSpace(lines[i]), "{") && !strings.HasPrefix(lines[i], "#") {
			return i
		}
	}
	tb.Fatalf("no rule body after %s:%d", cause.File, cause.Line)
	return 0
}

// withBodyLine returns src with line added as the first statement of
// cause's rule body, and helpers appended to the module.
func withBodyLine(tb testing.TB, src rules.Source, cause rules.Cause, line, helpers string) rules.Source {
	tb.Helper()
	lines := strings.Split(src.Modules[cause.File], "\n")
	head := ruleHead(tb, lines, cause)
	lines = slices.Insert(lines, head+1, "\t"+line)
	out := src.Clone()
	out.Modules[cause.File] = strings.Join(lines, "\n") + helpers
	return out
}

// ruleBlock returns the text of cause's rule with its # METADATA block.
func ruleBlock(tb testing.TB, src rules.Source, cause rules.Cause) string {
	tb.Helper()
	lines := strings.Split(src.Modules[cause.File], "\n")
	start := cause.Line - 1
	for start > 0 && strings.HasPrefix(lines[start-1], "#") {
		start--
	}
	for end := ruleHead(tb, lines, cause); end < len(lines); end++ {
		if lines[end] == "}" {
			return strings.Join(lines[start:end+1], "\n")
		}
	}
	tb.Fatalf("no end of the rule at %s:%d", cause.File, cause.Line)
	return ""
}

// withText returns src with message id set to text in lang.
func withText(tb testing.TB, src rules.Source, lang, id, text string) rules.Source {
	tb.Helper()
	out := src.Clone()
	name := locales.FileName(lang)
	b, err := setMessage(out.Messages[name], id, "test message", text)
	if err != nil {
		tb.Fatalf("setMessage(%s, %s) = %v", name, id, err)
	}
	out.Messages[name] = b
	return out
}

// withAdvice returns src with cause's advice set to text in every language
// (tagged with the language).
func withAdvice(tb testing.TB, src rules.Source, cause, text string) rules.Source {
	tb.Helper()
	for _, lang := range locales.Languages {
		src = withText(tb, src, lang, locales.CauseAdvice(cause), text+" ("+lang+")")
	}
	return src
}

// spamCause is the first cause SPEC's example request finds.
func spamCause(tb testing.TB, p *rules.Policy) rules.Cause {
	tb.Helper()
	r, err := Diagnose(context.Background(), rules.NewEngine(p), []byte(specExample))
	if err != nil || len(r.Findings) == 0 {
		tb.Fatalf("Diagnose(specExample) = %+v, %v; want findings", r, err)
	}
	c, _ := p.Catalog.Cause(r.Findings[0].ID)
	return c
}

func TestSetMessage(t *testing.T) {
	const plain = `# A comment that must stay.

[Greeting]
description = "How we say hello"
other = "Hola"

# Another comment.
[Farewell]
description = "How we say goodbye"
other = "Adiós"
`
	tests := []struct {
		name     string
		file     string
		id, text string
		// want is the whole file expected, when the edit is in place.
		want string
	}{
		{
			name: "existing message, in place",
			file: plain, id: "Greeting", text: "Buenas",
			want: strings.Replace(plain, `other = "Hola"`, `other = "Buenas"`, 1),
		},
		{
			name: "new message, appended",
			file: plain, id: "Thanks", text: "Gracias",
			want: plain + "\n[Thanks]\ndescription = \"test message\"\nother = \"Gracias\"\n",
		},
		{
			name: "quotes, backslashes and line breaks",
			file: plain, id: "Farewell", text: "Di \"adiós\"\\\nhasta\tluego",
			want: strings.Replace(plain, `other = "Adiós"`, `other = "Di \"adiós\"\\\nhasta\tluego"`, 1),
		},
		{
			name: "multi-line string replaced whole",
			file: "[Greeting]\ndescription = \"d\"\nother = \"\"\"\nline one\nline two\"\"\"\n\n[Farewell]\nother = \"x\"\n",
			id:   "Greeting", text: "una",
			want: "[Greeting]\ndescription = \"d\"\nother = \"una\"\n\n[Farewell]\nother = \"x\"\n",
		},
		{
			name: "file without a final newline",
			file: "[Greeting]\nother = \"Hola\"", id: "Thanks", text: "Gracias",
			want: "[Greeting]\nother = \"Hola\"\n\n[Thanks]\ndescription = \"test message\"\nother = \"Gracias\"\n",
		},
		{
			name: "inline table: re-encoded whole",
			file: "Greeting = { description = \"d\", other = \"Hola\" }\n[Farewell]\nother = \"x\"\n",
			id:   "Greeting", text: "Buenas",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := setMessage([]byte(tc.file), tc.id, "test message", tc.text)
			if err != nil {
				t.Fatalf("setMessage(%s) = %v; want no error", tc.id, err)
			}
			if tc.want != "" && string(got) != tc.want {
				t.Errorf("setMessage(%s, %q) =\n%s\nwant\n%s", tc.id, tc.text, got, tc.want)
			}
			var before, after map[string]map[string]string
			if _, err := toml.Decode(tc.file, &before); err != nil {
				t.Fatal(err)
			}
			if _, err := toml.Decode(string(got), &after); err != nil {
				t.Fatalf("setMessage result does not parse: %v\n%s", err, got)
			}
			if after[tc.id]["other"] != tc.text {
				t.Errorf("after setMessage, %s.other = %q; want %q", tc.id, after[tc.id]["other"], tc.text)
			}
			if d, ok := before[tc.id]["description"]; ok && after[tc.id]["description"] != d {
				t.Errorf("after setMessage, %s.description = %q; want it kept as %q", tc.id, after[tc.id]["description"], d)
			}
			for id, fields := range before {
				if id != tc.id && !reflect.DeepEqual(after[id], fields) {
					t.Errorf("after setMessage(%s), %s = %v; want it untouched: %v", tc.id, id, after[id], fields)
				}
			}
		})
	}
	t.Run("broken file", func(t *testing.T) {
		if _, err := setMessage([]byte("[Greeting\n"), "Greeting", "", "x"); err == nil {
			t.Error("setMessage(broken TOML) = nil error; want one")
		}
	})
}

// applyDiff applies a unified diff of one file to a, as patch would, and
// fails the test when a hunk does not match.
func applyDiff(tb testing.TB, a, diff string) string {
	tb.Helper()
	src := splitLines(a)
	var out []string
	next := 0 // the next line of src not yet copied
	for _, line := range splitLines(diff) {
		switch {
		case strings.HasPrefix(line, "--- "), strings.HasPrefix(line, "+++ "):
		case strings.HasPrefix(line, "@@ "):
			var aStart, aLen, bStart, bLen int
			if _, err := fmt.Sscanf(line, "@@ -%d,%d +%d,%d @@", &aStart, &aLen, &bStart, &bLen); err != nil {
				tb.Fatalf("hunk header %q: %v", line, err)
			}
			if aLen > 0 {
				aStart--
			}
			out = append(out, src[next:aStart]...)
			next = aStart
		case strings.HasPrefix(line, "+"):
			out = append(out, line[1:])
		default: // " " or "-": must match the source
			if next >= len(src) || src[next] != line[1:] {
				tb.Fatalf("diff line %q does not match source line %d", line, next+1)
			}
			if line[0] == ' ' {
				out = append(out, src[next])
			}
			next++
		}
	}
	out = append(out, src[next:]...)
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}

func TestUnifiedDiff(t *testing.T) {
	var long []string
	for i := 1; i <= 30; i++ {
		long = append(long, fmt.Sprintf("line %d", i))
	}
	text := func(lines []string) string { return strings.Join(lines, "\n") + "\n" }
	replaced := func(i int, s string) []string {
		out := slices.Clone(long)
		out[i] = s
		return out
	}
	tests := []struct {
		name  string
		a, b  string
		hunks int
	}{
		{"equal", text(long), text(long), 0},
		{"one line changed", text(long), text(replaced(14, "changed")), 1},
		{"first line changed", text(long), text(replaced(0, "changed")), 1},
		{"last line changed", text(long), text(replaced(29, "changed")), 1},
		{"two changes close together", text(long), text(slices.Concat(long[:10], []string{"x"}, long[11:13], []string{"y"}, long[14:])), 1},
		{"two changes far apart, two hunks", text(long), text(slices.Concat(long[:3], []string{"x"}, long[4:25], []string{"y"}, long[26:])), 2},
		{"lines added at the end", text(long), text(append(slices.Clone(long), "new 1", "new 2")), 1},
		{"lines removed", text(long), text(slices.Concat(long[:5], long[9:])), 1},
		{"from empty", "", text(long[:3]), 1},
		{"to empty", text(long[:3]), "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := unifiedDiff("f.rego", tc.a, tc.b)
			if got := strings.Count(d, "\n@@ "); got != tc.hunks {
				t.Errorf("unifiedDiff has %d hunks; want %d:\n%s", got, tc.hunks, d)
			}
			if tc.a == tc.b {
				if d != "" {
					t.Errorf("unifiedDiff(equal) = %q; want empty", d)
				}
				return
			}
			if !strings.HasPrefix(d, "--- a/f.rego\n+++ b/f.rego\n") {
				t.Errorf("unifiedDiff does not start with the file names:\n%s", d)
			}
			if got := applyDiff(t, tc.a, d); got != tc.b {
				t.Errorf("applying unifiedDiff to a = %q; want b = %q\ndiff:\n%s", got, tc.b, d)
			}
		})
	}
	t.Run("exact", func(t *testing.T) {
		got := unifiedDiff("f", "a\nb\nc\nd\ne\n", "a\nb\nC\nd\ne\n")
		want := "--- a/f\n+++ b/f\n@@ -1,5 +1,5 @@\n a\n b\n-c\n+C\n d\n e\n"
		if got != want {
			t.Errorf("unifiedDiff =\n%s\nwant\n%s", got, want)
		}
	})
}

// revisionCount is how many revisions the store holds.
func revisionCount(tb testing.TB, db *store.DB) int {
	tb.Helper()
	revs, err := db.Revisions(context.Background(), 1000)
	if err != nil {
		tb.Fatalf("Revisions = %v", err)
	}
	return len(revs)
}

func TestPublishStoresRollsBackAndSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t, Config{Deadline: loadedDeadline})
	orig := ts.engine.Current()
	cause := spamCause(t, orig)

	rev, _, err := ts.publish(ctx, change{Source: withAdvice(t, orig.Source, cause.ID, "Published advice"), Base: orig.Revision, Admin: "ana", Note: "texts"})
	if err != nil {
		t.Fatalf("publish = %v; want no error", err)
	}
	if got := ts.engine.Current().Revision; got != rev.ID || got == orig.Revision {
		t.Fatalf("after publish, serving %s; want the new revision %s", got, rev.ID)
	}
	if got := ts.mustEvaluate(t, evaluate(specExample)); got.Findings[0].Advice != "Published advice (en)" || got.PolicyRevision != rev.ID {
		t.Errorf("after publish, the API answers %q at %s; want the published advice at %s", got.Findings[0].Advice, got.PolicyRevision, rev.ID)
	}
	revs, _ := ts.db.Revisions(ctx, 10)
	if len(revs) != 2 || revs[1].ID != orig.Revision || revs[1].Note != baselineNote || revs[0].ID != rev.ID || revs[0].Admin != "ana" {
		t.Fatalf("stored revisions = %+v; want the baseline %s, then %s by ana", revs, orig.Revision, rev.ID)
	}
	for _, want := range []string{"--- a/locales/active.en.toml", "+other = \"Published advice (en)\"", "+other = \"Published advice (es)\""} {
		if !strings.Contains(revs[0].Diff, want) {
			t.Errorf("stored diff lacks %q:\n%s", want, revs[0].Diff)
		}
	}

	restart := func(t *testing.T, want string) {
		t.Helper()
		engine, err := LoadEngine(ctx, Config{}, ts.db, ts.log)
		if err != nil {
			t.Fatalf("LoadEngine = %v", err)
		}
		if got := engine.Current().Revision; got != want {
			t.Errorf("after a restart, serving %s; want %s", got, want)
		}
	}
	t.Run("restart serves the published revision", func(t *testing.T) { restart(t, rev.ID) })

	baseline := revs[1]
	back, err := ts.rollback(ctx, baseline.Seq, "luis")
	if err != nil {
		t.Fatalf("rollback(%d) = %v; want no error", baseline.Seq, err)
	}
	if back.ID != orig.Revision || ts.engine.Current().Revision != orig.Revision {
		t.Errorf("rollback to #%d published %s, serving %s; want %s", baseline.Seq, back.ID, ts.engine.Current().Revision, orig.Revision)
	}
	if want := fmt.Sprintf("rollback to %s (#%d)", orig.Revision, baseline.Seq); back.Note != want {
		t.Errorf("rollback note = %q; want %q", back.Note, want)
	}
	if got := revisionCount(t, ts.db); got != 3 {
		t.Errorf("after a rollback, %d revisions stored; want 3 (a rollback is a new revision)", got)
	}
	t.Run("restart serves the rollback", func(t *testing.T) { restart(t, orig.Revision) })

	if _, err := ts.rollback(ctx, baseline.Seq, "luis"); err == nil || !strings.Contains(err.Error(), "nothing to publish") {
		t.Errorf("rollback to the revision being served = %v; want nothing to publish", err)
	}
	if _, err := ts.rollback(ctx, 999, "luis"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rollback(999) = %v; want ErrNotFound", err)
	}
}

func TestLoadEngineSkipsAStoredRevisionThatNoLongerBuilds(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t, Config{})
	if err := ts.storeBaseline(ctx, ts.policy); err != nil {
		t.Fatal(err)
	}
	broken := ts.policy.Source.Clone()
	broken.Modules["rules/login/broken.rego"] = "package login\n\nbroken if {\n"
	if _, err := ts.db.AddRevision(ctx, store.Revision{ID: broken.Revision(), Source: broken, PublishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	engine, err := LoadEngine(ctx, Config{}, ts.db, ts.log)
	if err != nil {
		t.Fatalf("LoadEngine = %v; want the embedded rules", err)
	}
	if got := engine.Current().Revision; got != ts.policy.Revision {
		t.Errorf("LoadEngine serves %s; want the embedded %s", got, ts.policy.Revision)
	}
}

// TestLoadEngineAdoptsANewRelease shows a deploy taking effect: when the
// built-in rules are not among the stored revisions (the binary is a new
// release), they are stored as a new revision and served, and the revision
// published before stays available for rollback.
func TestLoadEngineAdoptsANewRelease(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t, Config{})
	cause := spamCause(t, ts.policy)
	older := withAdvice(t, ts.policy.Source, cause.ID, "Advice of the previous release")
	if _, err := ts.db.AddRevision(ctx, store.Revision{ID: older.Revision(), Source: older, PublishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		engine, err := LoadEngine(ctx, Config{}, ts.db, ts.log)
		if err != nil {
			t.Fatalf("LoadEngine = %v", err)
		}
		if got := engine.Current().Revision; got != ts.policy.Revision {
			t.Errorf("start %d serves %s; want this release's built-in rules %s", i+1, got, ts.policy.Revision)
		}
	}
	revs, err := ts.db.Revisions(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].ID != ts.policy.Revision || revs[0].Note != releaseNote || revs[1].ID != older.Revision() {
		t.Fatalf("stored revisions = %+v; want the release %s stored once on top of %s", revs, ts.policy.Revision, older.Revision())
	}
	if !strings.Contains(revs[0].Diff, "-other = \"Advice of the previous release (en)\"") {
		t.Errorf("the release's diff does not show the advice it replaces:\n%s", revs[0].Diff)
	}
}

// answersOf returns what the API answers to body, as JSON, for comparing
// served decisions before and after.
func answersOf(tb testing.TB, ts *testServer, bodies []string) string {
	tb.Helper()
	var out []string
	for _, body := range bodies {
		r := ts.mustEvaluate(tb, evaluate(body))
		r.DecisionID = ""
		b, _ := json.Marshal(r)
		out = append(out, string(b))
	}
	return strings.Join(out, "\n")
}

func TestPublishRefusesBrokenDrafts(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t, Config{Deadline: time.Second})
	cur := ts.policy
	cause := spamCause(t, cur)
	last := cur.Catalog.Causes[len(cur.Catalog.Causes)-1]
	newID := cause.ID + "_copy"
	copied := strings.NewReplacer("id: "+cause.ID, "id: "+newID, fmt.Sprintf("order: %d", cause.Order), fmt.Sprintf("order: %d", last.Order+1)).
		Replace(ruleBlock(t, cur.Source, cause))
	withCopy := cur.Source.Clone()
	withCopy.Modules[cause.File] = appendBlock(withCopy.Modules[cause.File], copied)
	copyLines := strings.Split(withCopy.Modules[cause.File], "\n")
	copyID := slices.Index(copyLines, "#   id: "+newID)
	if copyID < 0 {
		t.Fatalf("the copied rule has no line %q", "#   id: "+newID)
	}
	copyHead := ruleHead(t, copyLines, rules.Cause{File: cause.File, Line: copyID + 1}) + 1

	// slow is a helper that takes minutes; the rule of cause depends on it
	// whenever the facts hold registered phones and a number of codes, as
	// the engine's own "all facts" sample does and no Rego test does.
	const slow = "\n_slow if not input.facts.codes_requested\n\n_slow if not input.facts.registered_phones\n\n" +
		"_slow if {\n\tinput.facts.registered_phones\n\tinput.facts.codes_requested\n\tcount([x | some x in numbers.range(1, 100000000)]) > 0\n}\n"
	// slowOnSample takes minutes only for a sample with 777 codes, which
	// neither the Rego tests nor the engine's samples send.
	const slowOnSample = "\n_slow if input.facts.codes_requested != 777\n\n_slow if not input.facts.codes_requested\n\n" +
		"_slow if {\n\tinput.facts.codes_requested == 777\n\tcount([x | some x in numbers.range(1, 100000000)]) > 0\n}\n"

	tests := []struct {
		name   string
		change change
		// want is a problem that must be reported: its location (file,
		// or file:line) and a piece of its message; wantLine asks that it
		// have a line number.
		wantAt, wantMsg string
		wantLine        bool
	}{
		{
			name:   "broken rule",
			change: change{Source: withBodyLine(t, cur.Source, cause, "likely := [", "")},
			wantAt: cause.File + ":", wantLine: true,
		},
		{
			name:   "rule missing its English texts",
			change: change{Source: withText(t, withText(t, withCopy, "es", locales.CauseTitle(newID), "Título"), "es", locales.CauseAdvice(newID), "Consejo")},
			wantAt: fmt.Sprintf("%s:%d", cause.File, copyHead), wantMsg: "has no en text", wantLine: true,
		},
		{
			name:   "rule whose tests fail",
			change: change{Source: withBodyLine(t, cur.Source, cause, "false", "")},
			wantAt: "_test.rego:", wantMsg: "failed", wantLine: true,
		},
		{
			name:   "rule too slow for the engine's samples",
			change: change{Source: withBodyLine(t, cur.Source, cause, "_slow", slow)},
			wantAt: "rules", wantMsg: "deadline",
		},
		{
			name:   "rule too slow for the admin's sample",
			change: change{Source: withBodyLine(t, cur.Source, cause, "_slow", slowOnSample), Sample: []byte(`{"facts": {"codes_requested": 777}}`)},
			wantAt: "sample", wantMsg: "could not answer",
		},
		{
			name:   "sample that is not a request",
			change: change{Source: withAdvice(t, cur.Source, cause.ID, "x"), Sample: []byte(`{"facts": {"vpn": "yes"}}`)},
			wantAt: "sample", wantMsg: "facts.vpn: must be a boolean",
		},
		{
			name:   "draft made from older rules",
			change: change{Source: withAdvice(t, cur.Source, cause.ID, "x"), Base: "0123456789abcdef"},
			wantAt: "rules", wantMsg: "changed while you edited",
		},
		{
			name:   "nothing changed",
			change: change{Source: cur.Source},
			wantAt: "rules", wantMsg: "nothing to publish",
		},
	}
	bodies := []string{specExample, `{"facts": {}}`, `{"symptom": "code_not_accepted", "facts": {"vpn": true, "codes_requested": 3, "used_latest_code": false}}`}
	before := answersOf(t, ts, bodies)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := ts.publish(ctx, tc.change)
			took := time.Since(start)
			problems, ok := rules.AsProblems(err)
			if !ok {
				t.Fatalf("publish(%s) = %v; want Problems", tc.name, err)
			}
			found := slices.ContainsFunc(problems, func(p rules.Problem) bool {
				return strings.Contains(p.String(), tc.wantAt) && strings.Contains(p.Message, tc.wantMsg) && (p.Line > 0 || !tc.wantLine)
			})
			if !found {
				t.Errorf("publish(%s) problems =\n%v\nwant one at %q saying %q", tc.name, problems, tc.wantAt, tc.wantMsg)
			}
			if ts.engine.Current() != cur {
				t.Errorf("after a refused publish, serving %s; want %s still", ts.engine.Current().Revision, cur.Revision)
			}
			if n := revisionCount(t, ts.db); n != 0 {
				t.Errorf("after a refused publish, %d revisions stored; want 0", n)
			}
			if after := answersOf(t, ts, bodies); after != before {
				t.Errorf("after a refused publish, the API answers\n%s\nwant\n%s", after, before)
			}
			t.Logf("refused in %v", took.Round(time.Millisecond))
		})
	}
}

// loadedDeadline is the evaluation deadline of tests whose point is not
// the deadline, generous enough for a test machine busy with other tests.
const loadedDeadline = 5 * time.Second

// servedAnswer is one answer a hammering client got.
type servedAnswer struct {
	lang     string
	revision string
	findings []Finding
}

func TestPublishUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 50 revisions; skipped with -short")
	}
	ctx := context.Background()
	// The deadline guards against expensive rules (TestPublishRefuses…);
	// here it is generous, so that a loaded test machine cannot turn slow
	// answers into failed ones.
	ts := newTestServer(t, Config{Deadline: loadedDeadline})
	p, err := rules.Build(ctx, ts.policy.Source, rules.Options{Deadline: loadedDeadline})
	if err != nil {
		t.Fatal(err)
	}
	ts.engine.Swap(p)
	a := signedInAdmin(t, ts)
	cause := spamCause(t, ts.policy)
	page := "/admin/causes/" + cause.ID
	bodies := map[string]string{"en": specExample, "es": strings.Replace(specExample, `"lang": "en"`, `"lang": "es"`, 1)}

	// expected holds, per revision and language, the findings that
	// revision gives: computed from the policy itself, not over HTTP.
	var mu sync.Mutex
	expected := make(map[string][]Finding)
	record := func(p *rules.Policy) {
		for lang, body := range bodies {
			req, err := p.Catalog.DecodeRequest([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Evaluate(ctx, p, req, lang)
			if err != nil {
				t.Fatalf("Evaluate(%s) = %v", p.Revision, err)
			}
			mu.Lock()
			expected[p.Revision+"/"+lang] = r.Findings
			mu.Unlock()
		}
	}
	record(ts.engine.Current())

	const clients = 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	answers := make([][]servedAnswer, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				lang := locales.Languages[(i+n)%len(locales.Languages)]
				resp, err := client.Post(ts.URL+"/api/v1/evaluate", "application/json", strings.NewReader(bodies[lang]))
				if err != nil {
					failures.Add(1)
					t.Errorf("client %d: %v", i, err)
					continue
				}
				var r Response
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || err != nil {
					failures.Add(1)
					t.Errorf("client %d: POST /api/v1/evaluate = %d, %v; want 200", i, resp.StatusCode, err)
					continue
				}
				answers[i] = append(answers[i], servedAnswer{lang: r.Lang, revision: r.PolicyRevision, findings: r.Findings})
			}
		}()
	}

	const revisions = 50
	start := time.Now()
	for n := 1; n <= revisions; n++ {
		var resp *http.Response
		var body string
		if n%10 == 0 {
			// Every tenth revision rolls back to the one published five
			// before: an earlier source, served again.
			revs, err := ts.db.Revisions(ctx, 6)
			if err != nil || len(revs) < 6 {
				t.Fatalf("Revisions = %d, %v", len(revs), err)
			}
			target := revs[5].Seq
			resp, body = a.submit(t, "/admin/revisions", fmt.Sprintf("/admin/revisions/%d/rollback", target), nil)
		} else {
			resp, body = a.submit(t, page, page, causeForm(ts.engine.Current(), cause.ID, fmt.Sprintf("Advice of revision %d", n), "publish"))
		}
		if resp.StatusCode != http.StatusSeeOther {
			close(stop)
			wg.Wait()
			t.Fatalf("publish %d = %d; want 303\n%s", n, resp.StatusCode, regexp.MustCompile(`(?s)<ul class="problems">.*?</ul>`).FindString(body))
		}
		record(ts.engine.Current())
	}
	took := time.Since(start)
	close(stop)
	wg.Wait()

	total, seen := 0, make(map[string]bool)
	for i, list := range answers {
		for _, ans := range list {
			total++
			seen[ans.revision] = true
			want, ok := expected[ans.revision+"/"+ans.lang]
			if !ok {
				t.Errorf("client %d got an answer from revision %s, which was never published", i, ans.revision)
				continue
			}
			if !reflect.DeepEqual(ans.findings, want) {
				t.Errorf("client %d: revision %s (%s) answered %+v; want %+v", i, ans.revision, ans.lang, ans.findings, want)
			}
		}
	}
	if n := failures.Load(); n != 0 {
		t.Errorf("%d of %d requests failed; want none", n, total)
	}
	if got := revisionCount(t, ts.db); got != revisions+1 {
		t.Errorf("%d revisions stored; want %d and the baseline", got, revisions)
	}
	// The hammering must have overlapped the publishes, or it shows
	// nothing.
	if len(seen) < revisions/5 {
		t.Errorf("answers came from %d revisions; want them spread over the publishes (at least %d)", len(seen), revisions/5)
	}
	t.Logf("%d revisions published in %v (%v each) while %d clients got %d answers from %d revisions, 0 failed",
		revisions, took.Round(time.Millisecond), (took / revisions).Round(time.Millisecond), clients, total, len(seen))
}

// writeRules writes the modules of src under dir, as --rules reads them.
func writeRules(tb testing.TB, dir string, src rules.Source) {
	tb.Helper()
	for name, text := range src.Modules {
		path := filepath.Join(dir, strings.TrimPrefix(name, "rules/"))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds, or fails the test after a while.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRulesDirIsWatched(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	embedded := rules.Embedded()
	writeRules(t, dir, embedded)

	cfg := Config{RulesDir: dir, Addr: "127.0.0.1:0", APIRate: 1e6, APIBurst: 1e6, Deadline: loadedDeadline}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	engine, err := LoadEngine(ctx, cfg, db, log)
	if err != nil {
		t.Fatalf("LoadEngine(--rules %s) = %v", dir, err)
	}
	s := New(cfg, engine, db, log)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	ts := &testServer{Server: s, URL: hs.URL, db: db, logs: logs}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Second) }()
	waitFor(t, "the watcher to start", func() bool {
		return slices.ContainsFunc(logs.Lines(), func(l string) bool { return strings.Contains(l, "watching rules") })
	})

	p := engine.Current()
	cause := spamCause(t, p)
	file := filepath.Join(dir, strings.TrimPrefix(cause.File, dir+"/"))
	original, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	metric := func(name string) float64 { return metricValue(ts.scrape(t), name, map[string]string{}) }
	if got := metric("acceso_rules_reload_ok"); got != 1 {
		t.Errorf("acceso_rules_reload_ok at start = %v; want 1", got)
	}

	// A good change is served.
	good := strings.Replace(string(original), "# title: "+cause.Title, "# title: "+cause.Title+" (edited)", 1)
	if good == string(original) {
		t.Fatalf("cannot find the title of %s in %s", cause.ID, file)
	}
	if err := os.WriteFile(file, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	want, _ := rules.FromDir(dir)
	waitFor(t, "the good change to be served", func() bool { return engine.Current().Revision == want.Revision() })
	if c, _ := engine.Current().Catalog.Cause(cause.ID); c.Title != cause.Title+" (edited)" {
		t.Errorf("after the change, %s's title = %q; want the edit", cause.ID, c.Title)
	}
	goodRevision := engine.Current().Revision
	before := answersOf(t, ts, []string{specExample})

	// A broken change is refused: the last good rules keep serving.
	broken := withBodyLine(t, want, rules.Cause{File: cause.File, Line: cause.Line}, "likely := [", "")
	if err := os.WriteFile(file, []byte(broken.Modules[cause.File]), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broken change to be refused", func() bool { return metric("acceso_rules_reload_failures_total") == 1 })
	if got := metric("acceso_rules_reload_ok"); got != 0 {
		t.Errorf("acceso_rules_reload_ok after a refused change = %v; want 0", got)
	}
	if got := engine.Current().Revision; got != goodRevision {
		t.Errorf("after a broken change, serving %s; want %s still", got, goodRevision)
	}
	if after := answersOf(t, ts, []string{specExample}); after != before {
		t.Errorf("after a broken change, the API answers\n%s\nwant\n%s", after, before)
	}
	if resp, body := ts.do(t, call{path: "/readyz"}); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz after a refused change = %d %s; want 200", resp.StatusCode, body)
	}
	located := regexp.MustCompile(regexp.QuoteMeta(file) + `:\d+: `)
	if !slices.ContainsFunc(logs.Lines(), func(l string) bool { return strings.Contains(l, "rules change refused") && located.MatchString(l) }) {
		t.Errorf("the logs say nothing of %s:line; logs:\n%s", file, strings.Join(logs.Lines(), "\n"))
	}

	// Fixing the file serves it again.
	if err := os.WriteFile(file, original, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fixed file to be served", func() bool { return engine.Current().Revision == p.Revision })
	if got := metric("acceso_rules_reload_ok"); got != 1 {
		t.Errorf("acceso_rules_reload_ok after the fix = %v; want 1", got)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v; want a clean shutdown", err)
	}
}

func TestRunStopsTheWatcherWhenItCannotListen(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	writeRules(t, dir, rules.Embedded())
	ts := newTestServer(t, Config{RulesDir: dir, Addr: taken.Addr().String()})
	stopped := func() int {
		return len(slices.DeleteFunc(ts.logs.Lines(), func(l string) bool { return !strings.Contains(l, `"msg":"stopped watching rules"`) }))
	}
	for run := 1; run <= 2; run++ {
		done := make(chan error, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					done <- fmt.Errorf("panic: %v", r)
				}
			}()
			done <- ts.Run(context.Background(), time.Second)
		}()
		select {
		case err := <-done:
			if err == nil || strings.HasPrefix(err.Error(), "panic: ") {
				t.Errorf("Run #%d on %s, an address in use = %v; want the listen error", run, taken.Addr(), err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("Run #%d on %s, an address in use, has not returned after 30s", run, taken.Addr())
		}
		if got := stopped(); got != run {
			t.Errorf("after Run #%d returned, the watcher stopped %d times; want %d\n%s", run, got, run, strings.Join(ts.logs.Lines(), "\n"))
		}
	}
	if got := metricValue(ts.scrape(t), "acceso_rules_reload_ok", map[string]string{}); got != 1 {
		t.Errorf("acceso_rules_reload_ok after two failed Runs = %v; want 1", got)
	}
}

func TestDiffOfALargeRewriteIsBounded(t *testing.T) {
	const n = 30_000 // about 1 MiB a side
	lines := func(prefix string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s line %06d of a large module", prefix, i)
		}
		return out
	}
	text := func(lines []string) string { return strings.Join(lines, "\n") + "\n" }
	head, tail := []string{"package login", ""}, []string{"", "# end"}
	a := text(slices.Concat(head, lines("old"), tail))
	b := text(slices.Concat(head, lines("new"), tail))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	d := unifiedDiff("big.rego", a, b)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("unifiedDiff of %d against %d bytes: %v, %d MiB allocated", len(a), len(b), took, alloc>>20)

	// The full comparison would need n*n cells: gigabytes.
	const limit = 64 << 20
	if alloc > limit {
		t.Errorf("unifiedDiff of two %d-line texts allocated %d MiB; want at most %d MiB", n, alloc>>20, limit>>20)
	}
	if got := strings.Count(d, "\n@@ "); got != 1 {
		t.Errorf("unifiedDiff of a rewrite has %d hunks; want 1", got)
	}
	wantHeader := fmt.Sprintf("@@ -1,%d +1,%d @@\n", n+4, n+4)
	if !strings.Contains(d, wantHeader) {
		t.Errorf("unifiedDiff of a rewrite lacks the hunk header %q", wantHeader)
	}
	removed, added := strings.Count(d, "\n-old line"), strings.Count(d, "\n+new line")
	if removed != n || added != n {
		t.Errorf("unifiedDiff of a rewrite removes %d and adds %d lines; want %d and %d", removed, added, n, n)
	}
	if got := applyDiff(t, a, d); got != b {
		t.Errorf("applying unifiedDiff of a rewrite to a does not give b")
	}
}

func TestSetMessagesSetsEveryMessageInOneEdit(t *testing.T) {
	const file = "# comment kept\n[Greeting]\ndescription = \"A greeting\"\nother = \"Hola\"\n\n[Farewell]\ndescription = \"A farewell\"\nother = \"Adiós\"\n"
	tests := []struct {
		name string
		file string
		msgs []message
	}{
		{"both existing", file, []message{{"Greeting", "d", "Buenas"}, {"Farewell", "d", "Chao"}}},
		{"both new", file, []message{{"NewTitle", "Title", "Título"}, {"NewAdvice", "Advice", "Consejo"}}},
		{"one of each", file, []message{{"Greeting", "d", "Buenas"}, {"NewAdvice", "Advice", "Consejo"}}},
		{"ids TOML must quote", file, []message{{"a b", "Spaced", "x"}, {"c.d", "Dotted", "y"}}},
		{"empty file", "", []message{{"Greeting", "A greeting", "Hola"}, {"Farewell", "A farewell", "Adiós"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := setMessages([]byte(tc.file), tc.msgs...)
			if err != nil {
				t.Fatalf("setMessages(%v) = %v; want no error", tc.msgs, err)
			}
			want := []byte(tc.file)
			for _, m := range tc.msgs {
				if want, err = setMessage(want, m.ID, m.Description, m.Text); err != nil {
					t.Fatalf("setMessage(%s) = %v", m.ID, err)
				}
			}
			if string(got) != string(want) {
				t.Errorf("setMessages(%v) =\n%s\nwant, as setMessage one at a time,\n%s", tc.msgs, got, want)
			}
			if strings.HasPrefix(tc.file, "# comment kept\n") && !strings.HasPrefix(string(got), "# comment kept\n") {
				t.Errorf("setMessages(%v) did not edit in place:\n%s", tc.msgs, got)
			}
		})
	}
}

func TestEditMessageWritesTheKeyAsTOML(t *testing.T) {
	for _, id := range []string{"Plain", "with space", "dotted.id", `quo"te`} {
		t.Run(id, func(t *testing.T) {
			file := "[Greeting]\nother = \"Hola\"\n"
			got, ok := editMessage([]byte(file), id, "desc", "text")
			if !ok {
				t.Fatalf("editMessage(new %q) = not ok; want the table appended", id)
			}
			msgs, _, err := decodeMessages(got)
			if err != nil {
				t.Fatalf("editMessage(new %q) wrote TOML that does not parse: %v\n%s", id, err, got)
			}
			if msgs[id]["other"] != "text" || msgs["Greeting"]["other"] != "Hola" {
				t.Errorf("after editMessage(new %q), messages = %v; want %q set and Greeting kept", id, msgs, id)
			}
			if edited, ok := editMessage(got, id, "desc", "again"); !ok {
				t.Errorf("editMessage(existing %q) = not ok; want its table found", id)
			} else if msgs, _, err := decodeMessages(edited); err != nil || msgs[id]["other"] != "again" {
				t.Errorf("after editMessage(existing %q), messages = %v, %v; want its text replaced", id, msgs, err)
			}
		})
	}
}

func TestDeclaresID(t *testing.T) {
	tests := []struct {
		rule, id string
		want     bool
	}{
		{"# METADATA\n# custom:\n#   id: lost_code\nlikely contains \"lost_code\" if { true }", "lost_code", true},
		{"#   id: \"lost_code\"\n", "lost_code", true},
		{"#\tid: lost_code   \n", "lost_code", true},
		{"#   id: lost_code_2\n", "lost_code", false},
		{"#   id: lost\n", "lost_code", false},
		{"#   id: other\n#   id: lost_code\n", "lost_code", true},
		{"id: lost_code\n", "lost_code", false},
		{"#   title: lost_code\n", "lost_code", false},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			if got := declaresID(tc.rule, tc.id); got != tc.want {
				t.Errorf("declaresID(%q, %s) = %v; want %v", tc.rule, tc.id, got, tc.want)
			}
		})
	}
}
