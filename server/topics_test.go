package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/rego"

	"acceso/answer"
	"acceso/internal/interop"
	"acceso/internal/topictest"
	"acceso/publish"
	"acceso/rules"
)

// The second topic's token for its OPA bundle, and the site's public
// address for its sitemap.
const (
	topicBundleToken = "a-bundle-token-of-32-characters-at-least"
	topicBaseURL     = "https://help.example.com"
)

// topicSamples are requests of the second topic, each with the causes the
// rules find: named by topic, by symptom only, and by both.
var topicSamples = []struct {
	body     string
	findings []string
}{
	{`{"topic":"notifications","lang":"en","facts":{}}`, nil},
	{`{"topic":"notifications","symptom":"notifications_missing","lang":"en","facts":{"do_not_disturb":true}}`, []string{"do_not_disturb_on"}},
	{`{"symptom":"notifications_late","lang":"es","facts":{"battery_saver":true}}`, []string{"battery_saver_on"}},
	{`{"topic":"notifications","facts":{"notifications_allowed":false,"signed_in_app":false}}`, []string{"notifications_blocked", "app_signed_out"}},
	{`{"topic":"notifications","facts":{"notifications_allowed":true,"do_not_disturb":false,"battery_saver":false,"signed_in_app":true}}`, nil},
}

// TestAddATopic adds a second topic (notifications that do not arrive on
// the phone: two symptoms, four causes, its article, its explanations and
// its texts in both languages) as new files only and no Go: to a folder
// written by rules init, served with --rules DIR, and through the admin
// area's draft (Add a file), published. Every surface serves it
// (checkTopic); login stays the default topic, at the addresses of before.
func TestAddATopic(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: a topic is added two ways and every surface is walked, the export crawled; make test and CI run it")
	}
	t.Parallel()
	cfg := Config{BundleToken: topicBundleToken, BaseURL: topicBaseURL, DiagnoseBurst: 1 << 30}
	t.Run("--rules DIR", func(t *testing.T) {
		checkTopic(t, serveRulesDir(t, topictest.Dir(t), cfg))
	})

	t.Run("the admin draft", func(t *testing.T) {
		ts := newTestServer(t, cfg, publish.Config{Deadline: loadedDeadline})
		a := signedInAdmin(t, ts)
		files := topictest.Files(t)
		for _, path := range slices.Sorted(maps.Keys(files)) {
			resp, body := a.submit(t, "/admin/draft", "/admin/draft/add", url.Values{"file": {path}, "text": {files[path]}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("adding %s to the draft = %d; want 303\n%s", path, resp.StatusCode, problemsIn(body))
			}
		}
		// A file the rules have already, or one outside a topic's folder,
		// is not a new file.
		for _, path := range []string{"rules/login/causes.rego", "rules/notifications/sub/x.rego", "locales/active.es.toml"} {
			if resp, _ := a.submit(t, "/admin/draft", "/admin/draft/add", url.Values{"file": {path}, "text": {"x"}}); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("adding %s to the draft = %d; want 422", path, resp.StatusCode)
			}
		}
		sample := `{"topic":"notifications","facts":{"do_not_disturb":true}}`
		resp, body := a.submit(t, "/admin/draft", "/admin/draft", url.Values{"action": {"publish"}, "sample": {sample}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("publishing the draft = %d; want 303\n%s", resp.StatusCode, problemsIn(body))
		}
		served := ts.engine.Current().Source
		for path, text := range ts.policy.Source.Modules {
			if served.Modules[path] != text {
				t.Errorf("the published draft changed %s; a topic is new files only", path)
			}
		}
		ts.policy = ts.engine.Current()
		checkTopic(t, ts)
		// Support looks a decision of the new topic up by its reference and
		// answers what only an admin can check, in the topic's rules.
		_, b := ts.do(t, evaluate(`{"topic":"notifications","symptom":"notifications_missing","facts":{"notifications_allowed":true,"do_not_disturb":false}}`))
		var r answer.Response
		if err := json.Unmarshal(b, &r); err != nil || r.Reference == "" {
			t.Fatalf("POST a request of notifications = %s, %v; want a reference", b, err)
		}
		resp, page := a.get(t, "/admin/decisions?"+url.Values{"reference": {r.Reference}, "signed_in_app": {"no"}}.Encode())
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-cause="app_signed_out"`) || !strings.Contains(page, `/es/notifications/article#app_signed_out`) {
			t.Errorf("the look-up of %s with signed_in_app=no = %d; want it to find app_signed_out, with its section in the topic's article", r.Reference, resp.StatusCode)
		}
		kept, err := ts.db.Decision(context.Background(), r.Reference)
		if err != nil || kept.Topic != topictest.Name {
			t.Errorf("the kept decision %s = %+v, %v; want it kept with its topic", r.Reference, kept, err)
		}
		// Insights count the new topic's decisions under its symptom.
		if _, page := a.get(t, "/admin/insights"); !strings.Contains(page, "No me llega ninguna notificación") {
			t.Errorf("the insights do not name the symptom notifications_missing, of the decision kept")
		}
		// The map of the self-diagnosis shows the new topic's symptoms.
		_, page = a.get(t, "/admin/flow")
		for _, id := range []string{"notifications_missing", "notifications_late", "code_not_received"} {
			if !strings.Contains(page, `id="flow-`+id+`"`) {
				t.Errorf("the map of the self-diagnosis does not show the symptom %s", id)
			}
		}
	})
}

