package server

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"acceso/locales"
)

// TestInsightsBrowser shows the insights page, seeded and empty, in a real
// Chromium at a phone's width and a desktop's, light and dark, in both
// languages: axe-core finds no violation, and each view is written to the
// screenshots folder (insights-{lang}-{light,dark}-{360,1280}.png).
func TestInsightsBrowser(t *testing.T) {
	axe, err := os.ReadFile(npmFile(t, "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	ts := sqliteServer(t)
	empty := sqliteServer(t)
	browser := newBrowser(t)
	for _, s := range []*testServer{ts, empty} {
		if err := addTestAdmin(s.db, testAdmin); err != nil {
			t.Fatal(err)
		}
	}
	seedInsights(t, ts, []string{ts.policy.Revision})
	schemes := []struct {
		name  string
		media emulation.SetEmulatedMediaParams
	}{
		{"light", emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}}},
		{"dark", emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}},
	}
	for _, server := range []struct {
		name string
		ts   *testServer
	}{{"insights", ts}, {"insights-empty", empty}} {
		tb := newTab(t, browser, true)
		tb.signIn(server.ts)
		for _, lang := range locales.Languages {
			if _, err := chromedp.Call(tb.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}}); err != nil {
				t.Fatal(err)
			}
			for _, scheme := range schemes {
				for _, width := range []int64{360, 1280} {
					name := fmt.Sprintf("%s-%s-%s", server.name, lang, scheme.name)
					t.Run(fmt.Sprintf("%s-%d", name, width), func(t *testing.T) {
						outer := tb.t
						tb.t = t
						defer func() { tb.t = outer }()
						if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, scheme.media); err != nil {
							t.Fatal(err)
						}
						if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
							t.Fatal(err)
						}
						tb.open(server.ts.URL + "/admin/insights?period=90")
						tb.checkAxe(axe)
						tb.screenshot(name, width)
					})
				}
			}
		}
	}
}

// TestInsightsValidHTML checks the insights page, seeded and empty, in both
// languages, with the Nu Html Checker: no error.
func TestInsightsValidHTML(t *testing.T) {
	jar := npmFile(t, "vnu-jar", filepath.Join("build", "dist", "vnu.jar"))
	java := needTool(t, "Java", func() (string, error) { return exec.LookPath("java") })
	ts := sqliteServer(t)
	seedInsights(t, ts, []string{ts.policy.Revision})
	empty := sqliteServer(t)
	dir := t.TempDir()
	var files []string
	for _, s := range []*testServer{ts, empty} {
		a := signedInAdmin(t, s)
		for _, lang := range locales.Languages {
			_, body := a.get(t, "/admin/insights?period=90", "Accept-Language", lang)
			file := filepath.Join(dir, fmt.Sprintf("insights-%d.%s.html", len(files), lang))
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, file)
		}
	}
	checkHTML(t, java, jar, files)
}
