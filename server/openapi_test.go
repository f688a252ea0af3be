package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"acceso/answer"
	"acceso/apikey"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/api"
	"acceso/store"
)

// loadOpenAPI loads and validates the document the server serves.
func loadOpenAPI(tb testing.TB) (*openapi3.T, routers.Router) {
	tb.Helper()
	p, err := testPolicy()
	if err != nil {
		tb.Fatal(err)
	}
	body, err := api.OpenAPI(p)
	if err != nil {
		tb.Fatalf("OpenAPI = %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		tb.Fatalf("loading openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatalf("routing openapi.json: %v", err)
	}
	return doc, router
}

// TestOpenAPIDescribesRealTraffic sends real requests to a real server and
// holds each request and each answer to the document: every endpoint,
// every answer and every error row. A request the document calls invalid
// must be one the server refuses.
func TestOpenAPIDescribesRealTraffic(t *testing.T) {
	t.Parallel()
	_, router := loadOpenAPI(t)
	ts := newTestServer(t, Config{})
	limited := newTestServer(t, Config{APIRate: 0.01, APIBurst: 1})
	late := newTestServer(t, Config{EvalTimeout: time.Nanosecond})
	closedDB := newTestServer(t, Config{})
	closedDB.db.Close()
	// A server with no rules fails every evaluation as a bug would: 500.
	broken := &testServer{Server: mustNew(t, Config{}, publish.New(publish.Config{}, &rules.Engine{}, nil, slog.New(slog.DiscardHandler)), nil, slog.New(slog.DiscardHandler))}
	hs := httptest.NewServer(broken.Handler())
	t.Cleanup(hs.Close)
	broken.URL = hs.URL
	// /metrics is served on the metrics listener only.
	metricsOnly := &testServer{Server: ts.Server}
	ms := httptest.NewServer(ts.MetricsHandler())
	t.Cleanup(ms.Close)
	metricsOnly.URL = ms.URL

	// A kept decision and API keys, on the servers the decisions API is
	// called on.
	ref := "K7M4-QX9P"
	desk := seedDecisions(t, ts, ref)
	limitedKey, lateKey := seedDecisions(t, limited, ref), seedDecisions(t, late, ref)
	bare, err := apikey.Add(context.Background(), ts.db, "bare", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	decision := func(typed, key string) call {
		return withKey(call{path: "/api/v1/decisions/" + typed + "?lang=en"}, key)
	}
	cont := func(typed, body, key string) call {
		return withKey(continueDecisionCall(typed, body), key)
	}

	big := `{"facts":{"registered_emails":["` + strings.Repeat("a", answer.MaxBody) + `"]}}`
	tests := []struct {
		name         string
		server       *testServer
		call         call
		status       int
		requestValid bool
	}{
		{"evaluate: the SPEC's example", ts, evaluate(specExample), 200, true},
		{"evaluate: nothing known", ts, evaluate(`{}`), 200, true},
		{"evaluate: nulls are unknowns", ts, evaluate(`{"symptom":null,"lang":null,"facts":{"online":null,"channels_tried":null}}`), 200, true},
		{"evaluate: every fact", ts, evaluate(`{"facts":{"identifier":"+34 600-111 222","registered_emails":["a@example.com"],"registered_phones":["+34600111222"],"identifier_registered":true,"opted_out":false,"channels_tried":["email","sms"],"spam_checked":true,"online":true,"incognito":false,"cookies_autodelete":false,"new_device":false,"message_published":true,"vpn":false,"codes_requested":2,"used_latest_code":true}}`), 200, true},
		{"evaluate: no known cause", ts, evaluate(`{"symptom":"code_needed_often","facts":{"incognito":false,"cookies_autodelete":false,"new_device":false}}`), 200, true},
		{"evaluate: English by query and header", ts, call{method: "POST", path: "/api/v1/evaluate?lang=en", contentType: "application/json; charset=utf-8", body: `{"facts":{"vpn":true}}`, header: map[string]string{"Accept-Language": "en"}}, 200, true},
		{"evaluate: not JSON", ts, evaluate(`symptom=code_not_received`), 400, false},
		{"evaluate: truncated", ts, evaluate(`{"facts":{"online":fal`), 400, false},
		{"evaluate: not an object", ts, evaluate(`[]`), 400, false},
		{"evaluate: a fact of the wrong type", ts, evaluate(`{"facts":{"online":"no"}}`), 400, false},
		{"evaluate: a count out of range", ts, evaluate(`{"facts":{"codes_requested":1001}}`), 400, false},
		{"evaluate: an empty identifier", ts, evaluate(`{"facts":{"identifier":"   "}}`), 400, false},
		{"evaluate: an unknown channel", ts, evaluate(`{"facts":{"channels_tried":["fax"]}}`), 400, false},
		{"evaluate: an unknown field", ts, evaluate(`{"facts":{},"extra":1}`), 400, false},
		{"evaluate: an unknown fact", ts, evaluate(`{"facts":{"onlin":true}}`), 400, false},
		// The document lists the symptoms of the rules it describes.
		{"evaluate: an unknown symptom", ts, evaluate(`{"symptom":"code_lost"}`), 400, false},
		{"evaluate: an empty symptom", ts, evaluate(`{"symptom":""}`), 200, true},
		{"evaluate: over 64 KiB", ts, evaluate(big), 413, false},
		{"evaluate: text/plain", ts, call{method: "POST", path: "/api/v1/evaluate", contentType: "text/plain", body: `{}`}, 415, false},
		{"evaluate: over the rate limit", limited, evaluate(`{}`), 429, true},
		{"evaluate: past the deadline", late, evaluate(specExample), 503, true},
		{"evaluate: internal failure", broken, evaluate(`{}`), 500, true},
		{"causes: Spanish", ts, call{path: "/api/v1/causes"}, 200, true},
		{"causes: English", ts, call{path: "/api/v1/causes?lang=en"}, 200, true},
		{"causes: over the rate limit", limited, call{path: "/api/v1/causes"}, 429, true},
		{"causes: internal failure", broken, call{path: "/api/v1/causes"}, 500, true},
		{"decision: read", ts, decision(ref, desk), 200, true},
		{"decision: read as typed", ts, decision("k7m4%20qx9p", desk), 200, true},
		{"decision: no key", ts, call{path: "/api/v1/decisions/" + ref}, 401, false},
		{"decision: a key never made", ts, decision(ref, "acc_nope"), 401, true},
		{"decision: a key without the scope", ts, decision(ref, bare), 403, true},
		{"decision: unknown", ts, decision("3333-3333", desk), 404, true},
		{"decision: not a reference", ts, decision("0000", desk), 400, true},
		{"decision: over the rate limit", limited, decision(ref, limitedKey), 429, true},
		{"decision: past the deadline", late, decision(ref, lateKey), 503, true},
		{"continue: the SPEC's use", ts, cont(ref, `{"lang":"en","facts":{"opted_out":true,"identifier_registered":null}}`, desk), 200, true},
		{"continue: nothing", ts, cont(ref, `{}`, desk), 200, true},
		{"continue: a contact's fact", ts, cont(ref, `{"facts":{"vpn":true}}`, desk), 400, false},
		{"continue: an unknown field", ts, cont(ref, `{"facts":{},"symptom":"code_not_received"}`, desk), 400, false},
		{"continue: not JSON", ts, cont(ref, `opted_out=yes`, desk), 400, false},
		{"continue: text/plain", ts, withKey(call{method: "POST", path: "/api/v1/decisions/" + ref + "/continue", contentType: "text/plain", body: `{}`}, desk), 415, false},
		{"continue: over 64 KiB", ts, cont(ref, big, desk), 413, false},
		{"continue: no key", ts, continueDecisionCall(ref, `{}`), 401, false},
		{"continue: a key without the scope", ts, cont(ref, `{}`, bare), 403, true},
		{"continue: unknown", ts, cont("3333-3333", `{}`, desk), 404, true},
		{"openapi.json", ts, call{path: "/api/openapi.json"}, 200, true},
		{"healthz", ts, call{path: "/healthz"}, 200, true},
		{"readyz: ready", ts, call{path: "/readyz"}, 200, true},
		{"readyz: storage closed", closedDB, call{path: "/readyz"}, 503, true},
		{"readyz: no rules", broken, call{path: "/readyz"}, 503, true},
		{"metrics", metricsOnly, call{path: "/metrics"}, 200, true},
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: bearerSent}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status == http.StatusTooManyRequests {
				tc.server.do(t, tc.call) // spends the burst
			}
			resp, body := tc.server.do(t, tc.call)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s = %d %s; want %d", tc.call.method, tc.call.path, resp.StatusCode, body, tc.status)
			}

			req := httptest.NewRequest(cmpOr(tc.call.method, http.MethodGet), tc.call.path, strings.NewReader(tc.call.body))
			if tc.call.contentType != "" {
				req.Header.Set("Content-Type", tc.call.contentType)
			}
			for k, v := range tc.call.header {
				req.Header.Set(k, v)
			}
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("openapi.json has no %s %s: %v", req.Method, req.URL.Path, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
			err = openapi3filter.ValidateRequest(context.Background(), in)
			if tc.requestValid && err != nil {
				t.Errorf("openapi.json refuses the request %s: %v", tc.call.body, err)
			}
			if !tc.requestValid && err == nil {
				t.Errorf("openapi.json accepts the request %.200s, which the server refuses with %d", tc.call.body, resp.StatusCode)
			}
			err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in,
				Status:                 resp.StatusCode,
				Header:                 resp.Header,
				Body:                   io.NopCloser(bytes.NewReader(body)),
				Options:                opts,
			})
			if err != nil {
				t.Errorf("openapi.json does not describe the answer %d %.300s: %v", resp.StatusCode, body, err)
			}
		})
	}
}

