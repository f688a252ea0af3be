package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"acceso/answer"
	"acceso/flow"
	"acceso/internal/interop"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/api"
)

// specExample is the request of SPEC's POST /api/v1/evaluate section.
const specExample = `{"symptom": "code_not_received", "lang": "en",
 "facts": {"identifier": "Ana@Example.com ", "registered_emails": ["ana@example.com"],
           "channels_tried": ["email"], "spam_checked": false}}`

// decodeError reads an API error body strictly: JSON with exactly the
// fields of answer.ErrorBody.
func decodeError(tb testing.TB, resp *http.Response, body []byte) answer.ErrorBody {
	tb.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Fatalf("error Content-Type = %q; want application/json (body %s)", ct, body)
	}
	var e answer.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		tb.Fatalf("error body %s is not an answer.ErrorBody: %v", body, err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		tb.Fatalf("error body %s lacks a code or a message", body)
	}
	return e
}

// mustEvaluate posts body and requires a 200 answer.
func (ts *testServer) mustEvaluate(tb testing.TB, c call) answer.Response {
	tb.Helper()
	resp, body := ts.do(tb, c)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("POST %s %s = %d %s; want 200", c.path, c.body, resp.StatusCode, body)
	}
	var r answer.Response
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		tb.Fatalf("answer %s is not a Response: %v", body, err)
	}
	return r
}

func TestEvaluateAnswersAsDiagnose(t *testing.T) {
	ts := newTestServer(t, Config{})
	tests := []struct {
		name   string
		call   call
		hints  []string
		status int
	}{
		{"the SPEC's example", evaluate(specExample), nil, 200},
		{"charset utf-8 is JSON", call{method: "POST", path: "/api/v1/evaluate", contentType: "application/json; charset=UTF-8", body: `{"facts":{"online":false}}`}, nil, 200},
		{"nothing known", evaluate(`{}`), nil, 200},
		{"facts null", evaluate(`{"facts":null,"symptom":null}`), nil, 200},
		{"a symptom, every question of it", evaluate(`{"symptom":"code_needed_often"}`), nil, 200},
		{"everything known", evaluate(`{"facts":{"identifier":"+34 600-111 222","registered_phones":["+34600111222"],"opted_out":false,"channels_tried":["email","sms"],"spam_checked":true,"online":true,"incognito":false,"cookies_autodelete":false,"new_device":false,"message_published":true,"vpn":false,"codes_requested":2,"used_latest_code":true}}`), nil, 200},
		{"language from the query", call{method: "POST", path: "/api/v1/evaluate?lang=en", contentType: "application/json", body: `{"facts":{"vpn":true}}`}, []string{"en"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ts.mustEvaluate(t, tc.call)
			want, err := diagnose(ts.engine, []byte(tc.call.body), tc.hints...)
			if err != nil {
				t.Fatalf("diagnose(%s) = %v", tc.call.body, err)
			}
			id, err := uuid.Parse(got.DecisionID)
			if err != nil || id.Version() != 7 {
				t.Errorf("decision_id = %q; want a UUIDv7", got.DecisionID)
			}
			if got.DecisionID == want.DecisionID {
				t.Errorf("decision_id %q repeated; want a fresh one per answer", got.DecisionID)
			}
			if got.PolicyRevision != ts.policy.Revision {
				t.Errorf("policy_revision = %q; want %q", got.PolicyRevision, ts.policy.Revision)
			}
			if got.Reference == want.Reference || len(got.Reference) != 9 {
				t.Errorf("reference = %q; want a fresh XXXX-XXXX per answer", got.Reference)
			}
			got.DecisionID, want.DecisionID = "", ""
			got.Reference, want.Reference = "", ""
			if !reflect.DeepEqual(got, want) {
				t.Errorf("POST /api/v1/evaluate %s =\n%+v\nwant what Diagnose answers:\n%+v", tc.call.body, got, want)
			}
		})
	}
}

