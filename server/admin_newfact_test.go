package server

import (
	"context"
	"html"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"acceso/locales"
	"acceso/publish"
	"acceso/store"
)

// draftFiles are the paths of the files of the test admin's draft.
func draftFiles(tb testing.TB, ts *testServer) map[string]store.DraftFile {
	tb.Helper()
	files, err := ts.db.DraftFiles(context.Background(), testAdmin)
	if err != nil {
		tb.Fatalf("DraftFiles = %v", err)
	}
	out := make(map[string]store.DraftFile)
	for _, f := range files {
		out[f.Path] = f
	}
	return out
}

// fillTexts saves to the draft both message files with every text in ids
// written, as an admin does in the editor.
func (a *adminClient) fillTexts(tb testing.TB, ts *testServer, ids []string) {
	tb.Helper()
	files := draftFiles(tb, ts)
	for _, lang := range locales.Languages {
		path := locales.Path(lang)
		f, ok := files[path]
		if !ok {
			tb.Fatalf("the draft has no %s to write the texts in", path)
		}
		var msgs []locales.Message
		for _, id := range ids {
			msgs = append(msgs, locales.Message{ID: id, Text: id + " (" + lang + ")"})
		}
		text, err := locales.SetMessages([]byte(f.Text), msgs...)
		if err != nil {
			tb.Fatal(err)
		}
		a.saveToDraft(tb, path, string(text))
	}
}

// TestAdminAddsAFactThroughTheForm adds a fact with the admin area's
// form: its declaration goes into the draft's facts (with the next free
// order, since the facts served have orders), its question's texts are
// added empty to both message files, the draft's check names each empty
// text at its file and line, and once the admin writes them the check
// passes.
func TestAdminAddsAFactThroughTheForm(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	const facts = "rules/login/facts.rego"
	form := url.Values{"name": {"sms_filter_app"}, "type": {"boolean"}, "asked_of": {"contact"},
		"description": {"An app that filters SMS is installed on the contact's phone."}, "action": {"save"}}

	t.Run("a mistaken field is named, and the form comes back as sent", func(t *testing.T) {
		tests := []struct {
			name  string
			edit  url.Values
			field string
		}{
			{"name", url.Values{"name": {"SMS Filter"}}, "name"},
			{"name declared already", url.Values{"name": {"vpn"}}, "name"},
			{"type", url.Values{"type": {"number"}}, "type"},
			{"choices", url.Values{"type": {"choices"}}, "choices"},
			{"asked of", url.Values{"asked_of": {""}}, "asked_of"},
			{"a count asked", url.Values{"type": {"count"}}, "asked_of"},
			{"description", url.Values{"description": {""}}, "description"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				post := url.Values{}
				for k, v := range form {
					post[k] = v
				}
				for k, v := range tc.edit {
					post[k] = v
				}
				resp, body := a.submit(t, "/admin/new-fact", "/admin/new-fact", post)
				if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "<code>"+tc.field+"</code>: ") {
					t.Errorf("POST /admin/new-fact with %v = %d; want 422 naming the field %s\n%s", tc.edit, resp.StatusCode, tc.field, body)
				}
				if want := `value="` + html.EscapeString(post.Get("name")) + `"`; !strings.Contains(body, want) {
					t.Errorf("POST /admin/new-fact with %v: the form lost the name as sent (%s)", tc.edit, want)
				}
				if n := draftSize(t, ts); n != 0 {
					t.Errorf("a refused fact left %d files in the draft", n)
				}
			})
		}
	})

	resp, body := a.submit(t, "/admin/new-fact", "/admin/new-fact", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/draft?saved="+url.QueryEscape(facts) {
		t.Fatalf("adding the fact = %d to %q; want 303 to the draft, saying %s was saved\n%s", resp.StatusCode, resp.Header.Get("Location"), facts, body)
	}
	files := draftFiles(t, ts)
	if got := slices.Sorted(maps.Keys(files)); strings.Join(got, " ") != "locales/active.en.toml locales/active.es.toml "+facts {
		t.Fatalf("the draft has %v; want the facts and both message files", got)
	}
	if f := files[facts]; f.Base != ts.policy.Source.Modules[facts] ||
		!regexp.MustCompile(`"sms_filter_app": \{\n\t\t"type": "boolean", "asked_of": "contact",\n`).MatchString(f.Text) {
		t.Errorf("the draft's %s (based on the served text: %v) declares:\n%s", facts, f.Base == ts.policy.Source.Modules[facts], f.Text)
	}

	texts := []string{locales.Question("sms_filter_app"), locales.QuestionHelp("sms_filter_app")}
	check := url.Values{"action": {"preview"}, "sample": {`{"symptom":"code_not_received","facts":{}}`}}
	resp, body = a.submit(t, "/admin/draft", "/admin/draft", check)
	for _, id := range texts {
		for _, lang := range locales.Languages {
			want := regexp.MustCompile(`<code>` + regexp.QuoteMeta(locales.Path(lang)) + `:\d+</code>: message ` + id + ` is empty`)
			if resp.StatusCode != http.StatusUnprocessableEntity || !want.MatchString(body) {
				t.Errorf("checking the draft with empty texts = %d; want 422 and %s", resp.StatusCode, want)
			}
		}
	}

	// Only the new texts: the message files keep the rest, comments included.
	for _, lang := range locales.Languages {
		f := files[locales.Path(lang)]
		if !strings.HasPrefix(f.Text, strings.TrimRight(f.Base, "\n")) {
			t.Errorf("the draft's %s does not start with the served text: adding the fact rewrote it", locales.Path(lang))
		}
	}
	a.fillTexts(t, ts, texts)
	resp, body = a.submit(t, "/admin/draft", "/admin/draft", check)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `class="problems"`) {
		t.Fatalf("checking the draft once the texts are written = %d; want 200 and no problem\n%s", resp.StatusCode, body)
	}
	if ts.engine.Current() != ts.policy {
		t.Errorf("adding a fact to the draft changed the rules served")
	}
}