// TestOpenAPIDescribesUnroutedErrors holds the errors of paths and methods
// the document cannot list (404, 405) to its generic Error schema.
func TestOpenAPIDescribesUnroutedErrors(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	schema := doc.Components.Schemas["Error"].Value
	ts := newTestServer(t, Config{})
	for _, c := range []call{{path: "/api/v1/nope"}, {path: "/api/v1/evaluate"}, {method: "PUT", path: "/api/openapi.json"}} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			resp, body := ts.do(t, c)
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("%s %s answered %d %s; want JSON", c.method, c.path, resp.StatusCode, body)
			}
			if err := schema.VisitJSON(v); err != nil {
				t.Errorf("%s %s answered %d %s, not an Error: %v", c.method, c.path, resp.StatusCode, body, err)
			}
		})
	}
}

// TestOpenAPIMatchesTheCode checks what the document lists against the
// code that decides it: the facts, channels, languages and outcomes, and
// the routes.
func TestOpenAPIMatchesTheCode(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	schemas := doc.Components.Schemas
	facts := schemas["Facts"].Value
	p, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	channels, _ := p.Catalog.Fact("channels_tried")
	enum := func(s *openapi3.Schema) []string {
		var out []string
		for _, v := range s.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	checks := []struct {
		name      string
		got, want []string
	}{
		{"Facts properties", slices.Sorted(maps.Keys(facts.Properties)), slices.Sorted(slices.Values(factNames(p.Catalog)))},
		{"channels_tried items", enum(facts.Properties["channels_tried"].Value.Items.Value), channels.Choices},
		{"EvaluateResponse lang", enum(schemas["EvaluateResponse"].Value.Properties["lang"].Value), locales.Languages},
		{"Catalog lang", enum(schemas["Catalog"].Value.Properties["lang"].Value), locales.Languages},
		{"Decision lang", enum(schemas["Decision"].Value.Properties["lang"].Value), locales.Languages},
		{"Decision outcome", enum(schemas["Decision"].Value.Properties["outcome"].Value),
			[]string{knowledge.OutcomeCausesFound, knowledge.OutcomeNeedsAnswers, knowledge.OutcomeNoKnownCause}},
		{"AdminFacts properties", slices.Sorted(maps.Keys(schemas["AdminFacts"].Value.Properties)), adminFacts(p.Catalog)},
		{"EvaluateResponse outcome", enum(schemas["EvaluateResponse"].Value.Properties["outcome"].Value),
			[]string{knowledge.OutcomeCausesFound, knowledge.OutcomeNeedsAnswers, knowledge.OutcomeNoKnownCause}},
		{"SymptomId", enum(schemas["SymptomId"].Value), p.Catalog.Symptoms},
		{"CauseId", enum(schemas["CauseId"].Value), catalogCauseIDs(p.Catalog)},
		{"EvaluateRequest symptom", enum(schemas["EvaluateRequest"].Value.Properties["symptom"].Value), append([]string{""}, p.Catalog.Symptoms...)},
	}
	for _, c := range checks {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("openapi.json %s = %v; want %v", c.name, c.got, c.want)
		}
	}
	for name, limit := range map[string]uint64{"identifier": knowledge.MaxStringLen} {
		if got := facts.Properties[name].Value.MaxLength; got == nil || *got != limit {
			t.Errorf("openapi.json facts.%s maxLength = %v; want %d", name, got, limit)
		}
	}

	s, _, _, _ := newServer(t, Config{})
	var served []string
	for _, r := range s.Echo().Routes() {
		if strings.HasPrefix(r.Path, "/api/") || slices.Contains([]string{"/healthz", "/readyz", "/metrics"}, r.Path) {
			// Echo's :name is OpenAPI's {name}.
			path := routeParam.ReplaceAllString(r.Path, "{$1}")
			served = append(served, r.Method+" "+path)
		}
	}
	// The metrics listener's one route (see MetricsHandler).
	served = append(served, "GET /metrics")
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if !slices.Equal(served, documented) {
		t.Errorf("routes served = %v; openapi.json documents %v", served, documented)
	}
}

