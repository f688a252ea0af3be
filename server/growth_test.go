package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"acceso/answer"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/store"
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

// TestGrowWithoutTouchingTests adds the fact sms_filter_app and the cause
// sms_filtered to a folder written by rules init, as an admin would: a new
// module and its new test file, one more fact, the texts and the article's
// sections; no existing test file changes. Served with --rules, the API
// asks about the app only when SMS was tried, finds the cause, and lists
// it after check_spam in the catalog, and OpenAPI lists the fact.
func TestGrowWithoutTouchingTests(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "knowledge")
	if err := rules.Embedded().WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	before := make(map[string][]byte)
	tests, _ := filepath.Glob(filepath.Join(dir, "login", "*_test.rego"))
	for _, name := range tests {
		before[name], _ = os.ReadFile(name)
	}
	edit := func(name string, change func(string) string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(change(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("login/facts.rego", func(s string) string {
		i := strings.Index(s, "\t\"online\": {")
		if i < 0 {
			t.Fatal("facts.rego has no online fact to put the new one before")
		}
		return s[:i] + smsFact + s[i:]
	})
	for name, text := range map[string]string{"login/sms.rego": smsCause, "login/sms_test.rego": smsTest} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range locales.Languages {
		edit("locales/"+locales.FileName(lang), func(s string) string {
			b, err := locales.SetMessages([]byte(s), smsTexts[lang]...)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		})
		edit("login/article."+lang+".md", func(s string) string {
			return s + "\n{#sms_filtered} " + smsTexts[lang][1].Text + "\n"
		})
		edit("login/help."+lang+".md", func(s string) string {
			return s + "\n### " + smsTexts[lang][0].Text + " {#sms_filtered}\n\n" + smsTexts[lang][1].Text + "\n"
		})
	}

	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("store.Open = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	pub, err := publish.Load(ctx, publish.Config{RulesDir: dir}, db, slog.New(slog.NewTextHandler(&syncBuffer{}, nil)))
	if err != nil {
		t.Fatalf("publish.Load(%s) = %v", dir, err)
	}
	s := mustNew(t, Config{APIRate: 1e6, APIBurst: 1e6}, pub, db, slog.New(slog.NewTextHandler(&syncBuffer{}, nil)))
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	ts := &testServer{Server: s, URL: hs.URL, db: db}

	for name, b := range before {
		if now, _ := os.ReadFile(name); string(now) != string(b) {
			t.Errorf("%s changed; adding a fact and a cause must change no existing test", name)
		}
	}

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
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"sms_filter_app"`) {
		t.Errorf("GET /api/openapi.json = %d; want the fact sms_filter_app among the facts", resp.StatusCode)
	}
}
