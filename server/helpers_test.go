package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/publish"
	"acceso/rules"
	"acceso/store"
)

// testPolicy is the embedded rules, built once for the whole test binary.
var testPolicy = sync.OnceValues(func() (*rules.Policy, error) {
	return rules.Build(context.Background(), rules.Embedded(), rules.Options{})
})

// syncBuffer is a log sink that tests can read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Lines returns every line written so far.
func (b *syncBuffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// testServer is a real Server behind a real HTTP listener (httptest), with
// its logs captured.
type testServer struct {
	*Server
	URL    string
	policy *rules.Policy
	db     *store.DB
	logs   *syncBuffer
}

// newServer builds a Server on the embedded rules, a fresh SQLite database
// and a captured JSON log. Unless cfg says otherwise, the API's rate limit
// is raised out of the way.
func newServer(tb testing.TB, cfg Config, pcfg ...publish.Config) (*Server, *rules.Policy, *store.DB, *syncBuffer) {
	tb.Helper()
	p, err := testPolicy()
	if err != nil {
		tb.Fatalf("rules.Build(embedded) = %v", err)
	}
	db, err := store.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatalf("store.Open = %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if cfg.APIRate == 0 {
		cfg.APIRate, cfg.APIBurst = 1e6, 1e6
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var pc publish.Config
	if len(pcfg) > 0 {
		pc = pcfg[0]
	}
	return mustNew(tb, cfg, publish.New(pc, rules.NewEngine(p), db, log), db, log), p, db, logs
}

// mustNew is New, failing the test on an error.
func mustNew(tb testing.TB, cfg Config, pub *publish.Publisher, db *store.DB, log *slog.Logger) *Server {
	tb.Helper()
	s, err := New(cfg, pub, db, log)
	if err != nil {
		tb.Fatalf("New = %v", err)
	}
	return s
}

// serveRulesDir serves the rules folder dir (--rules DIR) on a fresh
// store, with cfg and the API's limits lifted, as acceso serve would after
// publish.Load verified the folder as acceso rules test does.
func serveRulesDir(t *testing.T, dir string, cfg Config) *testServer {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("store.Open = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	pub, err := publish.Load(ctx, publish.Config{RulesDir: dir}, db, log)
	if err != nil {
		t.Fatalf("publish.Load(%s) = %v", dir, err)
	}
	cfg.APIRate, cfg.APIBurst = 1e6, 1e6
	s := mustNew(t, cfg, pub, db, log)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: s, URL: hs.URL, policy: s.engine.Current(), db: db}
}

func newTestServer(tb testing.TB, cfg Config, pcfg ...publish.Config) *testServer {
	tb.Helper()
	s, p, db, logs := newServer(tb, cfg, pcfg...)
	hs := httptest.NewServer(s.Handler())
	tb.Cleanup(hs.Close)
	return &testServer{Server: s, URL: hs.URL, policy: p, db: db, logs: logs}
}

// call is one HTTP request a test makes.
type call struct {
	method, path string
	contentType  string
	body         string
	chunked      bool // send the body without a Content-Length
	header       map[string]string
}

// evaluate is a POST of body to /api/v1/evaluate as JSON.
func evaluate(body string) call {
	return call{method: http.MethodPost, path: "/api/v1/evaluate", contentType: "application/json", body: body}
}

func (ts *testServer) do(tb testing.TB, c call) (*http.Response, []byte) {
	tb.Helper()
	var body io.Reader = strings.NewReader(c.body)
	if c.chunked {
		body = io.MultiReader(body) // hides the length
	}
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, ts.URL+c.path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the answer: %v", method, c.path, err)
	}
	return resp, b
}

// browser is an HTTP client as a browser is one: it keeps cookies and does
// not follow redirects. The site and admin tests share it.
type browser struct {
	url    string
	client *http.Client
}

func newClient(tb testing.TB, baseURL string) *browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browser{url: baseURL, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do makes a request; form, when not nil, is posted as a form; header is
// name, value pairs.
func (b *browser) do(tb testing.TB, method, path string, form url.Values, header ...string) (*http.Response, string) {
	tb.Helper()
	var r io.Reader
	if form != nil {
		r = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.url+path, r)
	if err != nil {
		tb.Fatalf("NewRequest(%s %s) = %v", method, path, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s = %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("reading %s %s = %v", method, path, err)
	}
	return resp, string(body)
}

func (b *browser) get(tb testing.TB, path string, header ...string) (*http.Response, string) {
	tb.Helper()
	return b.do(tb, http.MethodGet, path, nil, header...)
}

// factNames are the names of the facts cat declares, in asking order.
func factNames(cat knowledge.Catalog) []string {
	names := make([]string, len(cat.Facts))
	for i, f := range cat.Facts {
		names[i] = f.Name
	}
	return names
}

// TestNewRefusesAnInvalidConfig wants New to refuse what Config.Validate
// refuses, naming the setting, instead of serving with a fallback.
func TestNewRefusesAnInvalidConfig(t *testing.T) {
	p, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	pub := publish.New(publish.Config{}, rules.NewEngine(p), nil, log)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"a proxy that is no CIDR", Config{TrustedProxies: []string{"10.0.0.0/33"}}, "trusted proxies"},
		{"a relative base URL", Config{BaseURL: "help.example.com"}, "base URL"},
		{"a negative API rate", Config{APIRate: -1}, "API rate limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, pub, nil, log); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%+v) = %v; want an error naming %s", tc.cfg, err, tc.want)
			}
		})
	}
}

// diagnose answers body as the command line does: through the answer
// service with no server around it (no slot, nothing kept or counted).
func diagnose(engine *rules.Engine, body []byte, langs ...string) (answer.Response, error) {
	res, err := (&answer.Service{Engine: engine}).Answer(context.Background(), answer.Ask{Source: "test", Body: body, Langs: langs})
	return res.Response, err
}

// evaluateUnder decides req under p alone (a flow.Evaluator with no slot,
// deadline or counting), for benchmarks of the site's pages.
func evaluateUnder(ctx context.Context, p *rules.Policy, req knowledge.Request) (knowledge.Decision, error) {
	return p.Evaluate(ctx, req)
}