// checkTopic shows every surface of ts serving the second topic beside
// login: the API (by topic, by symptom), the catalog, OpenAPI, the site
// (home, article, explanations, self-diagnosis, the addresses of before),
// the sitemap, the static export (every link and anchor resolving) and the
// OPA bundle, which a stock OPA decides as Acceso does.
func checkTopic(t *testing.T, ts *testServer) {
	t.Helper()
	if got := ts.policy.Catalog.TopicNames(); !slices.Equal(got, []string{"login", topictest.Name}) {
		t.Fatalf("topics = %v; want [login notifications]", got)
	}

	// The API, by topic and by symptom alone.
	for _, tc := range topicSamples {
		resp, b := ts.do(t, evaluate(tc.body))
		var r answer.Response
		if err := json.Unmarshal(b, &r); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("POST %s = %d, %v\n%s", tc.body, resp.StatusCode, err, b)
		}
		var ids []string
		for _, f := range r.Findings {
			ids = append(ids, f.ID)
			if want := "/" + r.Lang + "/notifications/article#" + f.ID; f.ArticleURL != want {
				t.Errorf("POST %s: finding %s links to %s; want %s", tc.body, f.ID, f.ArticleURL, want)
			}
		}
		if r.Topic != topictest.Name || !slices.Equal(ids, tc.findings) {
			t.Errorf("POST %s = topic %q, findings %v; want notifications, %v", tc.body, r.Topic, ids, tc.findings)
		}
	}
	// A request of today: login's answer, with no topic.
	_, b := ts.do(t, evaluate(`{"symptom":"code_not_received","facts":{"channels_tried":["email"],"spam_checked":false}}`))
	if bytes.Contains(b, []byte(`"topic"`)) || !bytes.Contains(b, []byte(`"check_spam"`)) {
		t.Errorf("a request of today answers %s; want login's answer with no topic", b)
	}
	if resp, b := ts.do(t, evaluate(`{"topic":"notifications","facts":{"vpn":true}}`)); resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte(`facts.vpn`)) {
		t.Errorf("a fact of login in the topic notifications = %d %s; want 400 naming facts.vpn", resp.StatusCode, b)
	}

	// The catalog and OpenAPI.
	_, b = ts.do(t, call{path: "/api/v1/causes?lang=en"})
	var cat answer.Catalog
	if err := json.Unmarshal(b, &cat); err != nil {
		t.Fatal(err)
	}
	if len(cat.Topics) != 2 || cat.Topics[1].ID != topictest.Name || cat.Topics[1].Default || !cat.Topics[0].Default {
		t.Errorf("catalog topics = %+v; want login (default), notifications", cat.Topics)
	}
	causes := 0
	for _, c := range cat.Causes {
		if c.Topic == topictest.Name {
			causes++
		}
	}
	if causes != 4 {
		t.Errorf("the catalog lists %d causes of notifications; want 4", causes)
	}
	_, b = ts.do(t, call{path: "/api/openapi.json"})
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for schema, id := range map[string]string{"TopicId": topictest.Name, "SymptomId": "notifications_late", "CauseId": "battery_saver_on"} {
		if enum := doc.Components.Schemas[schema].Enum; !slices.Contains(enum, id) || slices.Contains(enum, "") {
			t.Errorf("OpenAPI %s enum = %v; want it to list %s", schema, enum, id)
		}
	}

	// The site: the home lists both topics and their symptoms; the new
	// topic's pages are below its name; today's addresses keep working.
	web := newClient(t, ts.URL)
	_, home := web.get(t, "/en/")
	for _, want := range []string{"I don&#39;t get notifications", `href="/en/notifications/diagnose/notifications_missing/"`,
		`href="/en/notifications/help"`, `href="/en/notifications/article"`, `href="/en/diagnose/code_not_received/"`, `href="/en/article"`} {
		if !strings.Contains(home, want) {
			t.Errorf("the home page has no %s", want)
		}
	}
	for path, want := range map[string]string{
		"/en/notifications/article":       `id="battery_saver_on"`,
		"/es/notifications/help":          `id="app_signed_out"`,
		"/en/notifications/diagnose/":     `href="/en/notifications/diagnose/notifications_late/"`,
		"/en/article":                     `id="check_spam"`,
		"/es/help":                        `id="vpn_in_use"`,
		"/es/diagnose/code_not_received/": "",
	} {
		resp, body := web.get(t, path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d; want 200 with %s", path, resp.StatusCode, want)
		}
	}
	for path, want := range map[string]string{
		"/en/login/article":                     "/en/article",
		"/es/login/diagnose/code_not_received/": "/es/diagnose/code_not_received/",
		"/en/diagnose/notifications_missing/":   "/en/notifications/diagnose/notifications_missing/",
		"/es/notifications":                     "/es/notifications/",
		"/en/login":                             "/en/",
	} {
		resp, _ := web.do(t, http.MethodGet, path, nil)
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("GET %s = %d to %q; want 301 to %s", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, path := range []string{"/en/billing/article", "/en/billing"} {
		if resp, _ := web.get(t, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d; want 404: no topic billing", path, resp.StatusCode)
		}
	}
	// The self-diagnosis of the new topic, walked by its links to an outcome.
	path := "/en/notifications/diagnose/notifications_missing/"
	for _, answer := range []string{"notifications_allowed=yes/", "do_not_disturb=yes/"} {
		resp, body := web.get(t, path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="`+path+answer+`"`) {
			t.Fatalf("GET %s = %d; want the question with a link to %s", path, resp.StatusCode, path+answer)
		}
		path += answer
	}
	_, outcome := web.get(t, path)
	if !strings.Contains(outcome, "Do not disturb is on") || !strings.Contains(outcome, `href="/en/notifications/help#do_not_disturb_on"`) {
		t.Errorf("the outcome at %s does not find do_not_disturb_on with its explanation", path)
	}

	// The sitemap.
	_, sitemap := web.get(t, "/sitemap.xml")
	for _, want := range []string{topicBaseURL + "/es/notifications/article", topicBaseURL + "/en/notifications/diagnose/notifications_late/", topicBaseURL + "/en/article"} {
		if !strings.Contains(sitemap, "<loc>"+want+"</loc>") {
			t.Errorf("the sitemap has no %s", want)
		}
	}

	// The static export: every link and anchor resolves, and both topics'
	// self-diagnoses are reached.
	log := slog.New(slog.DiscardHandler)
	static := mustNew(t, Config{Static: true, BaseURL: topicBaseURL}, publish.New(publish.Config{}, rules.NewEngine(ts.policy), nil, log), nil, log)
	out := filepath.Join(t.TempDir(), "site")
	if _, err := static.Export(context.Background(), out, nil); err != nil {
		t.Fatalf("Export = %v", err)
	}
	seen := crawlExport(t, out)
	for _, p := range []string{"/es/notifications/diagnose/notifications_late/battery_saver=yes/", "/en/notifications/help", "/en/notifications/article", "/es/diagnose/code_not_received/"} {
		if !seen[p] {
			t.Errorf("the crawl of the export did not reach %s", p)
		}
	}

	// The OPA bundle: one root per topic, and a stock OPA decides each
	// topic as Acceso does.
	resp, body := ts.do(t, call{path: "/bundles/acceso.tar.gz", header: map[string]string{"Authorization": "Bearer " + topicBundleToken}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /bundles/acceso.tar.gz = %d", resp.StatusCode)
	}
	bundle, err := opabundle.NewReader(bytes.NewReader(body)).Read()
	if err != nil {
		t.Fatalf("OPA's bundle reader: %v", err)
	}
	if !reflect.DeepEqual(*bundle.Manifest.Roots, []string{"login", topictest.Name}) {
		t.Errorf("the bundle's roots = %v; want [login notifications]", *bundle.Manifest.Roots)
	}
	ctx := context.Background()
	decide := map[string]rego.PreparedEvalQuery{}
	for _, topic := range []string{"login", topictest.Name} {
		pq, err := rego.New(rego.Query(interop.DecisionQuery(topic)), rego.ParsedBundle("acceso", &bundle)).PrepareForEval(ctx)
		if err != nil {
			t.Fatalf("preparing %s on the bundle: %v", interop.DecisionQuery(topic), err)
		}
		decide[topic] = pq
	}
	samples := []struct{ topic, body string }{{"login", bundleSamples[2]}, {"login", `{"facts":{"vpn":true}}`}}
	for _, tc := range topicSamples {
		samples = append(samples, struct{ topic, body string }{topictest.Name, tc.body})
	}
	for _, s := range samples {
		_, b := ts.do(t, evaluate(s.body))
		want, err := interop.FromAPI(b)
		if err != nil {
			t.Fatalf("the API's answer %.200s: %v", b, err)
		}
		rs, err := decide[s.topic].Eval(ctx, rego.EvalInput(opaInput(t, s.body)))
		if err != nil || len(rs) != 1 {
			t.Fatalf("OPA on %s = %v, %v", s.body, rs, err)
		}
		doc, _ := json.Marshal(rs[0].Expressions[0].Value)
		got, err := interop.FromOPA(doc)
		if err != nil {
			t.Fatalf("OPA's decision %.200s: %v", doc, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("OPA decides %s (%s) as\n%+v; Acceso as\n%+v", s.body, interop.DecisionQuery(s.topic), got, want)
		}
	}
}
