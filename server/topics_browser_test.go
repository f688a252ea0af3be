package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"acceso/internal/topictest"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/store"
)

// topicSite serves the built-in rules with the second topic added
// (topictest), and returns its address.
func topicSite(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	src, err := rules.FromDir(topictest.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rules.Build(ctx, src, rules.Options{Deadline: time.Minute})
	if err != nil {
		t.Fatalf("Build(with the second topic) = %v", err)
	}
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	s := mustNew(t, Config{DiagnoseBurst: 1 << 30, APIRate: 1e6, APIBurst: 1e6}, publish.New(publish.Config{}, rules.NewEngine(p), db, log), db, log)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

// secondTopicPages are the pages a second topic brings, and the home that lists
// both topics, below a language's folder.
var secondTopicPages = []string{
	"",
	"notifications/diagnose/",
	"notifications/diagnose/notifications_missing/",
	"notifications/diagnose/notifications_missing/notifications_allowed=yes/do_not_disturb=yes/",
	"notifications/diagnose/notifications_late/battery_saver=unknown/",
	"notifications/help",
	"notifications/article",
}

// TestBrowserTopics is a contact in Chromium on the home page of a help
// centre with two topics, in both languages: the home lists both topics
// with their symptoms; the contact picks a symptom of the second topic and
// walks its self-diagnosis, answer by answer, to its outcome, whose
// finding links to the topic's explanations. axe-core finds no violation
// on the home and the second topic's pages, at a phone's width and a
// desktop's. Screenshots of the home with two topics, at 360 and 1280 px,
// go to screenshots/topics.
func TestBrowserTopics(t *testing.T) {
	axe, err := os.ReadFile(npmFile(t, "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	site := topicSite(t)
	if err := os.MkdirAll(filepath.Join(screenshotDir, "topics"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, lang := range locales.Languages {
		t.Run(lang, func(t *testing.T) {
			tb := newTab(t, browser, true)
			tb.open(site + "/" + lang + "/")
			doc := parseHTML(t, tb.html())
			for _, topic := range []string{"login", topictest.Name} {
				if first(doc, func(n *html.Node) bool { return isElement(n, "h2") && attr(n, "id") == "topic-"+topic }) == nil {
					t.Errorf("the home page in %s has no heading of the topic %s", lang, topic)
				}
			}
			for _, width := range []int64{360, 1280} {
				tb.screenshot(filepath.Join("topics", "home-"+lang), width)
			}

			// Walk the second topic's self-diagnosis from the home page.
			tb.click(`a.choice[href$="/notifications/diagnose/notifications_missing/"]`)
			if got, want := tb.location().Path, "/"+lang+"/notifications/diagnose/notifications_missing/"; got != want {
				t.Fatalf("the symptom leads to %s; want %s", got, want)
			}
			asked := tb.answerQuestions(map[string][]string{"notifications_allowed": {"yes"}, "do_not_disturb": {"yes"}})
			if want := []string{"notifications_allowed", "do_not_disturb"}; strings.Join(asked, " ") != strings.Join(want, " ") {
				t.Errorf("the contact was asked about %v; want %v", asked, want)
			}
			v := readDiagnose(t, tb.html())
			if want := "/" + lang + "/notifications/help#do_not_disturb_on"; len(v.links) != 1 || v.links[0] != want {
				t.Errorf("the outcome's findings link to %v; want %s", v.links, want)
			}
			tb.click(`a[href$="/notifications/help#do_not_disturb_on"]`)
			if got := tb.location(); got.Path != "/"+lang+"/notifications/help" || got.Fragment != "do_not_disturb_on" {
				t.Errorf("the finding's link leads to %s; want the topic's explanations", got)
			}

			for _, page := range secondTopicPages {
				for _, width := range []int64{360, 1280} {
					t.Run(fmt.Sprintf("%s@%d", page, width), func(t *testing.T) {
						outer := tb.t
						tb.t = t
						defer func() { tb.t = outer }()
						if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
							t.Fatal(err)
						}
						tb.open(site + "/" + lang + "/" + page)
						tb.checkAxe(axe)
					})
				}
			}
		})
	}
}

// TestValidHTMLTopics checks the home with two topics and the second
// topic's pages, in both languages, with the Nu Html Checker.
func TestValidHTMLTopics(t *testing.T) {
	jar := npmFile(t, "vnu-jar", filepath.Join("build", "dist", "vnu.jar"))
	java := needTool(t, "Java", func() (string, error) { return exec.LookPath("java") })
	site := topicSite(t)
	client := newClient(t, site)
	dir := t.TempDir()
	var files []string
	for _, lang := range locales.Languages {
		for i, page := range secondTopicPages {
			resp, body := client.get(t, "/"+lang+"/"+page)
			if resp.StatusCode != 200 {
				t.Fatalf("GET /%s/%s = %d", lang, page, resp.StatusCode)
			}
			file := filepath.Join(dir, fmt.Sprintf("topic-%d.%s.html", i, lang))
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, file)
		}
	}
	checkHTML(t, java, jar, files)
}
