package server

import (
	"context"
	"encoding/json"
	"html"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
)

// The fact and the cause an admin adds in TestGrowWithoutTouchingTests,
// after check_spam: a filter app on the phone that blocks the SMS. The
// cause and its test are new files; the fact is one more entry in
// facts.rego, after spam_checked, where it is asked.
const (
	smsFact = `	"sms_filter_app": {
		"type": "boolean", "asked_of": "contact",
		"description": "A filter app on the phone blocks messages from unknown senders.",
	},
`
	smsCause = `package login

# METADATA
# title: An app filters the SMS
# description: A filter app on the phone blocks the SMS with the code.
# custom:
#   after: check_spam
default cause.code_not_received.sms_filtered := "open"

cause.code_not_received.sms_filtered := "ruled_out" if {
	input.facts.channels_tried
	not "sms" in input.facts.channels_tried
} else := "likely" if {
	"sms" in input.facts.channels_tried
	input.facts.sms_filter_app == true
} else := "ruled_out" if {
	"sms" in input.facts.channels_tried
	input.facts.sms_filter_app == false
}
`
	smsTest = `package login_test

import data.login

test_sms_filtered if {
	every row in [
		{"facts": {"channels_tried": ["sms"], "sms_filter_app": true}, "want": "likely"},
		{"facts": {"channels_tried": ["sms"], "sms_filter_app": false}, "want": "ruled_out"},
		{"facts": {"channels_tried": ["email"], "sms_filter_app": true}, "want": "ruled_out"},
		{"facts": {"sms_filter_app": true}, "want": "open"},
	] {
		v := login.cause.code_not_received.sms_filtered with input as {"facts": row.facts}
		v == row.want
	}
}
`
)

var smsTexts = map[string][]locales.Message{
	"es": {
		{ID: "CauseSmsFilteredTitle", Description: "t", Text: "Una app bloquea los SMS"},
		{ID: "CauseSmsFilteredAdvice", Description: "a", Text: "Permite en la app de filtro los SMS de la plataforma y pide un código nuevo."},
		{ID: "QuestionSmsFilterApp", Description: "q", Text: "¿Tienes una app que filtra los SMS?"},
		{ID: "QuestionHelpSmsFilterApp", Description: "h", Text: "Algunas apps bloquean los mensajes de remitentes desconocidos."},
	},
	"en": {
		{ID: "CauseSmsFilteredTitle", Description: "t", Text: "An app blocks the SMS"},
		{ID: "CauseSmsFilteredAdvice", Description: "a", Text: "Allow the platform's SMS in the filter app and request a new code."},
		{ID: "QuestionSmsFilterApp", Description: "q", Text: "Do you have an app that filters SMS?"},
		{ID: "QuestionHelpSmsFilterApp", Description: "h", Text: "Some apps block messages from unknown senders."},
	},
}

// smsSections are the new cause's section in the admins' article and its
// explanation to contacts, by document file name.
func smsSections(name string) string {
	lang := strings.TrimSuffix(name[strings.Index(name, ".")+1:], ".md")
	title, advice := smsTexts[lang][0].Text, smsTexts[lang][1].Text
	if strings.HasPrefix(name, "help.") {
		return "\n### " + title + " {#sms_filtered}\n\n" + advice + "\n"
	}
	return "\n{#sms_filtered} " + advice + "\n"
}

// smsChange is what an admin changes in src to add the fact sms_filter_app
// (asked after spam_checked) and the cause sms_filtered (after check_spam):
// facts.rego, the message files, the article and the contacts'
// explanations, by path as the draft names them (rules/login/facts.rego,
// locales/active.es.toml); with ownModule, the cause and its test are new
// files, else the cause is appended to causes.rego and the existing
// property tests are its only tests. No test file that exists is changed.
func smsChange(t *testing.T, src knowledge.Source, ownModule bool) map[string]string {
	t.Helper()
	files := make(map[string]string)
	for path, text := range src.Modules {
		switch filepath.Base(path) {
		case "facts.rego":
			i := strings.Index(text, "\t\"online\": {")
			if i < 0 {
				t.Fatal("facts.rego has no online fact to put the new one before")
			}
			files[path] = text[:i] + smsFact + text[i:]
		case "causes.rego":
			if !ownModule {
				files[path] = text + strings.TrimPrefix(smsCause, "package login\n")
			} else {
				dir := filepath.Dir(path)
				files[dir+"/sms.rego"], files[dir+"/sms_test.rego"] = smsCause, smsTest
			}
		}
	}
	for path, text := range src.Docs {
		files[path] = text + smsSections(filepath.Base(path))
	}
	for _, lang := range locales.Languages {
		b, err := locales.SetMessages(src.Messages[locales.FileName(lang)], smsTexts[lang]...)
		if err != nil {
			t.Fatal(err)
		}
		files[locales.Path(lang)] = string(b)
	}
	return files
}

