package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"acceso/publish"
	"acceso/rules"
)

// lighthouse scores a page with the pinned Lighthouse in Chromium and
// returns its categories' scores (0 to 1).
func lighthouse(t *testing.T, url string) map[string]float64 {
	t.Helper()
	cli := needTool(t, "the npm package lighthouse", func() (string, error) {
		path := filepath.Join("..", ".cache", "npm", "lighthouse", "node_modules", "lighthouse", "cli", "index.js")
		_, err := os.Stat(path)
		return path, err
	})
	node := needTool(t, "Node.js", func() (string, error) { return exec.LookPath("node") })
	chrome := chromium(t)
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(node, cli, url, "--quiet", "--output=json", "--output-path="+out,
		"--only-categories=performance,accessibility,best-practices,seo", "--form-factor=mobile",
		"--chrome-flags=--headless=new --no-sandbox --disable-gpu")
	cmd.Env = append(os.Environ(), "CHROME_PATH="+chrome)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lighthouse %s: %v\n%s", url, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Categories map[string]struct {
			Score float64 `json:"score"`
		} `json:"categories"`
		Audits map[string]struct {
			Score *float64 `json:"score"`
			Title string   `json:"title"`
		} `json:"audits"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatalf("lighthouse report: %v", err)
	}
	scores := make(map[string]float64)
	for name, c := range report.Categories {
		scores[name] = c.Score
	}
	for id, a := range report.Audits {
		if a.Score != nil && *a.Score < 1 && (id == "meta-description" || id == "hreflang" || id == "canonical" || id == "is-crawlable" || id == "robots-txt" || id == "link-text" || id == "http-status-code" || id == "document-title") {
			t.Logf("%s: audit %s (%s) scores %v", url, id, a.Title, *a.Score)
		}
	}
	return scores
}

// TestLighthouse scores a page and a state of the self-diagnosis on the
// server and in the static export, each with its public address: search
// engines, accessibility and best practices at 100. Performance is logged,
// not asserted: it is a timing, on a shared machine.
func TestLighthouse(t *testing.T) {
	p, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)

	// The server, at the address it says is its own.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv := mustNew(t, Config{BaseURL: base, DiagnoseBurst: 1 << 30}, publish.New(publish.Config{}, rules.NewEngine(p), nil, log), nil, log)
	live := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.Handler()}}
	live.Start()
	defer live.Close()

	// The export, served by a plain file server at the address it was
	// exported for.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	exportBase := "http://" + ln2.Addr().String()
	exporter := mustNew(t, Config{Static: true, BaseURL: exportBase}, publish.New(publish.Config{}, rules.NewEngine(p), nil, log), nil, log)
	out := filepath.Join(t.TempDir(), "site")
	if _, err := exporter.Export(context.Background(), out, nil); err != nil {
		t.Fatal(err)
	}
	static := &httptest.Server{Listener: ln2, Config: &http.Server{Handler: http.FileServer(http.Dir(out))}}
	static.Start()
	defer static.Close()

	for _, url := range []string{
		base + "/es/", base + "/en/diagnose/code_not_received/channels_tried=email/spam_checked=no/online=yes/",
		exportBase + "/en/", exportBase + "/es/diagnose/code_needed_often/incognito=yes/",
	} {
		scores := lighthouse(t, url)
		t.Logf("%s: performance %.0f, accessibility %.0f, best practices %.0f, SEO %.0f", url,
			100*scores["performance"], 100*scores["accessibility"], 100*scores["best-practices"], 100*scores["seo"])
		for _, c := range []string{"seo", "accessibility", "best-practices"} {
			if scores[c] < 1 {
				t.Errorf("%s: Lighthouse %s = %.0f; want 100", url, c, 100*scores[c])
			}
		}
	}
}
