package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"acceso/locales"
)

// npmDir is where `make test` installs the npm packages the accessibility
// and validity checks need (axe-core and vnu-jar, at pinned versions).
var npmDir = filepath.Join("..", ".cache", "npm", "node_modules")

// npmFile finds a file of an installed npm package.
func npmFile(t *testing.T, pkg, file string) string {
	return needTool(t, "the npm package "+pkg, func() (string, error) {
		path := filepath.Join(npmDir, pkg, file)
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%w (make test installs it)", err)
		}
		return path, nil
	})
}

// axeViolation is one rule that a page breaks, as axe-core reports it.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun runs axe-core on the page and returns its violations, each with
// the first elements at fault.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help,
	nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary),
})))`

// TestAccessibility runs axe-core, injected into a real Chromium, on every
// page of the site in both languages, on a phone's width and a desktop's,
// in dark mode and as printed, and wants no violation.
func TestAccessibility(t *testing.T) {
	axe, err := os.ReadFile(npmFile(t, "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	h := newSiteHarness(t)
	// Each page at a phone's width and a desktop's, then at the phone's in
	// dark mode and as printed (the handoff is meant to be printed).
	views := []struct {
		name  string
		width int64
		media emulation.SetEmulatedMediaParams
	}{
		{"360", 360, emulation.SetEmulatedMediaParams{}},
		{"1280", 1280, emulation.SetEmulatedMediaParams{}},
		{"360-dark", 360, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}},
		{"360-print", 360, emulation.SetEmulatedMediaParams{Media: "print"}},
	}
	for _, lang := range locales.Languages {
		for _, pg := range sitePages {
			// A tab lives two minutes at most (newTab): one per page.
			tb := newTab(t, browser, true)
			for _, view := range views {
				width := view.width
				t.Run(fmt.Sprintf("%s.%s.%s", pg.name, lang, view.name), func(t *testing.T) {
					outer := tb.t
					tb.t = t
					defer func() { tb.t = outer }()
					if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
						t.Fatal(err)
					}
					if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, view.media); err != nil {
						t.Fatal(err)
					}
					u := h.url + "/" + lang + "/" + pg.path
					tb.open(u)
					if pg.status != http.StatusOK {
						tb.forget(u)
					}
					tb.checkAxe(axe)
				})
			}
		}
	}
}

// checkAxe injects axe-core (its script, axe) into the page the tab shows,
// runs it, and fails the tab's test for every violation. The tab needs
// JavaScript on.
func (tb *tab) checkAxe(axe []byte) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Evaluate[chromedp.Void](string(axe))); err != nil {
		tb.t.Fatalf("injecting axe-core: %v", err)
	}
	violations, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("running axe-core: %v", err)
	}
	for _, v := range violations {
		tb.t.Errorf("axe: %s (%s): %s\n\t%s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// vnuMessage is one message of the Nu Html Checker's JSON output.
type vnuMessage struct {
	Type     string `json:"type"`
	URL      string `json:"url"`
	LastLine int    `json:"lastLine"`
	Message  string `json:"message"`
	Extract  string `json:"extract"`
}

// TestValidHTML checks every page of the site in both languages with the
// Nu Html Checker (vnu-jar) and wants no error.
func TestValidHTML(t *testing.T) {
	jar := npmFile(t, "vnu-jar", filepath.Join("build", "dist", "vnu.jar"))
	java := needTool(t, "Java", func() (string, error) { return exec.LookPath("java") })
	h := newSiteHarness(t)
	dir := t.TempDir()
	var files []string
	for _, lang := range locales.Languages {
		for _, pg := range sitePages {
			path := "/" + lang + "/" + pg.path
			resp, body := h.get(t, path)
			if resp.StatusCode != pg.status {
				t.Fatalf("GET %s status = %d; want %d", path, resp.StatusCode, pg.status)
			}
			file := filepath.Join(dir, pg.name+"."+lang+".html")
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, file)
		}
	}
	checkHTML(t, java, jar, files)
}

// checkHTML fails the test for each error the Nu Html Checker finds in
// files, naming the file, line and message, and logs how many it checked.
func checkHTML(t *testing.T, java, jar string, files []string) {
	t.Helper()
	for _, m := range validateHTML(t, java, jar, files) {
		t.Errorf("vnu: %s:%d: %s: %s (%q)", m.URL, m.LastLine, m.Type, m.Message, m.Extract)
	}
	t.Logf("vnu checked %d pages", len(files))
}

// validateHTML runs the Nu Html Checker (java -jar vnu.jar) on files and
// returns its messages, errors only, each named by its file's base name.
// It ends the test when the checker fails without a report.
func validateHTML(t *testing.T, java, jar string, files []string) []vnuMessage {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(java, append([]string{"-jar", jar, "--errors-only", "--format", "json"}, files...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Messages []vnuMessage `json:"messages"`
	}
	// vnu writes its JSON report to stderr, and exits 1 when it found errors.
	report := stderr.Bytes()
	if len(bytes.TrimSpace(report)) == 0 {
		report = stdout.Bytes()
	}
	if err := json.Unmarshal(report, &out); err != nil {
		t.Fatalf("vnu: %v; output: %s %s (exit: %v)", err, stdout.String(), stderr.String(), runErr)
	}
	if runErr != nil && len(out.Messages) == 0 {
		t.Fatalf("vnu failed with no message: %v\n%s", runErr, stderr.String())
	}
	for i, m := range out.Messages {
		if u, err := url.Parse(m.URL); err == nil {
			out.Messages[i].URL = filepath.Base(u.Path)
		}
	}
	return out.Messages
}
