package server

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"acceso/flow"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/export"
)

const exportBase = "https://help.example.com"

// exportSite exports the embedded rules into a new folder and returns it.
func exportSite(t *testing.T) (string, export.Stats) {
	t.Helper()
	p, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := mustNew(t, Config{Static: true, BaseURL: exportBase}, publish.New(publish.Config{}, rules.NewEngine(p), nil, log), nil, log)
	out := filepath.Join(t.TempDir(), "site")
	st, err := srv.Export(context.Background(), out, nil)
	if err != nil {
		t.Fatalf("Export = %v", err)
	}
	return out, st
}

// readTree reads every file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestExportIsDeterministic(t *testing.T) {
	t.Parallel()
	a, st := exportSite(t)
	b, _ := exportSite(t)
	fa, fb := readTree(t, a), readTree(t, b)
	if len(fa) != len(fb) || len(fa) != st.Files {
		t.Fatalf("exports hold %d and %d files; Export said %d", len(fa), len(fb), st.Files)
	}
	for name, body := range fa {
		if !bytes.Equal(body, fb[name]) {
			t.Errorf("%s differs between two exports of the same rules", name)
		}
	}
	for _, want := range []string{"index.html", "404.html", "robots.txt", "sitemap.xml", "es/index.html", "en/article/index.html", "es/diagnose/index.html"} {
		if _, ok := fa[want]; !ok {
			t.Errorf("the export has no %s", want)
		}
	}
	t.Logf("%d files, %d bytes, %d states per language, in %v", st.Files, st.Bytes, st.States, st.Took)
}