// TestEvaluateToTry: "I don't know" to everything offers, per symptom,
// every cause a contact can try, in article order with its contact-facing
// advice; and in every state of the self-diagnosis a cause is in at most
// one of findings, ruled_out and to_try.
func TestEvaluateToTry(t *testing.T) {
	ts := newTestServer(t, Config{})
	cat := ts.policy.Catalog
	// The causes the issue names as a contact's to try: the rules must keep
	// declaring them.
	for _, id := range []string{"identifier_not_registered", "try_other_channel", "check_spam", "no_connection", "incognito_mode", "cookies_deleted", "vpn_in_use", "old_code"} {
		if c, ok := cat.Cause(id); !ok || !c.ContactCanTry {
			t.Errorf("cause %s: contact_can_try = false; want true", id)
		}
	}
	for _, lang := range locales.Languages {
		for _, symptom := range cat.Symptoms {
			body := `{"symptom":"` + symptom + `","lang":"` + lang + `","facts":{}}`
			got := ts.mustEvaluate(t, evaluate(body))
			var want, ids []string
			for _, c := range cat.Causes {
				if c.Symptom == symptom && c.ContactCanTry {
					want = append(want, c.ID)
				}
			}
			for _, tt := range got.ToTry {
				ids = append(ids, tt.ID)
				advice, _ := ts.policy.Texts.Text(lang, locales.CauseTryAdvice(tt.ID))
				title, _ := ts.policy.Texts.Text(lang, locales.CauseTryTitle(tt.ID))
				if tt.Symptom != symptom || tt.Advice != advice || advice == "" || tt.Title != title || title == "" || tt.ArticleURL != answer.ArticleURL(ts.policy.Catalog, lang, tt.ID) {
					t.Errorf("POST %s: to_try %+v; want symptom %s, title %q, advice %q, article_url %s", body, tt, symptom, title, advice, answer.ArticleURL(ts.policy.Catalog, lang, tt.ID))
				}
			}
			if len(want) == 0 || !slices.Equal(ids, want) {
				t.Errorf("POST %s: to_try = %v; want every cause a contact can try, in article order: %v", body, ids, want)
			}
		}
	}
	m, err := flow.Explore(context.Background(), ts.policy, 0)
	if err != nil {
		t.Fatal(err)
	}
	states := 0
	for _, tree := range m.Trees {
		for _, n := range tree.Nodes {
			req := n.Diagnosis.Request()
			body, err := json.Marshal(map[string]any{"symptom": req.Symptom, "facts": req.Facts})
			if err != nil {
				t.Fatal(err)
			}
			got := ts.mustEvaluate(t, evaluate(string(body)))
			seen := map[string]string{}
			note := func(list, id string) {
				if prev, dup := seen[id]; dup {
					t.Errorf("POST %s: cause %s is in %s and %s; want it in at most one", body, id, prev, list)
				}
				seen[id] = list
			}
			for _, f := range got.Findings {
				note("findings", f.ID)
			}
			for _, id := range got.RuledOut {
				note("ruled_out", id)
			}
			for _, tt := range got.ToTry {
				note("to_try", tt.ID)
			}
			states++
		}
	}
	if states < 10 {
		t.Errorf("explored %d states; want the whole self-diagnosis", states)
	}
}

func TestEvaluateErrors(t *testing.T) {
	ts := newTestServer(t, Config{})
	big := `{"facts":{"registered_emails":["` + strings.Repeat("a", answer.MaxBody) + `"]}}`
	tests := []struct {
		name   string
		call   call
		status int
		code   string
		fields []string // details, in order
	}{
		{"body is not JSON", evaluate(`symptom=code_not_received`), 400, "invalid_json", nil},
		{"body is truncated", evaluate(`{"facts":{"online":fal`), 400, "invalid_json", nil},
		{"body is empty", evaluate(``), 400, "invalid_json", nil},
		{"body is not an object", evaluate(`["online"]`), 400, "invalid_facts", []string{"body"}},
		{"a fact of the wrong type", evaluate(`{"facts":{"online":"no"}}`), 400, "invalid_facts", []string{"facts.online"}},
		{"a count out of range", evaluate(`{"facts":{"codes_requested":-1}}`), 400, "invalid_facts", []string{"facts.codes_requested"}},
		{"a count that is not whole", evaluate(`{"facts":{"codes_requested":1.5}}`), 400, "invalid_facts", []string{"facts.codes_requested"}},
		{"an unknown symptom", evaluate(`{"symptom":"code_lost"}`), 400, "invalid_facts", []string{"symptom"}},
		{"an unknown channel", evaluate(`{"facts":{"channels_tried":["fax"]}}`), 400, "invalid_facts", []string{"facts.channels_tried"}},
		{"an unknown field", evaluate(`{"sympton":"code_not_received"}`), 400, "invalid_facts", []string{"sympton"}},
		{"an unknown fact", evaluate(`{"facts":{"onlin":false}}`), 400, "invalid_facts", []string{"facts.onlin"}},
		{"every field at fault", evaluate(`{"facts":{"online":"no","vpn":1},"extra":true}`), 400, "invalid_facts", []string{"extra", "facts.online", "facts.vpn"}},
		{"body over 64 KiB", evaluate(big), 413, "too_large", nil},
		{"body over 64 KiB, chunked", call{method: "POST", path: "/api/v1/evaluate", contentType: "application/json", body: big, chunked: true}, 413, "too_large", nil},
		{"text/plain", call{method: "POST", path: "/api/v1/evaluate", contentType: "text/plain", body: `{}`}, 415, "unsupported_media_type", nil},
		{"no Content-Type", call{method: "POST", path: "/api/v1/evaluate", body: `{}`}, 415, "unsupported_media_type", nil},
		{"a form", call{method: "POST", path: "/api/v1/evaluate", contentType: "application/x-www-form-urlencoded", body: `facts=1`}, 415, "unsupported_media_type", nil},
		{"JSON in another charset", call{method: "POST", path: "/api/v1/evaluate", contentType: "application/json; charset=iso-8859-1", body: `{}`}, 415, "unsupported_media_type", nil},
		{"no such endpoint", call{path: "/api/v1/nope"}, 404, "not_found", nil},
		{"the API's root", call{path: "/api"}, 404, "not_found", nil},
		{"evaluate with GET", call{path: "/api/v1/evaluate"}, 405, "method_not_allowed", nil},
		{"the catalog with DELETE", call{method: "DELETE", path: "/api/v1/causes"}, 405, "method_not_allowed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.do(t, tc.call)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s = %d %s; want %d", tc.call.method, tc.call.path, resp.StatusCode, body, tc.status)
			}
			e := decodeError(t, resp, body)
			if e.Error.Code != tc.code {
				t.Errorf("error.code = %q; want %q", e.Error.Code, tc.code)
			}
			var fields []string
			for _, d := range e.Error.Details {
				fields = append(fields, d.Field)
				if d.Problem == "" {
					t.Errorf("details[%s].problem is empty; want what is wrong", d.Field)
				}
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("error.details fields = %v; want %v", fields, tc.fields)
			}
			if tc.status == 405 && !strings.Contains(resp.Header.Get("Allow"), "POST") && !strings.Contains(resp.Header.Get("Allow"), "GET") {
				t.Errorf("405 Allow = %q; want the methods the endpoint answers", resp.Header.Get("Allow"))
			}
			// The service keeps serving.
			ts.mustEvaluate(t, evaluate(specExample))
		})
	}
}

