package server

import (
	"context"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"acceso/locales"
	"acceso/publish"
)

// draftSample is the sample request the draft tests check with.
const draftSample = `{"symptom":"code_needed_often","facts":{"browser_updated":false}}`

// saveToDraft saves text as file's in the admin's draft, from the module
// editor, and fails the test unless it leads to the draft.
func (a *adminClient) saveToDraft(tb testing.TB, file, text string) {
	tb.Helper()
	page := "/admin/module?file=" + url.QueryEscape(file)
	resp, body := a.submit(tb, page, "/admin/module", url.Values{"file": {file}, "text": {text}, "action": {"save"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/draft?saved=") {
		tb.Fatalf("saving %s to the draft = %d to %q; want 303 to the draft\n%s", file, resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// checkDraft posts the draft page's form with action "preview" or
// "publish".
func (a *adminClient) checkDraft(tb testing.TB, action string) (*http.Response, string) {
	tb.Helper()
	return a.submit(tb, "/admin/draft", "/admin/draft", url.Values{"action": {action}, "sample": {draftSample}})
}

// draftSize is how many files the test admin's draft has.
func draftSize(tb testing.TB, ts *testServer) int {
	tb.Helper()
	n, err := ts.db.DraftSize(context.Background(), testAdmin)
	if err != nil {
		tb.Fatalf("DraftSize = %v", err)
	}
	return n
}

// adminText is an admin text in English, for the test to look for, as
// the page escapes it.
func adminText(tb testing.TB, ts *testServer, id string) string {
	tb.Helper()
	text, ok := ts.adminTexts.Text("en", id)
	if !ok {
		tb.Fatalf("no admin text %s", id)
	}
	return html.EscapeString(text)
}

// TestAdminAddsAFactAndACause makes, through the admin area's draft, the
// change TestExtendWithoutGo makes in a --rules folder: the
// browser_updated fact, the outdated_browser cause, their tests and texts,
// six files that each fail the checks alone, checked and published as one
// revision.
func TestAdminAddsAFactAndACause(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	files := extendedFiles(t, false)
	paths := slices.Sorted(maps.Keys(files))
	lastTest := browserTestIn
	if !slices.Contains(paths, lastTest) {
		t.Fatalf("the extension changes %v; want %s among them", paths, lastTest)
	}
	for _, path := range paths {
		if path != lastTest {
			a.saveToDraft(t, path, files[path])
		}
	}
	a.saveToDraft(t, lastTest, strings.Replace(files[lastTest], `== "likely"`, `== "ruled_out"`, 1))

	t.Run("a draft with a failing test fails, naming it with what it expected and what it got", func(t *testing.T) {
		resp, body := a.checkDraft(t, "preview")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "<code>"+lastTest+":") || !strings.Contains(body, ": failed") ||
			!strings.Contains(body, html.EscapeString(`== "ruled_out"`)) || !strings.Contains(body, html.EscapeString(`"likely"`)) {
			t.Errorf("checking the draft with a failing test in %s = %d; want 422 naming the test, the expected and the actual verdict\n%s", lastTest, resp.StatusCode, body)
		}
	})
	a.saveToDraft(t, lastTest, files[lastTest])

	t.Run("the draft lists its files and what they change", func(t *testing.T) {
		resp, body := a.get(t, "/admin/draft", "Accept-Language", "en")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/draft = %d; want 200", resp.StatusCode)
		}
		wants := []string{
			"My draft (" + strconv.Itoa(len(paths)) + ")",
			html.EscapeString(`+	"browser_updated": {`),
			html.EscapeString("+default cause.code_needed_often.outdated_browser := \"open\""),
		}
		for _, path := range paths {
			wants = append(wants, `href="/admin/module?file=`+url.QueryEscape(path)+`"`, "+++ b/"+path)
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("GET /admin/draft lacks %q", want)
			}
		}
	})
	t.Run("the editor opens a drafted file with the draft's text", func(t *testing.T) {
		const facts = "rules/login/facts.rego"
		resp, body := a.get(t, "/admin/module?file="+url.QueryEscape(facts), "Accept-Language", "en")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, adminText(t, ts, "AdminModuleFromDraft")) ||
			!strings.Contains(body, html.EscapeString(files[facts])) {
			t.Errorf("GET the editor of %s = %d; want the draft's text, saying it is the draft's", facts, resp.StatusCode)
		}
	})

	resp, body := a.checkDraft(t, "preview")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `class="problems"`) || !strings.Contains(body, `data-cause="outdated_browser"`) {
		t.Fatalf("checking the whole draft = %d; want 200, no problem, and the sample finding outdated_browser\n%s", resp.StatusCode, body)
	}
	if ts.engine.Current() != ts.policy {
		t.Fatalf("checking the draft changed the rules being served")
	}
	resp, body = a.checkDraft(t, "publish")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/revisions?published=") {
		t.Fatalf("publishing the draft = %d to %q; want 303 to the revisions\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	// One revision, besides the baseline stored at the first publish.
	if n := revisionCount(t, ts.db); n != 2 {
		t.Errorf("after publishing the draft, %d revisions are stored; want the baseline and one", n)
	}
	rev, err := ts.db.LatestRevision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		if !strings.Contains(rev.Diff, "+++ b/"+path) {
			t.Errorf("the published revision's diff lacks %s", path)
		}
	}
	if n := draftSize(t, ts); n != 0 {
		t.Errorf("after publishing, the draft has %d files; want it emptied", n)
	}
	checkExtended(t, ts)
}

func TestAdminDraftConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	p := ts.policy
	// othersPublish publishes, as another admin, a note at the end of file.
	othersPublish := func(t *testing.T, file string) {
		t.Helper()
		cur := ts.engine.Current()
		src, err := publish.DraftFile(cur.Source, file, cur.Source.Modules[file]+"\n# Luis's note.\n")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.publisher.Publish(ctx, publish.Change{Source: src, Base: cur.Revision, Admin: "luis", Note: "luis's note"}); err != nil {
			t.Fatalf("another admin's publish = %v", err)
		}
	}
	wantConflict := func(t *testing.T, file string) {
		t.Helper()
		served := ts.engine.Current()
		resp, body := a.checkDraft(t, "publish")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "<code>"+file+"</code>: changed by someone else since you drafted it") {
			t.Errorf("publishing a draft of %s after someone else changed it = %d; want 422 naming the file\n%s", file, resp.StatusCode, body)
		}
		if ts.engine.Current() != served {
			t.Errorf("the draft was published over someone else's change")
		}
		resp, body = a.get(t, "/admin/draft", "Accept-Language", "en")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, adminText(t, ts, "AdminDraftConflict")) {
			t.Errorf("GET /admin/draft = %d; want the conflict of %s shown", resp.StatusCode, file)
		}
	}

	t.Run("changed after it was drafted", func(t *testing.T) {
		const file = "rules/login/facts.rego"
		a.saveToDraft(t, file, p.Source.Modules[file]+"\n# Ana's note.\n")
		othersPublish(t, file)
		wantConflict(t, file)
		resp, _ := a.submit(t, "/admin/draft", "/admin/draft/remove", url.Values{"file": {file}})
		if resp.StatusCode != http.StatusSeeOther || draftSize(t, ts) != 0 {
			t.Errorf("removing %s from the draft = %d, leaving %d files; want 303 and none", file, resp.StatusCode, draftSize(t, ts))
		}
	})
	t.Run("changed while the editor was open", func(t *testing.T) {
		const file = "rules/login/decision.rego"
		page := "/admin/module?file=" + url.QueryEscape(file)
		form := a.formOf(t, page)
		othersPublish(t, file)
		form.Set("file", file)
		form.Set("text", p.Source.Modules[file]+"\n# Ana's note.\n")
		form.Set("action", "save")
		if resp, body := a.do(t, http.MethodPost, "/admin/module", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving %s to the draft = %d; want 303\n%s", file, resp.StatusCode, body)
		}
		wantConflict(t, file)

		// The admin keeps their text over Luis's change: the draft applies
		// again, its diff shows what it undoes, and it publishes.
		resp, _ := a.submit(t, "/admin/draft", "/admin/draft/keep", url.Values{"file": {file}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("keeping %s over the change = %d; want 303", file, resp.StatusCode)
		}
		resp, body := a.get(t, "/admin/draft", "Accept-Language", "en")
		if resp.StatusCode != http.StatusOK || strings.Contains(body, adminText(t, ts, "AdminDraftConflict")) ||
			!strings.Contains(body, html.EscapeString("-# Luis's note.")) || !strings.Contains(body, html.EscapeString("+# Ana's note.")) {
			t.Errorf("GET /admin/draft after keeping %s = %d; want no conflict and a diff that removes Luis's note and adds Ana's\n%s", file, resp.StatusCode, body)
		}
		publish := url.Values{"action": {"publish"}, "sample": {`{"symptom":"code_needed_often","facts":{"incognito":true}}`}}
		if resp, body := a.submit(t, "/admin/draft", "/admin/draft", publish); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("publishing the kept draft = %d; want 303\n%s", resp.StatusCode, body)
		}
		served := ts.engine.Current().Source.Modules[file]
		if !strings.Contains(served, "# Ana's note.") || strings.Contains(served, "# Luis's note.") {
			t.Errorf("served %s after publishing the kept draft ends %q; want Ana's note instead of Luis's", file, served[max(0, len(served)-60):])
		}
	})
	t.Run("keeping a file not in the draft changes nothing", func(t *testing.T) {
		before := draftSize(t, ts)
		resp, _ := a.submit(t, "/admin/draft", "/admin/draft/keep", url.Values{"file": {"rules/login/causes.rego"}})
		if resp.StatusCode != http.StatusSeeOther || draftSize(t, ts) != before {
			t.Errorf("keeping a file not in the draft = %d, %d files; want 303 and the draft as it was (%d files)", resp.StatusCode, draftSize(t, ts), before)
		}
		resp, body := a.submit(t, "/admin/draft", "/admin/draft/keep", url.Values{"file": {"rules/login/nope.rego"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "choose a file of your draft") {
			t.Errorf("keeping a file the rules do not have = %d; want 422 naming the problem\n%s", resp.StatusCode, body)
		}
	})
	t.Run("from a revision that is not kept", func(t *testing.T) {
		const file = "rules/login/causes.rego"
		form := a.formOf(t, "/admin/module?file="+url.QueryEscape(file))
		form.Set("base", "0000000000000000")
		form.Set("file", file)
		form.Set("text", "package login\n")
		form.Set("action", "save")
		resp, body := a.do(t, http.MethodPost, "/admin/module", form)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "<code>"+file+"</code>: the rules changed while you edited") {
			t.Errorf("saving from an unknown revision = %d; want 422 naming the file\n%s", resp.StatusCode, body)
		}
	})
}