// catalogCauseIDs are the ids of cat's causes, in article order.
func catalogCauseIDs(cat knowledge.Catalog) []string {
	var ids []string
	for _, c := range cat.Causes {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestOpenAPIListsTheRevisionsIDs describes rules with one more cause:
// the document lists it where the API names a cause (and no other
// revision's), so an answer that finds it is described and one naming a
// cause the rules lack is not, wherever the API returns a cause id.
func TestOpenAPIListsTheRevisionsIDs(t *testing.T) {
	ctx := context.Background()
	base, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	cause := spamCause(t, base)
	const added = "enum_probe"
	rule, _ := copyCause(t, base.Source, cause, added)
	src := base.Source.Clone()
	src.Modules[cause.File] += "\n" + rule + "\n"
	for path, text := range src.Docs {
		src.Docs[path] = text + "\n{#" + added + "} Probe.\n"
	}
	for _, lang := range locales.Languages {
		file, err := locales.SetMessages(src.Messages[locales.FileName(lang)],
			locales.Message{ID: locales.CauseTitle(added), Text: "Probe"}, locales.Message{ID: locales.CauseAdvice(added), Text: "Probe"})
		if err != nil {
			t.Fatal(err)
		}
		src.Messages[locales.FileName(lang)] = file
	}
	p, err := rules.Build(ctx, src, rules.Options{SkipTests: true, NoCache: true})
	if err != nil {
		t.Fatalf("building the rules with %s: %v", added, err)
	}
	body, err := api.OpenAPI(p)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the document of the extended rules is not valid OpenAPI 3: %v", err)
	}
	schemas := doc.Components.Schemas
	if ids := schemas["CauseId"].Value.Enum; !slices.Contains(ids, any(added)) || len(ids) != len(base.Catalog.Causes)+1 {
		t.Errorf("CauseId enum = %v; want the %d causes and %s", ids, len(base.Catalog.Causes), added)
	}
	// Each place the API returns a cause id, with the added one and with
	// one no revision has.
	finding := map[string]any{"id": added, "symptom": cause.Symptom, "title": "t", "advice": "a", "article_url": "/en/help#" + added, "because": []any{}}
	places := []struct {
		schema string
		value  func(id string) any
	}{
		{"EvaluateResponse.ruled_out", func(id string) any { return []any{id} }},
		{"Finding", func(id string) any { f := maps.Clone(finding); f["id"] = id; return f }},
		{"ToTry", func(id string) any {
			return map[string]any{"id": id, "symptom": cause.Symptom, "title": "t", "advice": "a", "article_url": "/en/help#" + id}
		}},
		{"Catalog.causes[].id", func(id string) any { return id }},
	}
	for _, pl := range places {
		schema := schemaAt(t, doc, pl.schema)
		if err := schema.VisitJSON(pl.value(added)); err != nil {
			t.Errorf("%s refuses the added cause %s: %v", pl.schema, added, err)
		}
		if err := schema.VisitJSON(pl.value("no_such_cause")); err == nil {
			t.Errorf("%s accepts no_such_cause, which the rules lack", pl.schema)
		}
	}
	// The base rules' document does not list the added cause.
	baseBody, err := api.OpenAPI(base)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(baseBody), added) {
		t.Errorf("the base rules' document names %s", added)
	}
}