func TestEvaluateLanguage(t *testing.T) {
	ts := newTestServer(t, Config{})
	const facts = `"facts":{"channels_tried":["email"],"spam_checked":false}`
	tests := []struct {
		name           string
		body, query    string
		acceptLanguage string
		want           string
	}{
		{"nothing asked: Spanish", `{` + facts + `}`, "", "", "es"},
		{"the body's lang", `{"lang":"en",` + facts + `}`, "", "", "en"},
		{"the body's lang beats the query", `{"lang":"es",` + facts + `}`, "en", "en", "es"},
		{"the query", `{` + facts + `}`, "en", "", "en"},
		{"the query beats Accept-Language", `{` + facts + `}`, "es", "en", "es"},
		{"Accept-Language", `{` + facts + `}`, "", "en-GB,en;q=0.9", "en"},
		{"Accept-Language's first supported", `{` + facts + `}`, "", "fr-FR, fr;q=0.9, en;q=0.5", "en"},
		{"an unsupported lang falls back to Spanish", `{"lang":"fr",` + facts + `}`, "", "", "es"},
		{"an unsupported query falls back to Spanish", `{` + facts + `}`, "de", "", "es"},
		{"an unsupported body lang defers to the header", `{"lang":"fr",` + facts + `}`, "", "en", "en"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := evaluate(tc.body)
			if tc.query != "" {
				c.path += "?lang=" + tc.query
			}
			if tc.acceptLanguage != "" {
				c.header = map[string]string{"Accept-Language": tc.acceptLanguage}
			}
			r := ts.mustEvaluate(t, c)
			if r.Lang != tc.want {
				t.Fatalf("lang = %q; want %q", r.Lang, tc.want)
			}
			if len(r.Findings) == 0 || len(r.Questions) == 0 {
				t.Fatalf("answer has %d findings and %d questions; the test needs both", len(r.Findings), len(r.Questions))
			}
			for _, f := range r.Findings {
				if want, _ := ts.policy.Texts.Text(tc.want, locales.CauseTitle(f.ID)); f.Title != want {
					t.Errorf("finding %s title = %q; want the %s text %q", f.ID, f.Title, tc.want, want)
				}
				if want, _ := ts.policy.Texts.Text(tc.want, locales.CauseAdvice(f.ID)); f.Advice != want {
					t.Errorf("finding %s advice = %q; want the %s text %q", f.ID, f.Advice, tc.want, want)
				}
				if want := answer.ArticleURL(ts.policy.Catalog, tc.want, f.ID); f.ArticleURL != want {
					t.Errorf("finding %s article_url = %q; want %q", f.ID, f.ArticleURL, want)
				}
			}
			for _, q := range r.Questions {
				if want, _ := ts.policy.Texts.Text(tc.want, locales.Question(q.Fact)); q.Text != want {
					t.Errorf("question %s text = %q; want the %s text %q", q.Fact, q.Text, tc.want, want)
				}
			}
		})
	}
}

