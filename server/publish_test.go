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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/store"
)

// Drafts in these tests are made from whatever rules are embedded, located
// through the catalog, so that they keep working when the article's rules
// change: a cause is its # METADATA block on its default rule, then its
// verdict rule, whose branches open with a line ending in "{" and which
// ends with a "}" at the start of a line.

// ruleHead returns the index of the line that opens the first branch of
// the body of cause's verdict rule in lines.
func ruleHead(tb testing.TB, lines []string, cause knowledge.Cause) int {
	tb.Helper()
	for i := cause.Line - 1; i < len(lines); i++ {
		if strings.HasSuffix(strings.TrimSpace(lines[i]), "{") && !strings.HasPrefix(lines[i], "#") {
			return i
		}
	}
	tb.Fatalf("no rule body after %s:%d", cause.File, cause.Line)
	return 0
}

// guarded returns rule text with cond as the first statement of every
// branch of its body, so that no branch holds unless cond does.
func guarded(text, cond string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		out = append(out, line)
		if strings.HasSuffix(line, " if {") {
			out = append(out, "\t"+cond)
		}
	}
	return strings.Join(out, "\n")
}

// copyCause returns cause's rules with their # METADATA, renamed to id
// (placed where the text goes: at the end of the module, last in the
// article) and resting on opted_out: a fact only an admin checks,
// which the article's own causes already ask about, so that the copy, open
// for any request that does not find it, adds no question to the answers
// the Rego tests expect, and stays reachable (the handoff lists what the
// admin should check). It returns the index of the line that declares the
// copy, too.
func copyCause(tb testing.TB, src knowledge.Source, cause knowledge.Cause, id string) (string, int) {
	tb.Helper()
	text := strings.NewReplacer("."+cause.ID+" :=", "."+id+" :=",
		"facts: ["+strings.Join(cause.Facts, ", ")+"]", "facts: [opted_out]").
		Replace(ruleBlock(tb, src, cause))
	decl := slices.IndexFunc(strings.Split(text, "\n"), func(l string) bool {
		return strings.HasPrefix(l, "default cause."+cause.Symptom+"."+id+" ")
	})
	if decl < 0 {
		tb.Fatalf("the copy of %s declares no %s:\n%s", cause.ID, id, text)
	}
	return text, decl
}

// withBodyLine returns src with line added as the first statement of
// cause's rule body, and helpers appended to the module.
func withBodyLine(tb testing.TB, src knowledge.Source, cause knowledge.Cause, line, helpers string) knowledge.Source {
	tb.Helper()
	lines := strings.Split(src.Modules[cause.File], "\n")
	head := ruleHead(tb, lines, cause)
	lines = slices.Insert(lines, head+1, "\t"+line)
	out := src.Clone()
	out.Modules[cause.File] = strings.Join(lines, "\n") + helpers
	return out
}