// schemaAt is the schema of doc at a path of the form Schema.property
// (an array's items), Schema.property[].property or Schema.
func schemaAt(tb testing.TB, doc *openapi3.T, path string) *openapi3.Schema {
	tb.Helper()
	parts := strings.Split(path, ".")
	ref := doc.Components.Schemas[parts[0]]
	if ref == nil {
		tb.Fatalf("no schema %s", parts[0])
	}
	s := ref.Value
	for _, part := range parts[1:] {
		name, items := strings.CutSuffix(part, "[]")
		prop := s.Properties[name]
		if prop == nil {
			tb.Fatalf("%s: no property %s", path, name)
		}
		s = prop.Value
		if items {
			s = s.Items.Value
		}
	}
	return s
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// routeParam is a path parameter in an Echo route.
var routeParam = regexp.MustCompile(`:([a-z_]+)`)

// adminFacts are the names of the facts only an admin checks, sorted.
func adminFacts(cat knowledge.Catalog) []string {
	var names []string
	for _, f := range cat.Facts {
		if f.AskedOf == knowledge.AskedOfAdmin {
			names = append(names, f.Name)
		}
	}
	slices.Sort(names)
	return names
}

// bearerSent is the document's security check: a bearer token was sent.
// Whether it is a valid one is the server's to say (401), not the
// document's.
func bearerSent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme.Type == "http" && in.SecurityScheme.Scheme == "bearer" &&
		strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return nil
	}
	return errors.New("no bearer token")
}

// seedDecisions keeps a decision under ref in ts's database, as the site
// keeps one, and returns a new key with the scope decisions:read.
func seedDecisions(tb testing.TB, ts *testServer, ref string) string {
	tb.Helper()
	ctx := context.Background()
	_, err := ts.db.AddDecisions(ctx, []store.Kept{{Reference: ref, At: time.Now().UTC(), Source: "site", Revision: ts.policy.Revision,
		Symptom: "code_not_received", Facts: map[string]any{"channels_tried": []string{"email", "sms"}, "spam_checked": true, "online": true},
		Findings: []string{}, Outcome: knowledge.OutcomeNeedsAnswers}})
	if err != nil {
		tb.Fatal(err)
	}
	key, err := apikey.Add(ctx, ts.db, "desk", []string{apikey.ScopeDecisionsRead}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return key
}