func TestEvaluateDeadline(t *testing.T) {
	ts := newTestServer(t, Config{EvalTimeout: time.Nanosecond})
	resp, body := ts.do(t, evaluate(specExample))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST /api/v1/evaluate past its deadline = %d %s; want 503", resp.StatusCode, body)
	}
	if e := decodeError(t, resp, body); e.Error.Code != answer.CodeEvaluationFailed {
		t.Errorf("error.code = %q; want %q", e.Error.Code, answer.CodeEvaluationFailed)
	}
	if !slices.ContainsFunc(ts.logs.Lines(), func(l string) bool {
		return strings.Contains(l, `"msg":"evaluation failed"`) && strings.Contains(l, `"reason":"deadline_exceeded"`)
	}) {
		t.Errorf("logs have no evaluation failed line with reason deadline_exceeded:\n%s", strings.Join(ts.logs.Lines(), "\n"))
	}
	fams := ts.scrape(t)
	if got := metricValue(fams, "acceso_evaluations_total", map[string]string{"outcome": "evaluation_failed"}); got != 1 {
		t.Errorf("acceso_evaluations_total{outcome=evaluation_failed} = %v; want 1", got)
	}
	// The service keeps serving: bad input is still refused as such.
	resp, body = ts.do(t, evaluate(`{"facts":{"online":"no"}}`))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST an invalid body after a 503 = %d %s; want 400", resp.StatusCode, body)
	}
}

func TestPanicAnswersInternalJSON(t *testing.T) {
	ts := newTestServer(t, Config{})
	// A route that fails as a bug would, registered by the test only.
	ts.Echo().GET("/api/v1/test-panic", func(echo.Context) error { panic("kaboom: secret internals") })
	resp, body := ts.do(t, call{path: "/api/v1/test-panic"})
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET a panicking route = %d %s; want 500", resp.StatusCode, body)
	}
	e := decodeError(t, resp, body)
	if e.Error.Code != answer.CodeInternal {
		t.Errorf("error.code = %q; want %q", e.Error.Code, answer.CodeInternal)
	}
	if strings.Contains(string(body), "kaboom") || strings.Contains(string(body), "goroutine") {
		t.Errorf("500 body %s shows internals", body)
	}
	logged := slices.ContainsFunc(ts.logs.Lines(), func(l string) bool {
		return strings.Contains(l, `"msg":"panic"`) && strings.Contains(l, "kaboom") && strings.Contains(l, `"route":"/api/v1/test-panic"`)
	})
	if !logged {
		t.Errorf("logs have no panic line for the route:\n%s", strings.Join(ts.logs.Lines(), "\n"))
	}
	ts.mustEvaluate(t, evaluate(specExample))
}

func TestRateLimit(t *testing.T) {
	const burst = 3
	t.Run("a spoofed X-Forwarded-For does not escape the limit", func(t *testing.T) {
		ts := newTestServer(t, Config{APIRate: 0.01, APIBurst: burst})
		for i := range burst + 2 {
			resp, body := ts.do(t, call{path: "/api/v1/causes", header: map[string]string{
				"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1),
				"X-Real-IP":       fmt.Sprintf("198.51.100.%d", i+1),
			}})
			want := http.StatusOK
			if i >= burst {
				want = http.StatusTooManyRequests
			}
			if resp.StatusCode != want {
				t.Fatalf("request %d with a new X-Forwarded-For = %d %s; want %d", i+1, resp.StatusCode, body, want)
			}
			if want == http.StatusTooManyRequests {
				if e := decodeError(t, resp, body); e.Error.Code != answer.CodeTooManyRequests {
					t.Errorf("error.code = %q; want %q", e.Error.Code, answer.CodeTooManyRequests)
				}
				if resp.Header.Get("Retry-After") == "" {
					t.Errorf("429 has no Retry-After")
				}
			}
		}
		if resp, _ := ts.do(t, call{path: "/healthz"}); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz of a limited client = %d; want 200 (probes are not limited)", resp.StatusCode)
		}
	})
	t.Run("behind a trusted proxy each client has its own limit", func(t *testing.T) {
		ts := newTestServer(t, Config{APIRate: 0.01, APIBurst: burst, TrustedProxies: []string{"127.0.0.0/8", "::1/128"}})
		get := func(xff string) int {
			resp, _ := ts.do(t, call{path: "/api/v1/causes", header: map[string]string{"X-Forwarded-For": xff}})
			return resp.StatusCode
		}
		for i := range burst {
			if got := get("203.0.113.7"); got != http.StatusOK {
				t.Fatalf("client A request %d = %d; want 200", i+1, got)
			}
		}
		if got := get("203.0.113.7"); got != http.StatusTooManyRequests {
			t.Errorf("client A over its burst = %d; want 429", got)
		}
		if got := get("192.0.2.1, 203.0.113.7"); got != http.StatusTooManyRequests {
			t.Errorf("client A prepending a made-up address = %d; want 429 (the proxy appended the real one)", got)
		}
		if got := get("203.0.113.8"); got != http.StatusOK {
			t.Errorf("client B = %d; want 200", got)
		}
	})
}