// TestAdminAddCauseSavesToTheDraft adds a cause with the form to add a
// cause, saving it to the draft instead of publishing it: its rule, tests
// and texts go into the draft's files, on top of what the draft has
// already, and the draft's check passes and finds it. The form starts
// from a rule written as the served causes write theirs.
func TestAdminAddCauseSavesToTheDraft(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	p := ts.policy
	cause := spamCause(t, p)

	resp, body := a.get(t, "/admin/new-cause")
	for _, want := range []string{"# METADATA\n# title: &lt;what the cause is, for rule authors&gt;\n", `value="save"`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /admin/new-cause = %d; want its rule template and save button with %q", resp.StatusCode, want)
		}
	}

	// The draft has a change already, to the same module: the cause is
	// added to it, not to the served text.
	const note = "# A note drafted before the cause."
	a.saveToDraft(t, cause.File, p.Source.Modules[cause.File]+"\n"+note+"\n")

	newID := cause.ID + "_drafted"
	rule, _ := copyCause(t, p.Source, cause, newID)
	// Found only for a count no contact is asked (777) and a fact an
	// administrator is asked to check: reachable, and no Rego test finds it.
	rule = guarded(rule, "input.facts.codes_requested == 777\n\tinput.facts.opted_out == true")
	fields := url.Values{"id": {newID}, "module": {cause.File}, "rule": {rule}, "action": {"save"},
		"title_es": {"Título guardado"}, "advice_es": {"Consejo guardado"}, "title_en": {"Saved title"}, "advice_en": {"Saved advice"}}

	t.Run("a mistake is shown on the form, as sent", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range fields {
			bad[k] = v
		}
		bad.Set("title_en", "")
		resp, body := a.submit(t, "/admin/new-cause", "/admin/new-cause", bad)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "the en title must not be empty") ||
			!strings.Contains(body, html.EscapeString("Consejo guardado")) {
			t.Errorf("saving a cause without its English title = %d; want 422 saying so, with the form as sent\n%s", resp.StatusCode, body)
		}
		if n := draftSize(t, ts); n != 1 {
			t.Errorf("a refused cause changed the draft: %d files; want the 1 drafted before", n)
		}
	})

	resp, body = a.submit(t, "/admin/new-cause", "/admin/new-cause", fields)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/draft?saved=") {
		t.Fatalf("saving the new cause to the draft = %d to %q; want 303 to the draft\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	files := draftFiles(t, ts)
	module := files[cause.File]
	if !strings.Contains(module.Text, note) || !strings.Contains(module.Text, "default cause."+cause.Symptom+"."+newID+" ") ||
		module.Base != p.Source.Modules[cause.File] {
		t.Errorf("the draft's %s keeps the note %v, has the cause %v, is based on the served text %v; want all three",
			cause.File, strings.Contains(module.Text, note), strings.Contains(module.Text, newID), module.Base == p.Source.Modules[cause.File])
	}
	for _, lang := range locales.Languages {
		if f, ok := files[locales.Path(lang)]; !ok || !strings.Contains(f.Text, "["+locales.CauseAdvice(newID)+"]") {
			t.Errorf("the draft's %s lacks %s", locales.Path(lang), locales.CauseAdvice(newID))
		}
	}
	for path := range p.Source.Docs {
		if f, ok := files[path]; !ok || !strings.Contains(f.Text, "{#"+newID+"}") {
			t.Errorf("the draft's %s lacks the section {#%s}", path, newID)
		}
	}
	if ts.engine.Current() != p {
		t.Errorf("saving a cause to the draft changed the rules served")
	}

	sample := strings.Replace(specExample, `"spam_checked": false`, `"spam_checked": false, "codes_requested": 777, "opted_out": true`, 1)
	resp, body = a.submit(t, "/admin/draft", "/admin/draft", url.Values{"action": {"preview"}, "sample": {sample}})
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `class="problems"`) || !strings.Contains(body, `data-cause="`+newID+`"`) {
		t.Fatalf("checking the draft with the new cause = %d; want 200, no problem, and the sample finding %s\n%s", resp.StatusCode, newID, body)
	}
}

// TestAdminNewFactPageIsValidHTML checks the form to add a fact, empty
// and with a mistake named, with the Nu Html Checker.
func TestAdminNewFactPageIsValidHTML(t *testing.T) {
	jar := npmFile(t, "vnu-jar", filepath.Join("build", "dist", "vnu.jar"))
	java := needTool(t, "Java", func() (string, error) { return exec.LookPath("java") })
	ts := newTestServer(t, Config{})
	a := signedInAdmin(t, ts)
	dir := t.TempDir()
	_, empty := a.get(t, "/admin/new-fact")
	resp, refused := a.submit(t, "/admin/new-fact", "/admin/new-fact", url.Values{"name": {"Bad Name"}, "type": {"count"}, "asked_of": {"contact"}, "action": {"save"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("POST /admin/new-fact with mistakes = %d; want 422", resp.StatusCode)
	}
	var files []string
	for name, body := range map[string]string{"new-fact.html": empty, "new-fact-refused.html": refused} {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	checkHTML(t, java, jar, files)
}