// links are the targets of a page's <a href>, <link href> and the form
// actions, resolved against the page's path.
func links(t *testing.T, page string, body []byte) []string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	base, _ := url.Parse(page)
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "a" || n.Data == "link") {
			if href := attr(n, "href"); href != "" {
				u, err := base.Parse(href)
				if err == nil && u.Scheme != "mailto" {
					out = append(out, u.String())
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// crawlExport serves the export in out with a plain static file server,
// follows every link from the root and wants each to resolve, and each
// link to an anchor to find an element with that id on its page. It
// returns the pages reached.
func crawlExport(t *testing.T, out string) map[string]bool {
	t.Helper()
	static := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer static.Close()
	client := static.Client()
	seen := map[string]bool{}
	queue := []string{"/"}
	// Every link to an anchor must find an element with that id on its
	// page (a cause's section in the article, for one): checked once the
	// pages are read.
	bodies := map[string]string{}
	type anchor struct{ from, page, id string }
	var anchors []anchor
	for len(queue) > 0 {
		page := queue[0]
		queue = queue[1:]
		if seen[page] {
			continue
		}
		seen[page] = true
		resp, err := client.Get(static.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s on the static host = %d", page, resp.StatusCode)
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		bodies[page] = string(body)
		for _, l := range links(t, page, body) {
			u, _ := url.Parse(l)
			if u.Fragment != "" && (u.Host == "" || strings.HasPrefix(l, static.URL)) {
				target := u.Path
				if target == "" {
					target = page
				}
				anchors = append(anchors, anchor{page, target, u.Fragment})
			}
			switch {
			case u.Host == "" || strings.HasPrefix(l, static.URL):
				queue = append(queue, u.Path)
			case strings.HasPrefix(l, exportBase):
				// Absolute links to the public address are the same pages.
				queue = append(queue, strings.TrimPrefix(l, exportBase))
			default:
				t.Errorf("%s links outside the site: %s", page, l)
			}
		}
	}
	checked := map[anchor]bool{}
	for _, a := range anchors {
		if key := (anchor{"", a.page, a.id}); !checked[key] {
			checked[key] = true
			if body, ok := bodies[a.page]; ok && !strings.Contains(body, ` id="`+a.id+`"`) {
				t.Errorf("%s links to %s#%s; that page has no element with that id", a.from, a.page, a.id)
			}
		}
	}
	if len(checked) == 0 {
		t.Errorf("the crawl followed no link to an anchor; want the findings' links to the article's sections")
	}
	return seen
}

// TestExportServedStatically serves the export with a plain static file
// server, follows every link from the root, and wants each to resolve;
// every state of the self-diagnosis is reached in both languages, and the
// states the server renders give the same bytes as the export.
func TestExportServedStatically(t *testing.T) {
	t.Parallel()
	out, st := exportSite(t)
	seen := crawlExport(t, out)
	states := 0
	for p := range seen {
		if strings.Contains(p, "/diagnose/code_") && !strings.Contains(p, "/change-") {
			states++
		}
	}
	if want := st.States * len(locales.Languages); states != want {
		t.Errorf("the crawl reached %d states; want every one, %d", states, want)
	}

	// The same state from the server and from the export: the same bytes.
	h := newSiteHarness(t, Config{BaseURL: exportBase, DiagnoseBurst: 1 << 30})
	sample := []string{"/es/diagnose/code_not_received/", "/en/diagnose/code_needed_often/incognito=yes/",
		"/es/diagnose/code_not_accepted/vpn=no/", "/en/diagnose/code_not_received/channels_tried=email-sms/spam_checked=no/"}
	for _, p := range sample {
		_, live := h.get(t, p)
		file, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p), "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if live != string(file) {
			t.Errorf("%s differs between the server and the export:\n%s", p, firstDiff(normalize(live, ""), normalize(string(file), "")))
		}
	}
	if !seen["/es/diagnose/code_not_received/channels_tried=sms/online=yes/"] {
		t.Errorf("the crawl did not reach a state it should have")
	}
}

// TestExportInChromium opens the export in Chromium with JavaScript off,
// goes through one path to its outcome by following the answers' links, and
// checks a sample of states of each symptom in both languages with axe-core
// and the Nu Html Checker.
func TestExportInChromium(t *testing.T) {
	axe, err := os.ReadFile(npmFile(t, "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	jar := npmFile(t, "vnu-jar", filepath.Join("build", "dist", "vnu.jar"))
	java := needTool(t, "Java", func() (string, error) { return exec.LookPath("java") })
	out, _ := exportSite(t)
	static := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer static.Close()
	browser := newBrowser(t)
	tb := newTab(t, browser, false)

	tb.open(static.URL + "/en/")
	tb.click(`a.choice[href$="/diagnose/code_needed_often/"]`)
	for _, fact := range []string{"incognito", "cookies_autodelete", "new_device"} {
		tb.click(`.options a.option[href$="/` + fact + `=no/"]`)
	}
	v := readDiagnose(t, tb.html())
	if v.end == "" || !goldenReference.MatchString(v.reference) {
		t.Errorf("after three answers on the static site: end %q, reference %q; want the outcome with its reference", v.end, v.reference)
	}

	var sample []string
	for _, lang := range locales.Languages {
		sample = append(sample, "/"+lang+"/", "/"+lang+"/article/", "/"+lang+"/help/", "/"+lang+"/diagnose/",
			"/"+lang+"/diagnose/code_not_received/channels_tried=email/change-channels_tried/")
		for _, s := range []string{"code_not_received", "code_needed_often", "code_not_accepted"} {
			sample = append(sample, flow.Diagnosis{Symptom: s}.Path(lang))
		}
		sample = append(sample, "/"+lang+"/diagnose/code_not_received/channels_tried=email/spam_checked=no/online=no/",
			"/"+lang+"/diagnose/code_needed_often/incognito=unknown/cookies_autodelete=unknown/new_device=unknown/",
			"/"+lang+"/diagnose/code_not_accepted/vpn=yes/used_latest_code=no/")
	}
	// axe-core is a script: it runs in a tab with JavaScript on.
	tb = newTab(t, browser, true)
	var files []string
	for _, p := range sample {
		tb.open(static.URL + p)
		if err := chromedp.Do(tb.ctx, chromedp.Evaluate[chromedp.Void](string(axe))); err != nil {
			t.Fatalf("injecting axe-core: %v", err)
		}
		violations, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("running axe-core on %s: %v", p, err)
		}
		for _, v := range violations {
			t.Errorf("axe on %s: %s (%s): %s\n\t%s", p, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
		}
		files = append(files, filepath.Join(out, filepath.FromSlash(p), "index.html"))
	}
	files = append(files, filepath.Join(out, "index.html"), filepath.Join(out, "404.html"))
	checkHTML(t, java, jar, files)
}

// TestFlowExploredOncePerRevision wants the self-diagnosis that the
// sitemap, the export and the admin pages read explored once for the rules
// being served, and again once they change.
func TestFlowExploredOncePerRevision(t *testing.T) {
	ctx := context.Background()
	s, p, _, _ := newServer(t, Config{})
	first, err := s.flowMaps.Map(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := s.flowMaps.Map(ctx, p); again != first {
		t.Error("the flow of one revision was explored twice")
	}
	src := p.Source.Clone()
	src.Modules["rules/login/causes.rego"] += "\n# another revision\n"
	other, err := rules.Build(ctx, src, rules.Options{SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := s.flowMaps.Map(ctx, other); m == first || m.States() != first.States() {
		t.Errorf("the flow of another revision = the first one's %v, %d states; want its own, with as many states (%d)", m == first, m.States(), first.States())
	}
}

// TestFlowExploredOnceAtOnce asks for the flow of a new revision from
// several goroutines at once, as sitemap requests after a publish do: they
// share one exploration, so every caller gets the same map.
func TestFlowExploredOnceAtOnce(t *testing.T) {
	ctx := context.Background()
	s, p, _, _ := newServer(t, Config{})
	maps := make([]*flow.Map, 8)
	var wg sync.WaitGroup
	for i := range maps {
		wg.Go(func() {
			m, err := s.flowMaps.Map(ctx, p)
			if err != nil {
				t.Errorf("flowMap = %v", err)
			}
			maps[i] = m
		})
	}
	wg.Wait()
	for i, m := range maps {
		if m != maps[0] {
			t.Fatalf("caller %d got a map of its own; want the one exploration shared by all", i)
		}
	}
}