func TestCauses(t *testing.T) {
	ts := newTestServer(t, Config{})
	empty, err := diagnose(ts.engine, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var askOrder []string
	for _, q := range empty.Questions {
		askOrder = append(askOrder, q.Fact)
	}
	tests := []struct {
		name string
		call call
		lang string
	}{
		{"Spanish by default", call{path: "/api/v1/causes"}, "es"},
		{"English by query", call{path: "/api/v1/causes?lang=en"}, "en"},
		{"English by Accept-Language", call{path: "/api/v1/causes", header: map[string]string{"Accept-Language": "en-US,en;q=0.8"}}, "en"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.do(t, tc.call)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d %s; want 200", tc.call.path, resp.StatusCode, body)
			}
			var got answer.Catalog
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("GET %s body is not a Catalog: %v", tc.call.path, err)
			}
			text := func(id string) string {
				s, ok := ts.policy.Texts.Text(tc.lang, id)
				if !ok {
					t.Fatalf("no %s text %s", tc.lang, id)
				}
				return s
			}
			if got.Lang != tc.lang || got.PolicyRevision != ts.policy.Revision {
				t.Errorf("lang, policy_revision = %q, %q; want %q, %q", got.Lang, got.PolicyRevision, tc.lang, ts.policy.Revision)
			}
			var symptoms []string
			for _, s := range got.Symptoms {
				symptoms = append(symptoms, s.ID)
				if s.Title != text(locales.SymptomTitle(s.ID)) || s.Description != text(locales.SymptomDescription(s.ID)) {
					t.Errorf("symptom %s texts = %q, %q; want the catalog's", s.ID, s.Title, s.Description)
				}
			}
			if !slices.Equal(symptoms, ts.policy.Catalog.Symptoms) {
				t.Errorf("symptoms = %v; want %v", symptoms, ts.policy.Catalog.Symptoms)
			}
			if len(got.Causes) != len(ts.policy.Catalog.Causes) {
				t.Fatalf("%d causes; want %d", len(got.Causes), len(ts.policy.Catalog.Causes))
			}
			for i, c := range got.Causes {
				want := ts.policy.Catalog.Causes[i]
				if c.ID != want.ID || c.Symptom != want.Symptom || !slices.Equal(c.Facts, want.Facts) {
					t.Errorf("causes[%d] = %s (%s, %v); want %s (%s, %v)", i, c.ID, c.Symptom, c.Facts, want.ID, want.Symptom, want.Facts)
				}
				if c.Title != text(locales.CauseTitle(c.ID)) || c.Advice != text(locales.CauseAdvice(c.ID)) {
					t.Errorf("cause %s texts = %q, %q; want the catalog's", c.ID, c.Title, c.Advice)
				}
				if c.ContactCanTry != want.ContactCanTry {
					t.Errorf("cause %s contact_can_try = %v; want %v", c.ID, c.ContactCanTry, want.ContactCanTry)
				}
				if wantTry := ""; c.ContactCanTry && (c.TryAdvice != text(locales.CauseTryAdvice(c.ID)) || c.TryTitle != text(locales.CauseTryTitle(c.ID))) ||
					!c.ContactCanTry && (c.TryAdvice != wantTry || c.TryTitle != wantTry) {
					t.Errorf("cause %s try_title, try_advice = %q, %q; want its thing to try only when contact_can_try", c.ID, c.TryTitle, c.TryAdvice)
				}
				if c.ArticleURL != answer.ArticleURL(ts.policy.Catalog, tc.lang, c.ID) {
					t.Errorf("cause %s article_url = %q; want %q", c.ID, c.ArticleURL, answer.ArticleURL(ts.policy.Catalog, tc.lang, c.ID))
				}
			}
			var names, asked []string
			for _, f := range got.Facts {
				names = append(names, f.Name)
				decl, _ := ts.policy.Catalog.Fact(f.Name)
				askable, kind := decl.Asked(), knowledge.QuestionType(decl.Type)
				switch {
				case askable && f.Question == nil:
					t.Errorf("fact %s has no question; want one", f.Name)
				case !askable && f.Question != nil:
					t.Errorf("fact %s has question %+v; want none", f.Name, f.Question)
				case askable:
					asked = append(asked, f.Name)
					if f.Question.Type != kind || f.Question.Text != text(locales.Question(f.Name)) {
						t.Errorf("fact %s question = %+v; want %s %q", f.Name, *f.Question, kind, text(locales.Question(f.Name)))
					}
				}
			}
			if want := factNames(ts.policy.Catalog); !slices.Equal(names, want) {
				t.Errorf("facts = %v; want every declared fact in asking order %v", names, want)
			}
			if !slices.Equal(asked, askOrder) {
				t.Errorf("askable facts in order %v; want the order questions are asked in %v", asked, askOrder)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	ts := newTestServer(t, Config{})
	get := func(path string) (int, api.Readiness) {
		resp, body := ts.do(t, call{path: path})
		var r api.Readiness
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("GET %s body %s: %v", path, body, err)
		}
		return resp.StatusCode, r
	}
	if status, r := get("/healthz"); status != 200 || r.Status != "ok" {
		t.Errorf("GET /healthz = %d %+v; want 200 ok", status, r)
	}
	if status, r := get("/readyz"); status != 200 || r.Status != "ready" || r.Revision != ts.policy.Revision {
		t.Errorf("GET /readyz = %d %+v; want 200 ready at %s", status, r, ts.policy.Revision)
	}
	ts.db.Close()
	if status, r := get("/readyz"); status != 503 || r.Status != "not_ready" {
		t.Errorf("GET /readyz with storage closed = %d %+v; want 503 not_ready", status, r)
	}
	if status, _ := get("/healthz"); status != 200 {
		t.Errorf("GET /healthz with storage closed = %d; want 200", status)
	}

	noRules := mustNew(t, Config{}, publish.New(publish.Config{}, &rules.Engine{}, nil, slog.New(slog.DiscardHandler)), nil, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	noRules.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != 503 {
		t.Errorf("GET /readyz with no rules = %d %s; want 503", rec.Code, rec.Body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t, Config{})
	for _, c := range []call{{path: "/api/v1/causes"}, evaluate(`{"facts":1}`), {path: "/api/v1/nope"}, {path: "/healthz"}} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			resp, _ := ts.do(t, c)
			for header, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "same-origin",
			} {
				if got := resp.Header.Get(header); got != want {
					t.Errorf("%s = %q; want %q", header, got, want)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy = %q; want frame-ancestors 'none'", csp)
			}
			if isAPIPath := strings.HasPrefix(c.path, "/api/"); isAPIPath && resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store on the API", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

// scrape reads /metrics from the server's metrics handler (what the
// --metrics-addr listener serves) and parses it.
func (ts *testServer) scrape(tb testing.TB) map[string]*dto.MetricFamily {
	tb.Helper()
	rec := httptest.NewRecorder()
	ts.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	resp, body := rec.Result(), rec.Body.Bytes()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("GET /metrics: %v\n%s", err, body)
	}
	return fams
}

// metricValue is the value of the series of name with exactly labels: a
// counter's or gauge's value, a histogram's count; -1 when there is none.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	fam, ok := fams[name]
	if !ok {
		return -1
	}
	for _, m := range fam.GetMetric() {
		got := make(map[string]string)
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if !reflect.DeepEqual(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, Config{})
	r := ts.mustEvaluate(t, evaluate(specExample))
	ts.do(t, evaluate(`{"facts":{"online":"no"}}`))
	ts.do(t, call{path: "/api/v1/no-such-thing-ana@example.com"})
	fams := ts.scrape(t)

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"acceso_http_requests_total", map[string]string{"route": "/api/v1/evaluate", "method": "POST", "status": "200"}, 1},
		{"acceso_http_requests_total", map[string]string{"route": "/api/v1/evaluate", "method": "POST", "status": "400"}, 1},
		{"acceso_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "404"}, 1},
		{"acceso_http_request_duration_seconds", map[string]string{"route": "/api/v1/evaluate", "method": "POST"}, 2},
		{"acceso_evaluations_total", map[string]string{"outcome": r.Outcome}, 1},
		{"acceso_evaluation_duration_seconds", map[string]string{}, 1},
		{"acceso_policy_revision", map[string]string{"revision": ts.policy.Revision}, 1},
	}
	for _, f := range r.Findings {
		tests = append(tests, struct {
			name   string
			labels map[string]string
			want   float64
		}{"acceso_findings_total", map[string]string{"cause": f.ID}, 1})
	}
	for _, tc := range tests {
		if got := metricValue(fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v; want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "no-such-thing") {
					t.Errorf("%s has label %s=%q: a raw path; want route patterns only", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestLogsHoldNoPersonalData(t *testing.T) {
	ts := newTestServer(t, Config{})
	personal := []string{
		"ana.garcia@example.com", "Ana.Garcia@Example.COM", "backup.ana@correo.example.org",
		"+34 600-111 222", "+34600111222", "600111222", "600-111 222",
		"+1 (555) 010-9999", "5550109999",
	}
	email, phone := personal[0], personal[3]
	long := strings.Repeat(email, 20)
	calls := []call{
		evaluate(fmt.Sprintf(`{"facts":{"identifier":%q,"registered_emails":[%q,%q],"registered_phones":[%q,%q]}}`, personal[1], email, personal[2], phone, personal[7])),
		evaluate(fmt.Sprintf(`{"symptom":"code_not_received","facts":{"identifier":%q,"registered_phones":[%q],"channels_tried":["sms"]}}`, personal[4], personal[6])),
		evaluate(fmt.Sprintf(`{"facts":{"identifier":%q,"identifier_registered":false}}`, personal[8])),
		evaluate(fmt.Sprintf(`{"facts":{"online":%q,"vpn":%q}}`, email, phone)),
		evaluate(fmt.Sprintf(`{%q:%q,"facts":{"email":%q,"phone":%q}}`, email, phone, personal[2], personal[5])),
		evaluate(fmt.Sprintf(`{"facts":{"identifier":%q,"registered_emails":[%q]`, email, personal[2])),
		evaluate(fmt.Sprintf(`{"facts":{"identifier":%q}}`, long)),
		evaluate(fmt.Sprintf(`{"facts":{"registered_emails":[%q,%q]}}`, email, long)),
		evaluate(fmt.Sprintf(`{"facts":{"identifier":%q,"registered_emails":["%s"]}}`, email, strings.Repeat(email, answer.MaxBody/len(email)))),
		evaluate(fmt.Sprintf(`{"lang":%q,"symptom":%q,"facts":{"identifier":%q}}`, email, phone, personal[2])),
		{method: "POST", path: "/api/v1/evaluate", contentType: "text/plain", body: email + " " + phone},
		{method: "POST", path: "/api/v1/evaluate?lang=" + email, contentType: "application/json", body: `{}`, header: map[string]string{"Accept-Language": email}},
		{path: "/api/v1/" + email},
		{path: "/api/v1/causes?lang=" + url.QueryEscape(phone)},
	}
	var decisions []string
	for _, c := range calls {
		resp, body := ts.do(t, c)
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(c.path, "/api/v1/evaluate") {
			var r answer.Response
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatal(err)
			}
			if r.DecisionID != "" {
				decisions = append(decisions, r.DecisionID)
			}
		}
	}
	// A request's line is written once its answer is sent: the last one
	// may still be on its way.
	lines := ts.logs.Lines()
	for wait := time.Now().Add(5 * time.Second); len(lines) < len(calls) && time.Now().Before(wait); lines = ts.logs.Lines() {
		time.Sleep(time.Millisecond)
	}
	if len(lines) != len(calls) {
		t.Fatalf("%d log lines for %d requests; want one each (a decision in its request's line)", len(lines), len(calls))
	}
	var logged []string
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("log line is not JSON: %s", line)
			continue
		}
		for _, p := range personal {
			if strings.Contains(strings.ToLower(line), strings.ToLower(p)) {
				t.Errorf("log line holds personal data %q: %s", p, line)
			}
		}
		if entry["msg"] == "decision" {
			id, _ := entry["decision_id"].(string)
			logged = append(logged, id)
			for _, key := range []string{"revision", "symptoms", "outcome", "findings", "duration_ms"} {
				if _, ok := entry[key]; !ok {
					t.Errorf("decision log line has no %s: %s", key, line)
				}
			}
		}
	}
	if len(decisions) < 3 || !slices.Equal(logged, decisions) {
		t.Errorf("decision log ids = %v; want one line per answer %v", logged, decisions)
	}
}

func TestRunShutsDownGracefully(t *testing.T) {
	s, _, _, logs := newServer(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	s.Echo().Listener = ln
	// The test learns that the request reached the handlers (the server
	// drops a request whose headers arrive as shutdown begins, before any
	// handler runs: that one is not in flight yet).
	handling := make(chan struct{}, 1)
	s.Echo().Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			select {
			case handling <- struct{}{}:
			default:
			}
			return next(c)
		}
	})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx, 10*time.Second) }()

	client := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	// The request in flight: headers and the first bytes of the body are
	// sent, the rest follows only after shutdown has begun.
	body, slow := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/evaluate", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- result{resp.StatusCode, b, err}
	}()
	if _, err := slow.Write([]byte(specExample[:20])); err != nil {
		t.Fatal(err)
	}
	select {
	case <-handling:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the handlers")
	}

	stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if err == nil {
			conn.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial 5s after shutdown began: %v; want connection refused", err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	if _, err := slow.Write([]byte(specExample[20:])); err != nil {
		t.Fatal(err)
	}
	slow.Close()
	res := <-answered
	if res.err != nil || res.status != http.StatusOK {
		t.Fatalf("request in flight during shutdown = %d %s, %v; want 200\nlogs:\n%s", res.status, res.body, res.err, strings.Join(logs.Lines(), "\n"))
	}
	var r answer.Response
	if err := json.Unmarshal(res.body, &r); err != nil || r.DecisionID == "" {
		t.Errorf("request in flight answered %s; want a decision", res.body)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v; want nil after a graceful shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run did not return after the last request finished")
	}
}