// ruleBlock returns the text of cause's rule with its # METADATA block.
func ruleBlock(tb testing.TB, src knowledge.Source, cause knowledge.Cause) string {
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
func withText(tb testing.TB, src knowledge.Source, lang, id, text string) knowledge.Source {
	tb.Helper()
	out := src.Clone()
	name := locales.FileName(lang)
	b, err := locales.SetMessages(out.Messages[name], locales.Message{ID: id, Description: "test message", Text: text})
	if err != nil {
		tb.Fatalf("SetMessages(%s, %s) = %v", name, id, err)
	}
	out.Messages[name] = b
	return out
}

// withAdvice returns src with cause's advice set to text in every language
// (tagged with the language).
func withAdvice(tb testing.TB, src knowledge.Source, cause, text string) knowledge.Source {
	tb.Helper()
	for _, lang := range locales.Languages {
		src = withText(tb, src, lang, locales.CauseAdvice(cause), text+" ("+lang+")")
	}
	return src
}

// spamCause is the first cause SPEC's example request finds.
func spamCause(tb testing.TB, p *rules.Policy) knowledge.Cause {
	tb.Helper()
	r, err := diagnose(rules.NewEngine(p), []byte(specExample))
	if err != nil || len(r.Findings) == 0 {
		tb.Fatalf("diagnose(specExample) = %+v, %v; want findings", r, err)
	}
	c, _ := p.Catalog.Cause(r.Findings[0].ID)
	return c
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
	t.Parallel()
	ctx := context.Background()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	orig := ts.engine.Current()
	cause := spamCause(t, orig)

	rev, _, err := ts.publisher.Publish(ctx, publish.Change{Source: withAdvice(t, orig.Source, cause.ID, "Published advice"), Base: orig.Revision, Admin: "ana", Note: "texts"})
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
	if len(revs) != 2 || revs[1].ID != orig.Revision || revs[1].Note != "rules served before the first publish" || revs[0].ID != rev.ID || revs[0].Admin != "ana" {
		t.Fatalf("stored revisions = %+v; want the baseline %s, then %s by ana", revs, orig.Revision, rev.ID)
	}
	for _, want := range []string{"--- a/locales/active.en.toml", "+other = \"Published advice (en)\"", "+other = \"Published advice (es)\""} {
		if !strings.Contains(revs[0].Diff, want) {
			t.Errorf("stored diff lacks %q:\n%s", want, revs[0].Diff)
		}
	}

	restart := func(t *testing.T, want string) {
		t.Helper()
		pub, err := publish.Load(ctx, publish.Config{}, ts.db, ts.log)
		if err != nil {
			t.Fatalf("publish.Load = %v", err)
		}
		engine := pub.Engine()
		if got := engine.Current().Revision; got != want {
			t.Errorf("after a restart, serving %s; want %s", got, want)
		}
	}
	t.Run("restart serves the published revision", func(t *testing.T) { restart(t, rev.ID) })

	baseline := revs[1]
	back, err := ts.publisher.Rollback(ctx, baseline.Seq, "luis")
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

	if _, err := ts.publisher.Rollback(ctx, baseline.Seq, "luis"); err == nil || !strings.Contains(err.Error(), "nothing to publish") {
		t.Errorf("rollback to the revision being served = %v; want nothing to publish", err)
	}
	if _, err := ts.publisher.Rollback(ctx, 999, "luis"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rollback(999) = %v; want ErrNotFound", err)
	}
}

func TestLoadSkipsAStoredRevisionThatNoLongerBuilds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := newTestServer(t, Config{})
	if _, err := ts.db.AddRevision(ctx, store.Revision{ID: ts.policy.Revision, Source: ts.policy.Source, PublishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	broken := ts.policy.Source.Clone()
	broken.Modules["rules/login/broken.rego"] = "package login\n\nbroken if {\n"
	if _, err := ts.db.AddRevision(ctx, store.Revision{ID: broken.Revision(), Source: broken, PublishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pub, err := publish.Load(ctx, publish.Config{}, ts.db, ts.log)
	if err != nil {
		t.Fatalf("publish.Load = %v; want the embedded rules", err)
	}
	if got := pub.Engine().Current().Revision; got != ts.policy.Revision {
		t.Errorf("publish.Load serves %s; want the embedded %s", got, ts.policy.Revision)
	}
}

// TestLoadAdoptsANewRelease shows a deploy taking effect: when the
// built-in rules are not among the stored revisions (the binary is a new
// release), they are stored as a new revision and served, and the revision
// published before stays available for rollback.
func TestLoadAdoptsANewRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := newTestServer(t, Config{})
	cause := spamCause(t, ts.policy)
	older := withAdvice(t, ts.policy.Source, cause.ID, "Advice of the previous release")
	if _, err := ts.db.AddRevision(ctx, store.Revision{ID: older.Revision(), Source: older, PublishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		pub, err := publish.Load(ctx, publish.Config{}, ts.db, ts.log)
		if err != nil {
			t.Fatalf("publish.Load = %v", err)
		}
		engine := pub.Engine()
		if got := engine.Current().Revision; got != ts.policy.Revision {
			t.Errorf("start %d serves %s; want this release's built-in rules %s", i+1, got, ts.policy.Revision)
		}
	}
	revs, err := ts.db.Revisions(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].ID != ts.policy.Revision || revs[0].Note != "rules built into a new release of Acceso" || revs[1].ID != older.Revision() {
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
		r.DecisionID, r.Reference = "", ""
		b, _ := json.Marshal(r)
		out = append(out, string(b))
	}
	return strings.Join(out, "\n")
}

func TestPublishRefusesBrokenDrafts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: time.Second})
	cur := ts.policy
	cause := spamCause(t, cur)
	newID := cause.ID + "_copy"
	copied, decl := copyCause(t, cur.Source, cause, newID)
	withCopy := cur.Source.Clone()
	module := strings.TrimRight(withCopy.Modules[cause.File], "\n") + "\n\n"
	withCopy.Modules[cause.File] = module + copied + "\n"
	for path, text := range withCopy.Docs {
		withCopy.Docs[path] = text + "\n{#" + newID + "} A copy.\n"
	}
	copyHead := strings.Count(module, "\n") + decl + 1

	// unreachable rests on a fact nobody is asked, and is found only for a
	// count no Rego test sends: its tests pass, but neither the contact nor
	// the handoff ever reaches it.
	unreachable := withText(t, withText(t, withText(t, withText(t, withCopy,
		"es", locales.CauseTitle(newID), "Título"), "es", locales.CauseAdvice(newID), "Consejo"),
		"en", locales.CauseTitle(newID), "Title"), "en", locales.CauseAdvice(newID), "Advice")
	unreachable.Modules[cause.File] = strings.Replace(guarded(unreachable.Modules[cause.File][len(module):], "input.facts.codes_requested == 777"), "facts: [opted_out]", "facts: [codes_requested]", 1)
	unreachable.Modules[cause.File] = module + unreachable.Modules[cause.File]
	unreachableLine := copyHead

	// slow is a helper that takes minutes; the rule of cause depends on it
	// whenever the facts hold one channel tried and a number of codes, as
	// the engine's own "all facts" sample does and no Rego test does (a
	// rule may not read a personal fact, so it cannot wait on the card).
	const slow = "\n_slow if not input.facts.codes_requested\n\n_slow if not input.facts.channels_tried\n\n_slow if count(input.facts.channels_tried) != 1\n\n" +
		"_slow if {\n\tcount(input.facts.channels_tried) == 1\n\tinput.facts.codes_requested\n\tcount([x | some x in numbers.range(1, 100000000)]) > 0\n}\n"
	// slowOnSample takes minutes only for a sample with 777 codes, which
	// neither the Rego tests nor the engine's samples send.
	const slowOnSample = "\n_slow if input.facts.codes_requested != 777\n\n_slow if not input.facts.codes_requested\n\n" +
		"_slow if {\n\tinput.facts.codes_requested == 777\n\tcount([x | some x in numbers.range(1, 100000000)]) > 0\n}\n"

	tests := []struct {
		name   string
		change publish.Change
		// want is a problem that must be reported: its location (file,
		// or file:line) and a piece of its message; wantLine asks that it
		// have a line number.
		wantAt, wantMsg string
		wantLine        bool
	}{
		{
			name:   "broken rule",
			change: publish.Change{Source: withBodyLine(t, cur.Source, cause, "likely := [", "")},
			wantAt: cause.File + ":", wantLine: true,
		},
		{
			name:   "rule missing its English texts",
			change: publish.Change{Source: withText(t, withText(t, withCopy, "es", locales.CauseTitle(newID), "Título"), "es", locales.CauseAdvice(newID), "Consejo")},
			wantAt: fmt.Sprintf("%s:%d", cause.File, copyHead), wantMsg: "has no en text", wantLine: true,
		},
		{
			name:   "rule whose tests fail",
			change: publish.Change{Source: withBodyLine(t, cur.Source, cause, "false", "")},
			wantAt: "_test.rego:", wantMsg: "failed", wantLine: true,
		},
		{
			name:   "rule too slow for the engine's samples",
			change: publish.Change{Source: withBodyLine(t, cur.Source, cause, "_slow", slow)},
			wantAt: "rules", wantMsg: "deadline",
		},
		{
			name:   "rule too slow for the admin's sample",
			change: publish.Change{Source: withBodyLine(t, cur.Source, cause, "_slow", slowOnSample), Sample: []byte(`{"facts": {"codes_requested": 777}}`)},
			wantAt: "sample", wantMsg: "could not answer",
		},
		{
			name:   "sample that is not a request",
			change: publish.Change{Source: withAdvice(t, cur.Source, cause.ID, "x"), Sample: []byte(`{"facts": {"vpn": "yes"}}`)},
			wantAt: "sample", wantMsg: "facts.vpn: must be a boolean",
		},
		{
			name:   "draft made from older rules",
			change: publish.Change{Source: withAdvice(t, cur.Source, cause.ID, "x"), Base: "0123456789abcdef"},
			wantAt: "rules", wantMsg: "changed while you edited",
		},
		{
			name:   "nothing changed",
			change: publish.Change{Source: cur.Source},
			wantAt: "rules", wantMsg: "nothing to publish",
		},
		{
			name:   "a cause no contact and no handoff can reach",
			change: publish.Change{Source: unreachable},
			wantAt: fmt.Sprintf("%s:%d", cause.File, unreachableLine), wantMsg: newID + " is unreachable", wantLine: true,
		},
	}
	bodies := []string{specExample, `{"facts": {}}`, `{"symptom": "code_not_accepted", "facts": {"vpn": true, "codes_requested": 3, "used_latest_code": false}}`}
	before := answersOf(t, ts, bodies)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := ts.publisher.Publish(ctx, tc.change)
			took := time.Since(start)
			problems, ok := knowledge.AsProblems(err)
			if !ok {
				t.Fatalf("publish(%s) = %v; want Problems", tc.name, err)
			}
			found := slices.ContainsFunc(problems, func(p knowledge.Problem) bool {
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
	findings []answer.Finding
}

func TestPublishUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 50 revisions; skipped with -short")
	}
	ctx := context.Background()
	// The deadline guards against expensive rules (TestPublishRefuses…);
	// here it is generous, so that a loaded test machine cannot turn slow
	// answers into failed ones.
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
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
	expected := make(map[string][]answer.Finding)
	record := func(p *rules.Policy) {
		for lang, body := range bodies {
			req, err := answer.Decode(p.Catalog, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			r, err := answer.Evaluate(ctx, p, req, lang)
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
				var r answer.Response
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
func writeRules(tb testing.TB, dir string, src knowledge.Source) {
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

	cfg := Config{Addr: "127.0.0.1:0", APIRate: 1e6, APIBurst: 1e6}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pub, err := publish.Load(ctx, publish.Config{RulesDir: dir, Deadline: loadedDeadline}, db, log)
	if err != nil {
		t.Fatalf("publish.Load(--rules %s) = %v", dir, err)
	}
	engine := pub.Engine()
	s := mustNew(t, cfg, pub, db, log)
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
	broken := withBodyLine(t, want, knowledge.Cause{File: cause.File, Line: cause.Line}, "likely := [", "")
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
	ts := newTestServer(t, Config{Addr: taken.Addr().String()}, publish.Config{RulesDir: dir})
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
