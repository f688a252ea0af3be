package server

import (
	"bytes"
	"context"
	"encoding/json"
	stdhtml "html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"acceso/answer"
	"acceso/apikey"
	"acceso/internal/pgtest"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/api"
	"acceso/store"
)

// newTestServerOn is newTestServer on the database db.
func newTestServerOn(tb testing.TB, db *store.DB, cfg Config) *testServer {
	tb.Helper()
	p, err := testPolicy()
	if err != nil {
		tb.Fatal(err)
	}
	if cfg.APIRate == 0 {
		cfg.APIRate, cfg.APIBurst = 1e6, 1e6
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := mustNew(tb, cfg, publish.New(publish.Config{}, rules.NewEngine(p), db, log), db, log)
	hs := httptest.NewServer(s.Handler())
	tb.Cleanup(hs.Close)
	return &testServer{Server: s, URL: hs.URL, policy: p, db: db, logs: logs}
}

// withKey is c sent with the API key key.
func withKey(c call, key string) call {
	c.header = map[string]string{"Authorization": "Bearer " + key}
	return c
}

// getDecision is GET /api/v1/decisions/{typed}?lang=en.
func getDecision(typed string) call {
	return call{path: "/api/v1/decisions/" + url.PathEscape(typed) + "?lang=en"}
}

// continueDecisionCall is POST /api/v1/decisions/{typed}/continue with body.
func continueDecisionCall(typed, body string) call {
	return call{method: http.MethodPost, path: "/api/v1/decisions/" + url.PathEscape(typed) + "/continue", contentType: "application/json", body: body}
}

// decodeDecision reads a 200 answer of the decisions API.
func decodeDecision(t *testing.T, c call, resp *http.Response, body []byte) api.KeptDecision {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d %s; want 200", c.method, c.path, resp.StatusCode, body)
	}
	var d api.KeptDecision
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s %s answered %s: %v", c.method, c.path, body, err)
	}
	return d
}

// causeIDs are the ids of causes.
func toTryIDs(causes []answer.ToTry) []string {
	ids := make([]string, len(causes))
	for i, c := range causes {
		ids[i] = c.ID
	}
	return ids
}

func causeIDs(causes []api.DecisionCause) []string {
	ids := []string{}
	for _, c := range causes {
		ids = append(ids, c.ID)
	}
	return ids
}

// lookupPage reads what the admin look-up page shows: the facts of its
// continue form (the admin questions) and the causes of its result section
// (the findings, continued with the admin's answers).
func lookupPage(t *testing.T, page string) (questions, now []string) {
	t.Helper()
	doc := parseHTML(t, page)
	if form := first(doc, hasClass("continue")); form != nil {
		for _, in := range findAll(form, element("input")) {
			if name := attr(in, "name"); attr(in, "type") == "radio" && !slices.Contains(questions, name) {
				questions = append(questions, name)
			}
		}
	}
	now = []string{}
	if section := first(doc, hasClass("result")); section != nil {
		for _, n := range findAll(section, func(n *html.Node) bool { return attr(n, "data-cause") != "" }) {
			now = append(now, attr(n, "data-cause"))
		}
	}
	return questions, now
}

// TestDecisionsAPI runs the decisions API on SQLite and on PostgreSQL: a
// contact's reference read and continued by a ticket app, every refusal,
// a key removed; on SQLite the database file is searched for the keys.
func TestDecisionsAPI(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		dir := t.TempDir()
		db, err := store.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		ts := newTestServerOn(t, db, Config{})
		keys := testDecisionsAPI(t, ts)
		ts.Close()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		// The hash of the key still stored is there: the files searched
		// are the database.
		if !bytes.Contains(all, apikey.Hash(keys[1])) {
			t.Fatalf("the files of %s do not hold the hash of the key kept; the search below would prove nothing", dir)
		}
		for _, key := range keys {
			if bytes.Contains(all, []byte(key)) || bytes.Contains(all, []byte(strings.TrimPrefix(key, apikey.Prefix))) {
				t.Errorf("the database in %s holds an API key in clear", dir)
			}
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		db, err := store.OpenURL(context.Background(), pgtest.Start(t).NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		ts := newTestServerOn(t, db, Config{})
		t.Cleanup(ts.Close)
		testDecisionsAPI(t, ts)
	})
}