// BenchmarkEvaluateAPI measures one POST /api/v1/evaluate of SPEC's example
// through the whole handler chain (middleware, decoding, rules, texts, JSON,
// logs and metrics), without the network: `go test -bench EvaluateAPI
// -cpuprofile cpu.out ./server/` shows where a request's time goes.
func BenchmarkEvaluateAPI(b *testing.B) {
	s, _, _, _ := newServer(b, Config{})
	s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := s.Handler()
	body := []byte(specExample)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/evaluate", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("POST /api/v1/evaluate = %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkEvaluateMixAPI sends the shared mix (../shared/bench/mix.jsonl:
// 500 distinct requests, a third with personal facts to derive from) in
// turn through the whole handler chain, as the load test does but without
// the network; the decisions are reused after a first pass that is not
// timed, and kept in the database. `-cpuprofile` shows the API's share of each part.
func BenchmarkEvaluateMixAPI(b *testing.B) {
	mix, err := interop.ReadMix(filepath.Join("..", "..", "shared", "bench", "mix.jsonl"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal(err)
		}
		b.Skip(err)
	}
	s, _, _, _ := newServer(b, Config{APIRate: 1e9, APIBurst: 1e9})
	s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := s.Handler()
	// The whole mix once first, as the load test's warm-up does: the
	// figures are then those of a decision-cache hit.
	for _, body := range mix {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/evaluate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	b.ReportAllocs()
	b.ResetTimer()
	postInTurn(b, h, mix)
}

// BenchmarkHealthzAPI sends GET /healthz through the same handler chain
// as BenchmarkEvaluateMixAPI: the reference its figures are read beside
// (evaluate/healthz, in CPU and allocations per request).
func BenchmarkHealthzAPI(b *testing.B) {
	s, _, _, _ := newServer(b, Config{APIRate: 1e9, APIBurst: 1e9})
	s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := s.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("GET /healthz = %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// TestProbesAnswerHEAD checks that the probes answer HEAD as they answer
// GET, without the body: some load balancers probe with HEAD.
func TestProbesAnswerHEAD(t *testing.T) {
	ts := newTestServer(t, Config{})
	for _, path := range []string{"/healthz", "/readyz"} {
		t.Run(path, func(t *testing.T) {
			get, _ := ts.do(t, call{path: path})
			head, body := ts.do(t, call{method: http.MethodHead, path: path})
			if head.StatusCode != http.StatusOK || get.StatusCode != http.StatusOK {
				t.Fatalf("HEAD %s = %d, GET = %d; want 200 both", path, head.StatusCode, get.StatusCode)
			}
			if len(body) != 0 {
				t.Errorf("HEAD %s has a body of %d bytes; want none", path, len(body))
			}
			if got, want := head.Header.Get("Content-Type"), get.Header.Get("Content-Type"); got != want {
				t.Errorf("HEAD %s Content-Type = %q; want %q as GET", path, got, want)
			}
		})
	}
}

// postInTurn posts the bodies of mix to POST /api/v1/evaluate in turn,
// from every goroutine of the benchmark, b.N in all; each must be
// answered 200.
func postInTurn(b *testing.B, h http.Handler, mix [][]byte) {
	var sent atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := mix[sent.Add(1)%uint64(len(mix))]
			req := httptest.NewRequest(http.MethodPost, "/api/v1/evaluate", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("POST /api/v1/evaluate %s = %d %s", body, rec.Code, rec.Body)
			}
		}
	})
}

// TestEvaluateSaysItsLength checks that an evaluate answer carries its
// Content-Length, a long one too: net/http would send a body of more than
// 2 KB that the handler did not measure chunked.
func TestEvaluateSaysItsLength(t *testing.T) {
	ts := newTestServer(t, Config{})
	long := false
	for _, body := range []string{`{}`, `{"lang":"en"}`, specExample} {
		resp, got := ts.do(t, evaluate(body))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/v1/evaluate %s = %d %s; want 200", body, resp.StatusCode, got)
		}
		if resp.ContentLength != int64(len(got)) || len(resp.TransferEncoding) != 0 {
			t.Errorf("POST /api/v1/evaluate %s: Content-Length %d, Transfer-Encoding %v, %d bytes; want Content-Length %d and no transfer encoding",
				body, resp.ContentLength, resp.TransferEncoding, len(got), len(got))
		}
		long = long || len(got) > 2048
	}
	if !long {
		t.Error("no answer over 2,048 bytes: the test needs a request with a long answer")
	}
}