// TestGrowWithoutTouchingTests adds the fact sms_filter_app and the cause
// sms_filtered, with their texts, their sections in the article and their
// explanations to contacts in both languages, as an admin would and
// touching no existing test file: to a folder written by rules init,
// served with --rules DIR, and through the admin area's draft, published.
// Everything picks them up (checkSMS).
func TestGrowWithoutTouchingTests(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: an admin grows the knowledge two ways and every surface is walked; make test and CI run it")
	}
	t.Parallel()
	t.Run("--rules DIR", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "knowledge")
		// What acceso rules init writes (TestRulesInit runs the command).
		if err := rules.Embedded().WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		before := make(map[string][]byte)
		tests, _ := filepath.Glob(filepath.Join(dir, "login", "*_test.rego"))
		for _, name := range tests {
			before[name], _ = os.ReadFile(name)
		}
		for path, text := range smsChange(t, rules.Embedded(), true) {
			name := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(path, "rules/")))
			if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for name, b := range before {
			if now, _ := os.ReadFile(name); string(now) != string(b) {
				t.Errorf("%s changed; adding a fact and a cause must change no existing test", name)
			}
		}

		// Serving verifies the folder as acceso rules test does: its Rego
		// tests, the new one among them, its texts, articles and explanations.
		checkSMS(t, serveRulesDir(t, dir, Config{DiagnoseBurst: 1 << 30}))
	})

	t.Run("the admin draft", func(t *testing.T) {
		ts := newTestServer(t, Config{DiagnoseBurst: 1 << 30}, publish.Config{Deadline: loadedDeadline})
		a := signedInAdmin(t, ts)
		files := smsChange(t, ts.policy.Source, false)
		for _, path := range slices.Sorted(maps.Keys(files)) {
			a.saveToDraft(t, path, files[path])
		}
		sample := `{"symptom":"code_not_received","facts":{"channels_tried":["sms"],"sms_filter_app":true}}`
		resp, body := a.submit(t, "/admin/draft", "/admin/draft", url.Values{"action": {"publish"}, "sample": {sample}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("publishing the draft = %d; want 303\n%s", resp.StatusCode, problemsIn(body))
		}
		served := ts.engine.Current().Source
		for path, text := range ts.policy.Source.Modules {
			if knowledge.IsTest(path) && served.Modules[path] != text {
				t.Errorf("the published draft changed %s; adding a fact and a cause must change no existing test", path)
			}
		}
		checkSMS(t, ts)
	})
}