// testDecisionsAPI follows a contact to an outcome of the self-diagnosis,
// then a ticket app reads and continues its reference with an API key,
// and an admin looks it up: both see the same questions and findings. It
// returns the keys it made: one removed, one kept.
func testDecisionsAPI(t *testing.T, ts *testServer) []string {
	ctx := context.Background()
	desk, err := apikey.Add(ctx, ts.db, "desk", []string{apikey.ScopeDecisionsRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bare, err := apikey.Add(ctx, ts.db, "bare", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	contact := newClient(t, ts.URL)
	path := "/en/diagnose/code_not_received/channels_tried=email-sms/spam_checked=yes/online=yes/"
	resp, page := contact.get(t, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", path, resp.StatusCode)
	}
	ref := readDiagnose(t, page).reference
	if !goldenReference.MatchString(ref) {
		t.Fatalf("GET %s shows no reference", path)
	}
	a := signedInAdmin(t, ts)
	_, before := a.get(t, "/admin/decisions?reference="+ref, "Accept-Language", "en")
	lookupQuestions, _ := lookupPage(t, before)
	_, after := a.get(t, "/admin/decisions?reference="+ref+"&opted_out=yes&identifier_registered=yes", "Accept-Language", "en")
	_, lookupNow := lookupPage(t, after)
	if len(lookupQuestions) == 0 || len(lookupNow) == 0 {
		t.Fatalf("the admin look-up shows questions %v and, continued, findings %v; want some of each", lookupQuestions, lookupNow)
	}

	// Read, as a support agent types the reference.
	typed := strings.ToLower(strings.ReplaceAll(ref, "-", " "))
	c := withKey(getDecision(typed), desk)
	resp, body := ts.do(t, c)
	got := decodeDecision(t, c, resp, body)
	kept, err := ts.db.Decision(ctx, ref)
	if err != nil {
		t.Fatalf("Decision(%s) = %v", ref, err)
	}
	if got.Reference != ref || got.Source != "site" || got.PolicyRevision != kept.Revision || !got.DecidedAt.Equal(kept.At) ||
		got.Symptom == nil || got.Symptom.ID != "code_not_received" || got.Lang != "en" {
		t.Errorf("GET %s = %+v; want %s, from the site, its revision, time and symptom, in English", c.path, got, ref)
	}
	if got.Outcome != kept.Outcome || !slices.Equal(causeIDs(got.Findings), kept.Findings) && len(kept.Findings) > 0 {
		t.Errorf("GET %s: outcome %s, findings %v; want the kept %s, %v", c.path, got.Outcome, causeIDs(got.Findings), kept.Outcome, kept.Findings)
	}
	// What the contact can still try is what evaluate answers for the same
	// facts (here: is the email or phone the registered one).
	resp, body = ts.do(t, evaluate(`{"symptom":"code_not_received","lang":"en","facts":{"channels_tried":["email","sms"],"spam_checked":true,"online":true}}`))
	var evaluated answer.Response
	if err := json.Unmarshal(body, &evaluated); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/evaluate = %d, %v", resp.StatusCode, err)
	}
	if len(got.ToTry) == 0 || !slices.Equal(toTryIDs(got.ToTry), toTryIDs(evaluated.ToTry)) {
		t.Errorf("GET %s: to_try %v; want evaluate's for the same facts, %v", c.path, toTryIDs(got.ToTry), toTryIDs(evaluated.ToTry))
	}
	l := locales.NewLocalizer(ts.policy.Texts, "en")
	var answered []string
	for _, ans := range got.Answers {
		answered = append(answered, ans.Fact)
		if ans.Question != l.T(locales.Question(ans.Fact)) || ans.Answer == "" {
			t.Errorf("GET %s: answer %+v; want its question in English and the answer in words", c.path, ans)
		}
	}
	if want := []string{"channels_tried", "spam_checked", "online"}; !slices.Equal(answered, want) {
		t.Errorf("GET %s answers %v; want the contact's %v", c.path, answered, want)
	}
	var asked []string
	for _, q := range got.Questions {
		asked = append(asked, q.Fact)
		if q.AskedOf != knowledge.AskedOfAdmin || q.Help == "" || !strings.Contains(before, stdhtml.EscapeString(q.Help)) {
			t.Errorf("GET %s asks %+v; want only admin questions, with the help the admin look-up shows", c.path, q)
		}
	}
	slices.Sort(asked)
	slices.Sort(lookupQuestions)
	if !slices.Equal(asked, lookupQuestions) {
		t.Errorf("GET %s asks %v; the admin look-up asks %v", c.path, asked, lookupQuestions)
	}

	// Continue with what the agent checked on the contact card.
	c = withKey(continueDecisionCall(ref, `{"lang":"en","facts":{"opted_out":true,"identifier_registered":true}}`), desk)
	resp, body = ts.do(t, c)
	cont := decodeDecision(t, c, resp, body)
	if ids := causeIDs(cont.Findings); !slices.Equal(ids, lookupNow) {
		t.Errorf("POST %s finds %v; the admin look-up finds %v", c.path, ids, lookupNow)
	}
	if cont.Outcome != knowledge.OutcomeCausesFound || cont.ContinuedRevision != ts.policy.Revision || slices.ContainsFunc(cont.Questions, func(q answer.Question) bool { return q.Fact == "opted_out" }) {
		t.Errorf("POST %s = outcome %s, revision %q, questions %v; want causes found by the revision served, opted_out no longer asked", c.path, cont.Outcome, cont.ContinuedRevision, cont.Questions)
	}
	if !slices.ContainsFunc(cont.Answers, func(a api.DecisionAnswer) bool {
		return a.Fact == "opted_out" && a.AskedOf == knowledge.AskedOfAdmin && a.Value == true && a.Answer == l.T("AnswerYes")
	}) {
		t.Errorf("POST %s answers %+v; want the agent's opted_out among them", c.path, cont.Answers)
	}

	// A continue with nothing answered is the decision continued as it is.
	c = withKey(continueDecisionCall(ref, `{"facts":{"opted_out":null}}`), desk)
	resp, body = ts.do(t, c)
	if same := decodeDecision(t, c, resp, body); same.ContinuedRevision != ts.policy.Revision || same.Outcome != kept.Outcome || len(same.Questions) != len(got.Questions) {
		t.Errorf("POST %s = %s; want the kept decision continued by the revision served, every admin question still open", c.path, body)
	}

	// Every refusal, each with its status and code; the key and scope are
	// checked before the reference, so both references get one answer.
	missing := "3333-3333"
	for _, tc := range []struct {
		name   string
		call   call
		status int
		code   string
	}{
		{"no key", getDecision(ref), 401, "unauthorized"},
		{"no key, unknown reference", getDecision(missing), 401, "unauthorized"},
		{"a key never made", withKey(getDecision(ref), apikey.Prefix+strings.Repeat("A", 43)), 401, "unauthorized"},
		{"not a key", withKey(getDecision(ref), "let me in"), 401, "unauthorized"},
		{"basic auth", call{path: getDecision(ref).path, header: map[string]string{"Authorization": "Basic ZGVzazp4"}}, 401, "unauthorized"},
		{"no scope", withKey(getDecision(ref), bare), 403, "forbidden"},
		{"no scope, unknown reference", withKey(getDecision(missing), bare), 403, "forbidden"},
		{"no scope, malformed reference", withKey(getDecision("nope"), bare), 403, "forbidden"},
		{"unknown reference", withKey(getDecision(missing), desk), 404, "not_found"},
		{"malformed reference", withKey(getDecision("K7M4-QX2"), desk), 400, "bad_request"},
		{"look-alike letters", withKey(getDecision("B00S-1ILZ"), desk), 400, "bad_request"},
		{"continue: no key", continueDecisionCall(ref, `{}`), 401, "unauthorized"},
		{"continue: no scope", withKey(continueDecisionCall(ref, `{"facts":{"opted_out":true}}`), bare), 403, "forbidden"},
		{"continue: unknown reference", withKey(continueDecisionCall(missing, `{}`), desk), 404, "not_found"},
		{"continue: unknown field", withKey(continueDecisionCall(ref, `{"facts":{},"extra":1}`), desk), 400, "invalid_facts"},
		{"continue: a contact's fact", withKey(continueDecisionCall(ref, `{"facts":{"vpn":true}}`), desk), 400, "invalid_facts"},
		{"continue: a personal fact", withKey(continueDecisionCall(ref, `{"facts":{"identifier":"ana@example.com"}}`), desk), 400, "invalid_facts"},
		{"continue: a symptom", withKey(continueDecisionCall(ref, `{"symptom":"code_not_accepted"}`), desk), 400, "invalid_facts"},
		{"continue: wrong type", withKey(continueDecisionCall(ref, `{"facts":{"opted_out":"yes"}}`), desk), 400, "invalid_facts"},
		{"continue: not JSON", withKey(continueDecisionCall(ref, `opted_out=yes`), desk), 400, "invalid_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.do(t, tc.call)
			var e struct{ Error struct{ Code string } }
			if err := json.Unmarshal(body, &e); resp.StatusCode != tc.status || err != nil || e.Error.Code != tc.code {
				t.Errorf("%s %s = %d %s; want %d %s", cmpOr(tc.call.method, "GET"), tc.call.path, resp.StatusCode, body, tc.status, tc.code)
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: 401 without WWW-Authenticate: Bearer", tc.name)
			}
			if tc.status == http.StatusForbidden && strings.Contains(string(body), "reference") {
				t.Errorf("%s: the 403 speaks of the reference: %s", tc.name, body)
			}
		})
	}

	// The evaluate API stays open; a key there must be a valid one.
	for _, tc := range []struct {
		name   string
		call   call
		status int
	}{
		{"anonymous", evaluate(`{}`), 200},
		{"a key without scope", withKey(evaluate(`{}`), bare), 200},
		{"an invalid key", withKey(evaluate(`{}`), "acc_nope"), 401},
		{"a proxy's Basic authentication", call{method: http.MethodPost, path: "/api/v1/evaluate", contentType: "application/json", body: `{}`,
			header: map[string]string{"Authorization": "Basic ZGVzazp4"}}, 200},
	} {
		if resp, body := ts.do(t, tc.call); resp.StatusCode != tc.status {
			t.Errorf("evaluate, %s = %d %s; want %d", tc.name, resp.StatusCode, body, tc.status)
		}
	}

	// The keys are listed with their last use, in the store and in the
	// admin area, never with the key.
	keys, err := ts.db.APIKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].LastUsed.IsZero() || keys[1].LastUsed.IsZero() {
		t.Errorf("APIKeys = %+v, %v; want bare and desk, both used", keys, err)
	}
	resp, page = a.get(t, "/admin/keys", "Accept-Language", "en")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-key="desk"`) || !strings.Contains(page, `data-key="bare"`) ||
		strings.Contains(page, desk) || strings.Contains(page, bare) {
		t.Errorf("GET /admin/keys = %d; want desk and bare listed, without their keys\n%s", resp.StatusCode, page)
	}

	// A purged decision is as unknown as one never made.
	if _, err := ts.db.PurgeDecisions(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if resp, body := ts.do(t, withKey(getDecision(ref), desk)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s once purged = %d %s; want 404", ref, resp.StatusCode, body)
	}

	// A key removed is refused from the next request on.
	if err := ts.db.RemoveAPIKey(ctx, "desk"); err != nil {
		t.Fatal(err)
	}
	if resp, body := ts.do(t, withKey(getDecision(ref), desk)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET with a removed key = %d %s; want 401", resp.StatusCode, body)
	}

	for _, line := range ts.logs.Lines() {
		for _, key := range []string{desk, bare} {
			if strings.Contains(line, strings.TrimPrefix(key, apikey.Prefix)) {
				t.Errorf("the log holds an API key: %s", line)
			}
		}
	}
	return []string{desk, bare}
}

// TestAPIKeyRateLimit: a request with a valid key is limited per key, one
// without per address, and a key that is not valid gets no bucket of its
// own.
func TestAPIKeyRateLimit(t *testing.T) {
	ts := newTestServer(t, Config{APIRate: 0.01, APIBurst: 2})
	ctx := context.Background()
	var keys []string
	for _, name := range []string{"a", "b"} {
		k, err := apikey.Add(ctx, ts.db, name, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	steps := []struct {
		who    string
		call   call
		status int
	}{
		{"anonymous", evaluate(`{}`), 200},
		{"anonymous", evaluate(`{}`), 200},
		{"anonymous, over", evaluate(`{}`), 429},
		{"key a", withKey(evaluate(`{}`), keys[0]), 200},
		{"key a", withKey(evaluate(`{}`), keys[0]), 200},
		{"key a, over", withKey(evaluate(`{}`), keys[0]), 429},
		{"key b", withKey(evaluate(`{}`), keys[1]), 200},
		{"an invalid key, counted against the address", withKey(evaluate(`{}`), "acc_nope"), 429},
	}
	for i, s := range steps {
		if resp, body := ts.do(t, s.call); resp.StatusCode != s.status {
			t.Errorf("request %d (%s) = %d %s; want %d", i+1, s.who, resp.StatusCode, body, s.status)
		}
	}
}