func TestAdminDraftRemoveAndDiscard(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	a := signedInAdmin(t, ts)
	p := ts.policy
	for _, file := range []string{"rules/login/facts.rego", "rules/login/decision.rego"} {
		a.saveToDraft(t, file, p.Source.Modules[file]+"\n# A note.\n")
	}
	resp, body := a.submit(t, "/admin/module?file="+url.QueryEscape("rules/login/facts.rego"), "/admin/module",
		url.Values{"file": {"rules/login/nope.rego"}, "text": {"package login\n"}, "action": {"save"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "<code>rules/login/nope.rego</code>: no such module or message file") {
		t.Errorf("saving a file that does not exist = %d; want 422 naming it\n%s", resp.StatusCode, body)
	}
	resp, body = a.get(t, "/admin/", "Accept-Language", "en")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/admin/draft">My draft (2)</a>`) {
		t.Errorf("GET /admin/ = %d; want the navigation to the draft with its 2 files\n%s", resp.StatusCode, body)
	}

	resp, _ = a.submit(t, "/admin/draft", "/admin/draft/remove", url.Values{"file": {"rules/login/decision.rego"}})
	if resp.StatusCode != http.StatusSeeOther || draftSize(t, ts) != 1 {
		t.Fatalf("removing a file = %d, leaving %d files; want 303 and 1", resp.StatusCode, draftSize(t, ts))
	}
	resp, body = a.get(t, resp.Header.Get("Location"), "Accept-Language", "en")
	if !strings.Contains(body, adminText(t, ts, "AdminDraftRemoved")+" <code>rules/login/decision.rego</code>") ||
		!strings.Contains(body, `data-file="rules/login/facts.rego"`) || strings.Contains(body, `data-file="rules/login/decision.rego"`) {
		t.Errorf("the draft after removing a file = %d; want it said removed, and the other file listed\n%s", resp.StatusCode, body)
	}
	resp, body = a.submit(t, "/admin/draft", "/admin/draft/remove", url.Values{"file": {""}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "<code>file</code>: choose the file") || draftSize(t, ts) != 1 {
		t.Errorf("removing no file = %d; want 422 naming the field, and the draft kept\n%s", resp.StatusCode, body)
	}
	resp, _ = a.submit(t, "/admin/draft", "/admin/draft/discard", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/draft?discarded=1" {
		t.Fatalf("discarding the draft = %d to %q; want 303 to the draft", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := draftSize(t, ts); n != 0 {
		t.Errorf("after discarding, the draft has %d files; want none", n)
	}
	resp, body = a.get(t, resp.Header.Get("Location"), "Accept-Language", "en")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, adminText(t, ts, "AdminDraftDiscarded")) || !strings.Contains(body, adminText(t, ts, "AdminDraftEmpty")) {
		t.Errorf("the draft after discarding = %d; want it said discarded and empty", resp.StatusCode)
	}
	if resp, body := a.checkDraft(t, "publish"); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "your draft is empty") {
		t.Errorf("publishing an empty draft = %d; want 422 saying it is empty", resp.StatusCode)
	}
	if ts.engine.Current() != p {
		t.Errorf("the draft's files were served")
	}
}

func TestAdminEditsAMessageFileAsText(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	p := ts.policy
	file := locales.Path("en")
	served := string(p.Source.Messages[locales.FileName("en")])
	page := "/admin/module?file=" + url.QueryEscape(file)

	resp, body := a.get(t, "/admin/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="`+html.EscapeString(page)+`"`) {
		t.Errorf("GET /admin/ = %d; want a link to edit %s", resp.StatusCode, file)
	}
	resp, body = a.get(t, page)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, html.EscapeString(strings.SplitN(served, "\n", 2)[0])) {
		t.Fatalf("GET %s = %d; want the message file's text", page, resp.StatusCode)
	}

	// The first message's table left unclosed.
	lines := strings.Split(served, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "[") })
	lines[i] = strings.TrimSuffix(lines[i], "]")
	broken := strings.Join(lines, "\n")
	want := "<code>" + file + ":" + strconv.Itoa(i+1) + "</code>: "
	t.Run("checked from the editor", func(t *testing.T) {
		resp, body := a.submit(t, page, "/admin/module", url.Values{"file": {file}, "text": {broken}, "action": {"publish"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, want) {
			t.Errorf("publishing a message file that is not TOML = %d; want 422 with %q\n%s", resp.StatusCode, want, body)
		}
	})
	t.Run("checked in the draft", func(t *testing.T) {
		a.saveToDraft(t, file, broken)
		resp, body := a.checkDraft(t, "preview")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, want) {
			t.Errorf("checking a draft whose message file is not TOML = %d; want 422 with %q\n%s", resp.StatusCode, want, body)
		}
	})
	if ts.engine.Current() != p {
		t.Fatalf("a broken message file was published")
	}

	t.Run("published from the editor, it leaves the draft", func(t *testing.T) {
		edited, err := locales.SetMessages([]byte(served), locales.Message{ID: "AdminName", Text: "Acceso, edited"})
		if err != nil {
			t.Fatal(err)
		}
		resp, body := a.submit(t, page, "/admin/module", url.Values{"file": {file}, "text": {string(edited)}, "action": {"publish"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("publishing an edited message file = %d; want 303\n%s", resp.StatusCode, body)
		}
		if got := string(ts.engine.Current().Source.Messages[locales.FileName("en")]); got != string(edited) {
			t.Errorf("the served %s is not the one published", file)
		}
		if n := draftSize(t, ts); n != 0 {
			t.Errorf("after publishing %s from the editor, the draft has %d files; want it out of the draft", file, n)
		}
	})
}