// checkSMS shows everything picking up the fact sms_filter_app and the
// cause sms_filtered that ts serves: the API asks about the app only when
// SMS was tried and finds the cause because of both facts; the catalog
// lists the cause right after check_spam; OpenAPI lists the fact; the
// site's self-diagnosis asks it only after SMS, the article and the
// contacts' page have the cause's section in both languages; and the
// static export has them too, with every link to the cause resolving.
func checkSMS(t *testing.T, ts *testServer) {
	t.Helper()
	asks := []struct {
		facts string
		want  bool
	}{
		{`{"channels_tried":["sms"]}`, true},
		{`{"channels_tried":["email","sms"],"spam_checked":true}`, true},
		{`{"channels_tried":["email"]}`, false},
		{`{}`, false},
	}
	for _, tc := range asks {
		body := `{"symptom":"code_not_received","facts":` + tc.facts + `}`
		resp, b := ts.do(t, evaluate(body))
		var a answer.Response
		if err := json.Unmarshal(b, &a); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("POST %s = %d, %v", body, resp.StatusCode, err)
		}
		asked := slices.ContainsFunc(a.Questions, func(q answer.Question) bool { return q.Fact == "sms_filter_app" })
		if asked != tc.want {
			t.Errorf("POST %s asks sms_filter_app: %v; want %v (only when SMS was tried)", body, asked, tc.want)
		}
	}
	resp, b := ts.do(t, evaluate(`{"symptom":"code_not_received","facts":{"channels_tried":["sms"],"sms_filter_app":true}}`))
	var a answer.Response
	if err := json.Unmarshal(b, &a); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("POST with the app = %d, %v", resp.StatusCode, err)
	}
	i := slices.IndexFunc(a.Findings, func(f answer.Finding) bool { return f.ID == "sms_filtered" })
	if i < 0 || !slices.Equal(a.Findings[i].Because, []string{"channels_tried", "sms_filter_app"}) || !strings.HasSuffix(a.Findings[i].ArticleURL, "#sms_filtered") {
		t.Errorf("findings = %+v; want sms_filtered because of channels_tried and sms_filter_app, linking to its section", a.Findings)
	}

	resp, b = ts.do(t, call{path: "/api/v1/causes?lang=en"})
	var cat struct {
		Causes []struct{ ID string } `json:"causes"`
	}
	if err := json.Unmarshal(b, &cat); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET /api/v1/causes = %d, %v", resp.StatusCode, err)
	}
	j := slices.IndexFunc(cat.Causes, func(c struct{ ID string }) bool { return c.ID == "check_spam" })
	if j < 0 || j+1 >= len(cat.Causes) || cat.Causes[j+1].ID != "sms_filtered" {
		t.Errorf("causes = %+v; want sms_filtered right after check_spam", cat.Causes)
	}

	resp, b = ts.do(t, call{path: "/api/openapi.json"})
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); resp.StatusCode != http.StatusOK || err != nil || !strings.Contains(string(b), `"sms_filter_app"`) {
		t.Errorf("GET /api/openapi.json = %d, %v; want the fact sms_filter_app among the facts", resp.StatusCode, err)
	}
	if ids := doc.Components.Schemas["CauseId"].Enum; !slices.Contains(ids, "sms_filtered") {
		t.Errorf("OpenAPI's CauseId enum = %v; want sms_filtered in it", ids)
	}

	// The map (acceso rules map, the admin area's flow): the question
	// comes after SMS, and answering it finds the cause.
	m, err := flow.Explore(context.Background(), ts.engine.Current(), 0)
	if err != nil {
		t.Fatalf("flow.Explore = %v", err)
	}
	var tree strings.Builder
	if err := m.WriteText(&tree, flow.NewTexts(locales.NewLocalizer(ts.engine.Current().Texts, "en"))); err != nil {
		t.Fatal(err)
	}
	if text := tree.String(); !strings.Contains(text, "(sms_filter_app)") || !strings.Contains(text, smsTexts["en"][0].Text) {
		t.Errorf("the map asks no sms_filter_app question or finds no %q:\n%s", smsTexts["en"][0].Text, text)
	}

	question := map[string]string{}
	for _, lang := range locales.Languages {
		question[lang] = smsTexts[lang][2].Text
		for _, page := range []string{"/" + lang + "/article", "/" + lang + "/help"} {
			resp, b := ts.do(t, call{path: page})
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), ` id="sms_filtered"`) {
				t.Errorf("GET %s = %d; want the section of sms_filtered (id=\"sms_filtered\")", page, resp.StatusCode)
			}
		}
	}
	for path, want := range map[string]bool{
		"/en/diagnose/code_not_received/channels_tried=sms/":   true,
		"/en/diagnose/code_not_received/channels_tried=email/": false,
	} {
		resp, b := ts.do(t, call{path: path})
		if got := strings.Contains(html.UnescapeString(string(b)), question["en"]); resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("GET %s = %d, asks %q: %v; want %v", path, resp.StatusCode, question["en"], got, want)
		}
	}

	log := slog.New(slog.DiscardHandler)
	srv := mustNew(t, Config{Static: true, BaseURL: exportBase}, publish.New(publish.Config{}, rules.NewEngine(ts.engine.Current()), nil, log), nil, log)
	out := filepath.Join(t.TempDir(), "site")
	if _, err := srv.Export(context.Background(), out, nil); err != nil {
		t.Fatalf("Export = %v", err)
	}
	files := readTree(t, out)
	for _, lang := range locales.Languages {
		for _, page := range []string{lang + "/article/index.html", lang + "/help/index.html"} {
			if !strings.Contains(string(files[page]), ` id="sms_filtered"`) {
				t.Errorf("the export's %s has no section of sms_filtered", page)
			}
		}
	}
	linked := 0
	for name, b := range files {
		if strings.Contains(name, "sms_filter_app=yes") && strings.Contains(string(b), `/en/help#sms_filtered"`) {
			linked++
		}
	}
	if linked == 0 {
		t.Errorf("no exported state answered sms_filter_app=yes links to /en/help#sms_filtered")
	}
}

// problemsIn is the list of problems of an admin page, or the page.
func problemsIn(body string) string {
	if i := strings.Index(body, `class="problems"`); i >= 0 {
		end := strings.Index(body[i:], "</ul>")
		if end < 0 {
			end = len(body) - i
		}
		return html.UnescapeString(body[i : i+end])
	}
	return body
}
