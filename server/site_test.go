package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"

	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/site"
	"acceso/server/web"
	"acceso/store"
	"acceso/templates"
)

var updateGolden = flag.Bool("update", false, "rewrite server/testdata/*.golden.html from the pages served")

// siteSecret is what the page that fails on purpose fails with: no page
// may show it.
const siteSecret = "database password is hunter2"

// siteHarness is a real Server (embedded rules, its own engine, a fresh
// SQLite database) behind a real HTTP listener, and a browser of it.
type siteHarness struct {
	*browser
	srv    *Server
	engine *rules.Engine
	policy *rules.Policy
	db     *store.DB
	logs   *syncBuffer
}

// newSiteHarness serves the site with cfg (the first one given), by
// default with the self-diagnosis's rate limit raised out of the way.
func newSiteHarness(tb testing.TB, cfg ...Config) *siteHarness {
	tb.Helper()
	c := Config{DiagnoseBurst: 10_000}
	if len(cfg) > 0 {
		c = cfg[0]
	}
	srv, p, db, logs := newServer(tb, c)
	for _, lang := range locales.Languages {
		// A page that fails, to see the server error page.
		srv.Echo().GET("/"+lang+"/boom", func(c echo.Context) error { return errors.New(siteSecret) })
	}
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(hs.Close)
	return &siteHarness{browser: newClient(tb, hs.URL), srv: srv, engine: srv.engine, policy: p, db: db, logs: logs}
}

// localizer is the test's own view of the texts a page in lang must show.
// follow GETs path and follows its redirects, as a browser would; final
// is the path (and query) it lands on.
func (h *siteHarness) follow(tb testing.TB, path string, header ...string) (resp *http.Response, body, final string) {
	tb.Helper()
	final = path
	for range 5 {
		resp, body = h.get(tb, final, header...)
		if resp.StatusCode != http.StatusMovedPermanently && resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			return resp, body, final
		}
		final = resp.Header.Get("Location")
	}
	tb.Fatalf("GET %s: too many redirects", path)
	return nil, "", ""
}

func (h *siteHarness) localizer(lang string) locales.Localizer {
	return locales.NewLocalizer(h.policy.Texts, lang)
}

// feedbackCount is how many feedbacks the database holds.
func feedbackCount(tb testing.TB, db *store.DB) int {
	tb.Helper()
	counts, err := db.FeedbackCounts(context.Background())
	if err != nil {
		tb.Fatalf("FeedbackCounts = %v", err)
	}
	n := 0
	for _, c := range counts.ByPage {
		n += c.Total()
	}
	return n
}

// sitePage is a page of the site the tests look at in both languages.
type sitePage struct {
	name   string
	path   string // below /{lang}/
	status int
}

// sitePages is every kind of page the site serves: each step of the
// self-diagnosis, the article, and the error pages.
var sitePages = []sitePage{
	{"home", "", http.StatusOK},
	{"article", "article", http.StatusOK},
	{"article-thanks", "article?thanks=1", http.StatusOK},
	{"diagnose-start", "diagnose/", http.StatusOK},
	{"diagnose-question", "diagnose/code_needed_often/", http.StatusOK},
	{"diagnose-choices", "diagnose/code_not_received/", http.StatusOK},
	{"diagnose-findings", "diagnose/code_not_received/channels_tried=email/spam_checked=no/", http.StatusOK},
	{"diagnose-outcome", "diagnose/code_not_received/channels_tried=email/spam_checked=no/online=yes/", http.StatusOK},
	{"diagnose-thanks", "diagnose/code_needed_often/incognito=yes/cookies_autodelete=no/new_device=no/?thanks=1", http.StatusOK},
	{"diagnose-no-known-cause", "diagnose/code_needed_often/incognito=no/cookies_autodelete=no/new_device=no/", http.StatusOK},
	{"diagnose-ended", "diagnose/code_needed_often/incognito=unknown/cookies_autodelete=unknown/new_device=unknown/", http.StatusOK},
	{"not-found", "no-such-page", http.StatusNotFound},
	{"bad-input", "diagnose/no_such_symptom/", http.StatusBadRequest},
	{"server-error", "boom", http.StatusInternalServerError},
	{"help", "help", http.StatusOK},
	{"diagnose-change", "diagnose/code_not_received/channels_tried=email/spam_checked=no/online=yes/change-channels_tried/", http.StatusOK},
	{"diagnose-all-fine", "diagnose/code_not_accepted/vpn=no/used_latest_code=yes/", http.StatusOK},
}

// Parts of a page that change from one run to the next, and what the
// golden files hold instead.
var (
	goldenCSRF     = regexp.MustCompile(`name="` + web.CSRFField + `" value="[^"]*"`)
	goldenDecision = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	goldenRef      = regexp.MustCompile(`(class="reference-code">|name="reference" value=")[0-9A-Z]{4}-[0-9A-Z]{4}`)
	goldenToken    = regexp.MustCompile(`name="token" value="[^"]*"`)
	goldenVersion  = regexp.MustCompile(`\.[0-9a-f]{12}\.(css|svg)`)
)

// normalize replaces what changes between runs (the CSRF token, the
// decision id, the policy revision, the asset versions) with placeholders,
// and puts each tag on its own line so that a difference is easy to read.
func normalize(body, revision string) string {
	body = goldenCSRF.ReplaceAllString(body, `name="`+web.CSRFField+`" value="CSRF"`)
	body = goldenDecision.ReplaceAllString(body, "DECISION-ID")
	body = goldenRef.ReplaceAllString(body, `${1}REFERENCE`)
	body = goldenToken.ReplaceAllString(body, `name="token" value="TOKEN"`)
	body = goldenVersion.ReplaceAllString(body, ".VERSION.$1")
	body = strings.ReplaceAll(body, revision, "REVISION")
	return strings.ReplaceAll(body, "><", ">\n<") + "\n"
}

// TestSitePagesGolden compares every page in both languages with its golden
// file (go test ./server -run TestSitePagesGolden -update rewrites them),
// and checks what every page must have: its language, its translations,
// a size under 30 KB, and no inline script or style.
func TestSitePagesGolden(t *testing.T) {
	h := newSiteHarness(t)
	for _, lang := range locales.Languages {
		for _, pg := range sitePages {
			t.Run(pg.name+"."+lang, func(t *testing.T) {
				path := "/" + lang + "/" + pg.path
				resp, body := h.get(t, path)
				if resp.StatusCode != pg.status {
					t.Fatalf("GET %s status = %d; want %d", path, resp.StatusCode, pg.status)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("GET %s Content-Type = %q; want text/html", path, ct)
				}
				checkPage(t, path, resp, body, lang, pg.status == http.StatusOK)

				golden := filepath.Join("testdata", pg.name+"."+lang+".golden.html")
				got := goldenPart(pg.name, normalize(body, h.policy.Revision))
				if *updateGolden {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./server -run TestSitePagesGolden -update)", err)
				}
				if got != string(want) {
					t.Errorf("GET %s differs from %s (run with -update if the change is meant):\n%s", path, golden, firstDiff(got, string(want)))
				}
			})
		}
	}
}

// goldenPart is what a page's golden file holds: the whole of the home
// page, which pins the shell every page shares (layout.templ: head, header,
// footer), and of every other page its <title> and its <main> element, so
// that a change to the shell rewrites one golden file per language rather
// than all of them.
func goldenPart(name, page string) string {
	if name == "home" {
		return page
	}
	var parts []string
	for _, el := range []string{"title", "main"} {
		start, end := strings.Index(page, "<"+el), strings.LastIndex(page, "</"+el+">")
		if start < 0 || end < start {
			parts = append(parts, "(no <"+el+">)")
			continue
		}
		parts = append(parts, page[start:end+len("</"+el+">")])
	}
	return strings.Join(parts, "\n") + "\n"
}

// checkPage checks what every page must have.
func checkPage(t *testing.T, path string, resp *http.Response, body, lang string, translated bool) {
	t.Helper()
	if len(body) >= 30<<10 {
		t.Errorf("GET %s is %d bytes; want under 30 KB", path, len(body))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if csp == "" {
		t.Errorf("GET %s has no Content-Security-Policy", path)
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("GET %s Content-Security-Policy = %q; want no unsafe-inline or unsafe-eval", path, csp)
	}
	doc := parseHTML(t, body)
	htmlEl := first(doc, element("html"))
	if got := attr(htmlEl, "lang"); got != lang {
		t.Errorf("GET %s <html lang> = %q; want %q", path, got, lang)
	}
	if got := resp.Header.Get("Content-Language"); translated && got != lang {
		t.Errorf("GET %s Content-Language = %q; want %q", path, got, lang)
	}
	if first(doc, func(n *html.Node) bool { return isElement(n, "meta") && attr(n, "name") == "viewport" }) == nil {
		t.Errorf("GET %s has no viewport meta", path)
	}
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		if n.Data == "style" || (n.Data == "script" && attr(n, "src") == "") || hasAttr(n, "style") {
			t.Errorf("GET %s has inline %s", path, n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("GET %s has an inline handler %s on <%s>", path, a.Key, n.Data)
			}
		}
	}
	if first(doc, func(n *html.Node) bool { return isElement(n, "main") && attr(n, "id") == "main" }) == nil {
		t.Errorf("GET %s has no <main id=main>", path)
	}
	if skip := first(doc, func(n *html.Node) bool { return isElement(n, "a") && attr(n, "href") == "#main" }); skip == nil {
		t.Errorf("GET %s has no skip link to #main", path)
	}
	if !translated {
		return
	}
	alternates := map[string]string{}
	for _, n := range findAll(doc, func(n *html.Node) bool { return isElement(n, "link") && attr(n, "rel") == "alternate" }) {
		alternates[attr(n, "hreflang")] = attr(n, "href")
	}
	u, _ := url.Parse(path)
	for _, other := range locales.Languages {
		want := "/" + other + strings.TrimPrefix(u.Path, "/"+lang)
		if got := alternates[other]; !strings.HasPrefix(got, want) {
			t.Errorf("GET %s alternate %s = %q; want %s…", path, other, got, want)
		}
	}
}

// firstDiff shows where two texts first differ.
func firstDiff(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return fmt.Sprintf("line %d:\n got: %.300s\nwant: %.300s", i+1, g, w)
		}
	}
	return "(no difference in lines)"
}

func TestRootRedirectsToLanguage(t *testing.T) {
	h := newSiteHarness(t)
	tests := []struct {
		name           string
		cookie, accept string
		want           string
	}{
		{"nothing known", "", "", "/es/"},
		{"browser in English", "", "en-GB,en;q=0.9", "/en/"},
		{"browser in Spanish", "", "es-MX,es;q=0.9,en;q=0.5", "/es/"},
		{"browser prefers English by q", "", "fr, es;q=0.3, en;q=0.8", "/en/"},
		{"unsupported browser language", "", "fr-FR", "/es/"},
		{"chosen English beats browser", "en", "es-ES", "/en/"},
		{"chosen Spanish beats browser", "es", "en-US", "/es/"},
		{"unsupported cookie ignored", "fr", "en", "/en/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.url+"/", nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Language", tc.accept)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: site.LangCookie, Value: tc.cookie})
			}
			resp, err := h.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tc.want {
				t.Errorf("GET / (cookie %q, Accept-Language %q) = %d %q; want 302 %q", tc.cookie, tc.accept, resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
			if vary := resp.Header.Values("Vary"); !slices.ContainsFunc(vary, func(v string) bool { return strings.Contains(v, "Accept-Language") }) {
				t.Errorf("GET / Vary = %q; want Accept-Language in it", vary)
			}
		})
	}
}

func TestLanguageFolderWithoutSlash(t *testing.T) {
	h := newSiteHarness(t)
	for _, lang := range locales.Languages {
		resp, _ := h.get(t, "/"+lang)
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/"+lang+"/" {
			t.Errorf("GET /%s = %d %q; want 301 /%s/", lang, resp.StatusCode, resp.Header.Get("Location"), lang)
		}
	}
}

func TestLanguageSwitch(t *testing.T) {
	h := newSiteHarness(t)
	diagnose := "/en/diagnose/code_not_received/channels_tried=sms/online=no/"
	tests := []struct {
		name, next, want string
	}{
		{"same page in English", diagnose, diagnose},
		{"home", "/en/", "/en/"},
		{"article", "/en/article", "/en/article"},
		{"help", "/en/help", "/en/help"},
		{"other language", "/es/diagnose", "/en/"},
		{"another site", "https://evil.example/en/", "/en/"},
		{"scheme-relative", "//evil.example/en/", "/en/"},
		{"backslash", "/en/\\evil.example", "/en/"},
		{"dot segments", "/en/../admin/", "/en/"},
		{"javascript", "javascript:alert(1)", "/en/"},
		{"missing", "", "/en/"},
		{"encoded twice stays a path", "/en/diagnose%253Fsymptom=x", "/en/diagnose%253Fsymptom=x"},
		{"encoded line break stays encoded", "/en/a%250d%250ab", "/en/a%250d%250ab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := h.get(t, "/en/language?next="+url.QueryEscape(tc.next))
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
				t.Errorf("GET /en/language?next=%q = %d %q; want 303 %q", tc.next, resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
			var chosen *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == site.LangCookie {
					chosen = c
				}
			}
			if chosen == nil || chosen.Value != "en" || !chosen.HttpOnly {
				t.Errorf("GET /en/language cookie %s = %+v; want en, HttpOnly", site.LangCookie, chosen)
			}
		})
	}

	// The switch on a page leads to the same page, same answers, in the
	// other language (a plain link, which works on a static host too), and
	// "/" remembers the language read last. The /language route of part 1
	// still answers old links.
	_, body := h.get(t, "/es/diagnose/code_not_received/channels_tried=sms/online=no/")
	doc := parseHTML(t, body)
	sw := first(doc, func(n *html.Node) bool { return isElement(n, "a") && attr(n, "hreflang") == "en" })
	if sw == nil {
		t.Fatalf("the Spanish page has no link with hreflang=en")
	}
	if got, want := text(sw), h.localizer("en").T("LanguageName"); got != want {
		t.Errorf("language switch text = %q; want %q", got, want)
	}
	if got := attr(sw, "href"); got != diagnose {
		t.Errorf("the language switch leads to %q; want %q", got, diagnose)
	}
	// Reading a page in English is the choice "/" remembers.
	if resp, _ := h.get(t, attr(sw, "href")); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", attr(sw, "href"), resp.StatusCode)
	}
	resp, _ := h.get(t, "/", "Accept-Language", "es")
	if got := resp.Header.Get("Location"); got != "/en/" {
		t.Errorf("GET / after choosing English = %q; want /en/", got)
	}
}

// diagnoseView is what a self-diagnosis page shows, read from its HTML.
type diagnoseView struct {
	title     string            // the page's <title>
	h1        string            // the page's heading
	findings  []string          // titles
	advice    []string          // advice, in the same order
	links     []string          // article links, in the same order
	toTry     []string          // the things to try: titles
	tryAdvice []string          // their advice, in the same order
	current   string            // the href of the option marked as the current answer
	asked     string            // the fact asked about, "" if none
	options   []string          // the links of the question's answers
	progress  string            // the question's progress
	answers   map[string]string // question text to its change link
	end       string            // the outcome's heading, if any
	reference string            // the reference shown, if any
	checks    []string          // what the administrator should check
	feedback  bool              // the feedback form is there
}

func readDiagnose(t *testing.T, body string) diagnoseView {
	t.Helper()
	doc := parseHTML(t, body)
	v := diagnoseView{answers: map[string]string{}}
	v.title = text(first(doc, element("title")))
	v.h1 = text(first(doc, element("h1")))
	if sec := first(doc, hasClass("findings")); sec != nil {
		for _, li := range findAll(sec, hasClass("cause")) {
			v.findings = append(v.findings, text(first(li, element("h3"))))
			v.advice = append(v.advice, text(first(li, element("p"))))
			v.links = append(v.links, attr(first(li, element("a")), "href"))
		}
	}
	if sec := first(doc, hasClass("so-far")); sec != nil {
		for _, a := range findAll(sec, element("a")) {
			v.findings = append(v.findings, text(a))
			v.links = append(v.links, attr(a, "href"))
		}
	}
	if sec := first(doc, hasClass("to-try")); sec != nil {
		for _, li := range findAll(sec, hasClass("cause")) {
			v.toTry = append(v.toTry, text(first(li, element("h3"))))
			v.tryAdvice = append(v.tryAdvice, text(first(li, element("p"))))
		}
	}
	if q := first(doc, hasClass("question-text")); q != nil {
		v.asked = strings.TrimSuffix(attr(q, "id"), "-question")
		v.progress = text(first(doc, hasClass("progress")))
		for _, a := range findAll(doc, hasClass("option")) {
			v.options = append(v.options, attr(a, "href"))
			if attr(a, "aria-current") == "true" {
				v.current = attr(a, "href")
			}
		}
	}
	for _, a := range findAll(doc, hasClass("answer")) {
		if link := first(a, hasClass("change")); link != nil {
			v.answers[text(first(a, element("dt")))] = attr(link, "href")
		}
	}
	if end := first(doc, hasClass("outcome")); end != nil {
		v.end = text(end)
	}
	if ref := first(doc, hasClass("reference-code")); ref != nil {
		v.reference = text(ref)
	}
	for _, li := range findAll(doc, func(n *html.Node) bool {
		return isElement(n, "li") && n.Parent != nil && hasClass("admin-checks")(n.Parent)
	}) {
		v.checks = append(v.checks, text(li))
	}
	v.feedback = first(doc, func(n *html.Node) bool { return isElement(n, "form") && attr(n, "method") == "post" }) != nil
	return v
}

// goldenReference is a reference as the handoff shows it.
var goldenReference = regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}$`)

// TestDiagnoseShowsWhatTheEngineSays walks the self-diagnosis and checks
// each step against the engine: the findings are the engine's, in its
// words, with their article links; the question asked is the engine's
// first question not yet answered; an "I don't know" is not asked again.
func TestDiagnoseShowsWhatTheEngineSays(t *testing.T) {
	h := newSiteHarness(t)
	tests := []struct {
		name         string
		query        string
		wantFindings []string // cause ids
		wantAsked    string
		wantEnd      string // message id of the end's heading, when no cause is found
		wantToTry    []string
	}{
		{"first question", "symptom=code_not_received", nil, "channels_tried", "", nil},
		{"email only", "symptom=code_not_received&channels_tried=email", []string{"try_other_channel"}, "spam_checked", "", nil},
		{"sms only needs no spam question", "symptom=code_not_received&channels_tried=sms", []string{"try_other_channel"}, "online", "", nil},
		{"don't know skips to the next", "symptom=code_not_received&channels_tried=unknown", nil, "spam_checked", "", nil},
		{"both channels, spam", "symptom=code_not_received&channels_tried=email&channels_tried=sms&spam_checked=no", []string{"check_spam"}, "online", "", nil},
		{"offline", "symptom=code_not_received&channels_tried=email&channels_tried=sms&spam_checked=yes&online=no", []string{"no_connection"}, "", "", []string{"identifier_not_registered"}},
		{"what the contact can check fits nothing", "symptom=code_not_received&channels_tried=email&channels_tried=sms&spam_checked=yes&online=yes", nil, "", "OutcomeTryOneTitle", []string{"identifier_not_registered"}},
		{"incognito", "symptom=code_needed_often&incognito=yes", []string{"incognito_mode"}, "cookies_autodelete", "", nil},
		{"all don't know", "symptom=code_needed_often&incognito=unknown&cookies_autodelete=unknown&new_device=unknown", nil, "", "OutcomeTryManyTitle", []string{"incognito_mode", "cookies_deleted"}},
		{"all don't know, code not received", "symptom=code_not_received&channels_tried=unknown&spam_checked=unknown&online=unknown", nil, "", "OutcomeTryManyTitle", []string{"identifier_not_registered", "try_other_channel", "check_spam", "no_connection"}},
		{"all don't know, code not accepted", "symptom=code_not_accepted&vpn=unknown&used_latest_code=unknown", nil, "", "OutcomeTryManyTitle", []string{"vpn_in_use", "old_code"}},
		{"nothing fits", "symptom=code_needed_often&incognito=no&cookies_autodelete=no&new_device=no", nil, "", "OutcomeNoKnownCauseTitle", nil},
		{"what the contact can check is fine", "symptom=code_not_accepted&vpn=no&used_latest_code=yes", nil, "", "OutcomeAllFineTitle", nil},
		{"new device after don't know", "symptom=code_needed_often&incognito=no&cookies_autodelete=unknown&new_device=yes", []string{"new_device"}, "", "", []string{"cookies_deleted"}},
		{"vpn and old code", "symptom=code_not_accepted&vpn=yes&used_latest_code=no", []string{"vpn_in_use", "old_code"}, "", "", nil},
		{"the contact is never asked what only an admin sees", "symptom=code_not_accepted", nil, "vpn", "", nil},
		{"an admin's answer in the URL is ignored", "symptom=code_not_accepted&message_published=no", nil, "vpn", "", nil},
		{"answers of other symptoms are ignored", "symptom=code_not_accepted&online=no&incognito=yes", nil, "vpn", "", nil},
		{"facts that are not questions are ignored", "symptom=code_not_received&identifier=ana%40example.com&registered_emails=x", nil, "channels_tried", "", nil},
	}
	for _, lang := range locales.Languages {
		l := h.localizer(lang)
		for _, tc := range tests {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				path := "/" + lang + "/diagnose?" + tc.query
				resp, body, final := h.follow(t, path)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s status = %d; want 200", path, resp.StatusCode)
				}
				v := readDiagnose(t, body)
				var want, wantAdvice, wantLinks []string
				for _, id := range tc.wantFindings {
					want = append(want, l.T(locales.CauseTitle(id)))
					if tc.wantAsked == "" { // a question page sums the findings up in a line
						wantAdvice = append(wantAdvice, l.T(locales.CauseAdvice(id)))
					}
					wantLinks = append(wantLinks, defaultHelpURL(lang, id))
				}
				var wantTry, wantTryAdvice []string
				for _, id := range tc.wantToTry {
					wantTry = append(wantTry, l.T(locales.CauseTryTitle(id)))
					wantTryAdvice = append(wantTryAdvice, l.T(locales.CauseTryAdvice(id)))
				}
				if tc.wantAsked == "" && (!slices.Equal(v.toTry, wantTry) || !slices.Equal(v.tryAdvice, wantTryAdvice)) {
					t.Errorf("GET %s things to try = %q %q; want %q %q", path, v.toTry, v.tryAdvice, wantTry, wantTryAdvice)
				}
				if !slices.Equal(v.findings, want) || !slices.Equal(v.advice, wantAdvice) || !slices.Equal(v.links, wantLinks) {
					t.Errorf("GET %s findings = %q %q %q; want %q %q %q", path, v.findings, v.advice, v.links, want, wantAdvice, wantLinks)
				}
				if v.asked != tc.wantAsked {
					t.Errorf("GET %s asks about %q; want %q", path, v.asked, tc.wantAsked)
				}
				end := ""
				switch {
				case tc.wantAsked != "":
				case len(want) == 1:
					end = strings.ReplaceAll(l.T("OutcomeFoundOneTitle"), "{cause}", want[0])
				case len(want) > 1:
					end = strings.ReplaceAll(l.T("OutcomeFoundManyTitle"), "{n}", strconv.Itoa(len(want)))
				default:
					end = strings.ReplaceAll(l.T(tc.wantEnd), "{n}", strconv.Itoa(len(tc.wantToTry)))
				}
				if v.end != end {
					t.Errorf("GET %s outcome heading = %q; want %q", path, v.end, end)
				}
				if end != "" && !strings.HasPrefix(v.title, end+" · ") {
					t.Errorf("GET %s title = %q; want it to lead with %q", path, v.title, end)
				}
				if tc.wantAsked != "" {
					q := l.T(locales.Question(tc.wantAsked))
					if v.h1 != q || !strings.HasPrefix(v.title, q+" ("+v.progress+") · ") {
						t.Errorf("GET %s h1, title = %q, %q; want the question %q with the progress %q", path, v.h1, v.title, q, v.progress)
					}
				}
				if (end != "") != goldenReference.MatchString(v.reference) {
					t.Errorf("GET %s reference = %q; want one exactly on an outcome page", path, v.reference)
				}
				if v.feedback != (end != "") {
					t.Errorf("GET %s feedback form shown = %v; want it exactly on an outcome page", path, v.feedback)
				}

				// The page agrees with the API's own path for the same facts.
				d, err := site.DiagnosisOfPath(h.policy.Catalog, lang, final)
				if err != nil {
					t.Fatalf("diagnosisOfPath(%s) = %v", final, err)
				}
				if d.Path(lang) != final {
					t.Errorf("GET %s lands on %s; its canonical path is %s", path, final, d.Path(lang))
				}
				r, err := answer.Evaluate(context.Background(), h.policy, d.Request(), lang)
				if err != nil {
					t.Fatalf("Evaluate = %v", err)
				}
				var fromEngine []string
				for _, f := range r.Findings {
					fromEngine = append(fromEngine, f.Title)
				}
				if !slices.Equal(v.findings, fromEngine) {
					t.Errorf("GET %s findings = %q; Evaluate says %q", path, v.findings, fromEngine)
				}
				// Each answer leads to the state with it, and each answer
				// so far is listed with a link to where it is asked again.
				for _, o := range v.options {
					if !strings.HasPrefix(o, final) || strings.Count(o, "/") != strings.Count(final, "/")+1 {
						t.Errorf("GET %s answer link %s; want one more segment after %s", path, o, final)
					}
				}
				for _, a := range d.Answers {
					change, ok := v.answers[l.T(locales.Question(a.Fact))]
					if !ok {
						t.Errorf("GET %s does not list the answer about %s", path, a.Fact)
						continue
					}
					if want := d.Path(lang) + "change-" + a.Fact + "/"; change != want {
						t.Errorf("GET %s change link for %s = %q; want %q", path, a.Fact, change, want)
					}
				}
			})
		}
	}
}

// TestDiagnoseDecisionIsKept checks that the reference a contact is told
// to quote is in the decision log, marked as the site's, and kept in the
// store with the answers and findings, for support to look up.
func TestDiagnoseDecisionIsKept(t *testing.T) {
	h := newSiteHarness(t)
	path := "/en/diagnose/code_needed_often/incognito=no/cookies_autodelete=no/new_device=no/"
	_, body := h.get(t, path)
	ref := readDiagnose(t, body).reference
	if !goldenReference.MatchString(ref) {
		t.Fatalf("GET %s shows reference %q; want one", path, ref)
	}
	logged := false
	for _, line := range h.logs.Lines() {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if entry["msg"] == "decision" && entry["reference"] == ref {
			logged = true
			if entry["source"] != "site" || entry["outcome"] != knowledge.OutcomeNoKnownCause {
				t.Errorf("decision %s logged with source %v, outcome %v; want site, %s", ref, entry["source"], entry["outcome"], knowledge.OutcomeNoKnownCause)
			}
		}
	}
	if !logged {
		t.Errorf("reference %s shown on the page is not in the log:\n%s", ref, strings.Join(h.logs.Lines(), "\n"))
	}
	h.srv.decisions.Flush()
	dec, err := h.db.Decision(context.Background(), ref)
	if err != nil {
		t.Fatalf("Decision(%s) = %v", ref, err)
	}
	want := map[string]any{"incognito": false, "cookies_autodelete": false, "new_device": false}
	if dec.Source != "site" || dec.Symptom != "code_needed_often" || dec.Outcome != knowledge.OutcomeNoKnownCause ||
		dec.Revision != h.policy.Revision || !reflect.DeepEqual(dec.Facts, want) || len(dec.Findings) != 0 {
		t.Errorf("Decision(%s) = %+v; want the site's decision on %v", ref, dec, want)
	}
}

func TestDiagnoseRefusesBadValues(t *testing.T) {
	h := newSiteHarness(t)
	tests := []struct {
		path  string // below /{lang}/diagnose
		field string // the fact at fault, or "" for the symptom
	}{
		{"?symptom=no_such_symptom", ""},
		{"?symptom=code_not_received&online=maybe", "online"},
		{"?symptom=code_not_received&spam_checked=yes&spam_checked=no", "spam_checked"},
		{"?symptom=code_not_received&channels_tried=fax", "channels_tried"},
		{"?symptom=code_not_received&channels_tried=email&channels_tried=%3Cscript%3E", "channels_tried"},
		{"/no_such_symptom/", ""},
		{"/code_not_received/online=maybe/", "online"},
		{"/code_not_received/online=yes/online=no/", "online"},
		{"/code_not_received/channels_tried=/", "channels_tried"},
		{"/code_not_received/channels_tried=email-email/", "channels_tried"},
		{"/code_not_received/channels_tried=%3Cscript%3E/", "channels_tried"},
		{"/code_not_received/opted_out=no/", ""},
		{"/code_not_received/%3Cscript%3E=1/", ""},
	}
	for _, lang := range locales.Languages {
		l := h.localizer(lang)
		for _, tc := range tests {
			t.Run(lang+tc.path, func(t *testing.T) {
				path := "/" + lang + "/diagnose" + tc.path
				resp, body := h.get(t, path)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("GET %s status = %d; want 400", path, resp.StatusCode)
				}
				doc := parseHTML(t, body)
				if got, want := text(first(doc, element("h1"))), l.T("ErrorBadRequestTitle"); got != want {
					t.Errorf("GET %s heading = %q; want %q", path, got, want)
				}
				// The page names the question in the contact's words, never
				// the raw field.
				field := first(doc, hasClass("field"))
				if tc.field != "" && (field == nil || text(field) != l.T(locales.Question(tc.field))) {
					t.Errorf("GET %s names the answer %q; want the question %q", path, text(field), l.T(locales.Question(tc.field)))
				}
				if strings.Contains(body, "<script>") || strings.Contains(text(first(doc, element("main"))), "_") {
					t.Errorf("GET %s echoes markup or a raw field name", path)
				}
			})
		}
	}
	// The server keeps serving.
	if resp, _ := h.get(t, "/es/diagnose/code_not_received/"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET after bad requests = %d; want 200", resp.StatusCode)
	}
}

func TestErrorPagesAreLocalizedAndSayNothingInternal(t *testing.T) {
	h := newSiteHarness(t)
	tests := []struct {
		path   string
		status int
		lang   string
		title  string
	}{
		{"/es/no-such-page", http.StatusNotFound, "es", "ErrorNotFoundTitle"},
		{"/en/no-such-page", http.StatusNotFound, "en", "ErrorNotFoundTitle"},
		{"/no-such-page", http.StatusNotFound, "es", "ErrorNotFoundTitle"},
		{"/fr/", http.StatusNotFound, "es", "ErrorNotFoundTitle"},
		{"/es/boom", http.StatusInternalServerError, "es", "ErrorServerTitle"},
		{"/en/boom", http.StatusInternalServerError, "en", "ErrorServerTitle"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := h.get(t, tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s status = %d; want %d", tc.path, resp.StatusCode, tc.status)
			}
			doc := parseHTML(t, body)
			if got := attr(first(doc, element("html")), "lang"); got != tc.lang {
				t.Errorf("GET %s lang = %q; want %q", tc.path, got, tc.lang)
			}
			if got, want := text(first(doc, element("h1"))), h.localizer(tc.lang).T(tc.title); got != want {
				t.Errorf("GET %s heading = %q; want %q", tc.path, got, want)
			}
			for _, other := range locales.Languages {
				if other == tc.lang {
					continue
				}
				sw := first(doc, func(n *html.Node) bool { return isElement(n, "a") && attr(n, "hreflang") == other })
				if want := "/" + other + "/"; attr(sw, "href") != want {
					t.Errorf("GET %s language switch = %q; want %q (the home page in %s)", tc.path, attr(sw, "href"), want, other)
				}
			}
			for _, leak := range []string{siteSecret, "hunter2", "goroutine", ".go:"} {
				if strings.Contains(body, leak) {
					t.Errorf("GET %s shows %q", tc.path, leak)
				}
			}
		})
	}
}

// formToken reads the CSRF token of the feedback form on a page.
func formToken(t *testing.T, body string) string {
	t.Helper()
	in := first(parseHTML(t, body), func(n *html.Node) bool { return isElement(n, "input") && attr(n, "name") == web.CSRFField })
	if in == nil {
		t.Fatalf("the page has no %s field", web.CSRFField)
	}
	return attr(in, "value")
}

func TestFeedback(t *testing.T) {
	t.Parallel()
	const token = "TOKEN" // stands for the token of the page the form is on
	form := func(change ...string) url.Values {
		v := url.Values{web.CSRFField: {token}, "page": {"article"}, "reaction": {"partly"}, "revision": {"REVISION"}, "causes": {""}, "token": {"ARTICLE-TOKEN"}}
		for i := 0; i+1 < len(change); i += 2 {
			v.Set(change[i], change[i+1])
		}
		return v
	}
	without := func(v url.Values, key string) url.Values {
		v.Del(key)
		return v
	}
	diagnosis := "/diagnose/code_not_received/channels_tried=email/spam_checked=no/online=yes/"
	tests := []struct {
		name         string
		path         string
		form         url.Values
		header       []string
		wantStatus   int
		wantLocation string
		wantCauses   map[string]int // feedbacks stored per cause; nil when none is stored
	}{
		{"article", "/en/feedback", form(), nil, http.StatusSeeOther, "/en/article?thanks=1#feedback", map[string]int{}},
		{"diagnosis", "/es/feedback", form("page", "diagnose", "causes", "try_other_channel check_spam", "back", "/es"+diagnosis, "reference", "REFERENCE"), nil,
			http.StatusSeeOther, "/es" + diagnosis + "?thanks=1#feedback", map[string]int{"try_other_channel": 1, "check_spam": 1}},
		{"diagnosis in another language", "/es/feedback", form("page", "diagnose", "back", "/en"+diagnosis, "reference", "REFERENCE"), nil, http.StatusBadRequest, "", nil},
		{"diagnosis with a reference the server never gave", "/es/feedback", form("page", "diagnose", "back", "/es"+diagnosis, "reference", "3333-3333"), nil, http.StatusBadRequest, "", nil},
		{"diagnosis without its reference", "/es/feedback", form("page", "diagnose", "back", "/es"+diagnosis), nil, http.StatusBadRequest, "", nil},
		{"same origin by fetch metadata", "/en/feedback", form(web.CSRFField, ""), []string{"Sec-Fetch-Site", "same-origin"},
			http.StatusSeeOther, "/en/article?thanks=1#feedback", map[string]int{}},
		{"no token", "/en/feedback", without(form(), web.CSRFField), nil, http.StatusBadRequest, "", nil},
		{"empty token", "/en/feedback", form(web.CSRFField, ""), nil, http.StatusForbidden, "", nil},
		{"wrong token", "/en/feedback", form(web.CSRFField, "forged"), nil, http.StatusForbidden, "", nil},
		{"cross-site", "/en/feedback", form(), []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, "", nil},
		{"unknown reaction", "/en/feedback", form("reaction", "love"), nil, http.StatusBadRequest, "", nil},
		{"unknown page", "/en/feedback", form("page", "admin"), nil, http.StatusBadRequest, "", nil},
		{"personal data as a cause", "/en/feedback", form("causes", "ana@example.com"), nil, http.StatusBadRequest, "", nil},
		{"diagnosis without a way back", "/en/feedback", form("page", "diagnose", "back", "symptom=nope"), nil, http.StatusBadRequest, "", nil},
		{"article without its token", "/en/feedback", without(form(), "token"), nil, http.StatusBadRequest, "", nil},
		{"article with a forged token", "/en/feedback", form("token", "AAAAAAAAAAAAAAAAAAAAAA.forged"), nil, http.StatusBadRequest, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newSiteHarness(t)
			_, article := h.get(t, "/en/article")
			_, outcome := h.get(t, "/es"+diagnosis) // keeps a decision: its reference
			post := url.Values{}
			for k, vs := range tc.form {
				for _, v := range vs {
					v = strings.NewReplacer(token, formToken(t, article), "REVISION", h.policy.Revision, "REFERENCE", readDiagnose(t, outcome).reference,
						"ARTICLE-TOKEN", hiddenValue(t, article, "token")).Replace(v)
					post.Add(k, v)
				}
			}
			resp, _ := h.do(t, http.MethodPost, tc.path, post, tc.header...)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("POST %s %v status = %d; want %d", tc.path, post, resp.StatusCode, tc.wantStatus)
			}
			if got := resp.Header.Get("Location"); got != tc.wantLocation {
				t.Errorf("POST %s Location = %q; want %q", tc.path, got, tc.wantLocation)
			}
			want := 1
			if tc.wantCauses == nil {
				want = 0
			}
			if got := feedbackCount(t, h.db); got != want {
				t.Errorf("POST %s stored %d feedbacks; want %d", tc.path, got, want)
			}
			if tc.wantCauses == nil {
				return
			}
			counts, err := h.db.FeedbackCounts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			causes := map[string]int{}
			for _, c := range counts.ByCause {
				causes[c.Key] = c.Total()
			}
			if !reflect.DeepEqual(causes, tc.wantCauses) {
				t.Errorf("POST %s feedback per cause = %v; want %v", tc.path, causes, tc.wantCauses)
			}
			// The page it leads to says thank you instead of asking again.
			_, thanked := h.get(t, strings.TrimSuffix(tc.wantLocation, "#feedback"))
			lang := strings.Split(tc.path, "/")[1]
			if want := h.localizer(lang).T("FeedbackThanks"); !strings.Contains(thanked, html.EscapeString(want)) {
				t.Errorf("GET %s does not say %q", tc.wantLocation, want)
			}
		})
	}
}

func TestFeedbackIsRateLimited(t *testing.T) {
	h := newSiteHarness(t)
	_, article := h.get(t, "/es/article")
	form := url.Values{web.CSRFField: {formToken(t, article)}, "page": {"article"}, "reaction": {"yes"}, "revision": {h.policy.Revision}}
	for i := range site.FeedbackBurst {
		form.Set("token", h.srv.site.FeedbackToken("article", h.policy.Revision)) // a fresh page each time
		if resp, _ := h.do(t, http.MethodPost, "/es/feedback", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("feedback %d status = %d; want 303", i+1, resp.StatusCode)
		}
	}
	form.Set("token", h.srv.site.FeedbackToken("article", h.policy.Revision))
	resp, body := h.do(t, http.MethodPost, "/es/feedback", form)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("feedback %d status = %d; want 429", site.FeedbackBurst+1, resp.StatusCode)
	}
	if want := h.localizer("es").T("ErrorTooManyTitle"); !strings.Contains(body, want) {
		t.Errorf("the 429 page does not say %q", want)
	}
	if got := feedbackCount(t, h.db); got != site.FeedbackBurst {
		t.Errorf("stored %d feedbacks; want %d", got, site.FeedbackBurst)
	}
	// Pages are not limited.
	if resp, _ := h.get(t, "/es/article"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /es/article after the limit = %d; want 200", resp.StatusCode)
	}
}

// TestPublishedTextsShowAtOnce swaps in a policy whose texts changed, as a
// publish does, and expects the next page to show the new text.
func TestPublishedTextsShowAtOnce(t *testing.T) {
	h := newSiteHarness(t)
	path := "/en/diagnose/code_needed_often/incognito=yes/cookies_autodelete=no/new_device=no/"
	old := h.localizer("en").T(locales.CauseTitle("incognito_mode"))
	if _, body := h.get(t, path); !strings.Contains(body, html.EscapeString(old)) {
		t.Fatalf("GET %s does not show %q", path, old)
	}
	src := h.policy.Source.Clone()
	const changed = "Private window detected (edited)"
	src.Messages[locales.FileName("en")] = bytes.Replace(src.Messages[locales.FileName("en")], []byte(`"`+old+`"`), []byte(`"`+changed+`"`), 1)
	p, err := rules.Build(context.Background(), src, rules.Options{SkipTests: true})
	if err != nil {
		t.Fatalf("Build(edited texts) = %v", err)
	}
	h.engine.Swap(p)
	_, body := h.get(t, path)
	if !strings.Contains(body, changed) || strings.Contains(body, html.EscapeString(old)) {
		t.Errorf("after publishing, GET %s does not show %q instead of %q", path, changed, old)
	}
	if !strings.Contains(body, p.Revision) {
		t.Errorf("after publishing, the feedback form does not carry the new revision %s", p.Revision)
	}
}

func TestStaticFiles(t *testing.T) {
	h := newSiteHarness(t)
	css := h.srv.site.AssetURL("site.css")
	tests := []struct {
		name         string
		path         string
		header       []string
		wantStatus   int
		wantType     string
		wantCache    string
		wantEncoding string
	}{
		{"versioned", css, nil, http.StatusOK, "text/css", "immutable", ""},
		{"gzipped", css, []string{"Accept-Encoding", "gzip"}, http.StatusOK, "text/css", "immutable", "gzip"},
		{"unversioned", "/static/site.css", nil, http.StatusOK, "text/css", "max-age=3600", ""},
		{"icon", h.srv.site.AssetURL("icon.svg"), nil, http.StatusOK, "image/svg+xml", "immutable", ""},
		{"missing", "/static/nope.js", nil, http.StatusNotFound, "text/html", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.url+tc.path, nil)
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			// A transport that leaves the body as sent.
			resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) {
				t.Fatalf("GET %s = %d %s; want %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.wantStatus, tc.wantType)
			}
			if !strings.Contains(resp.Header.Get("Cache-Control"), tc.wantCache) {
				t.Errorf("GET %s Cache-Control = %q; want %q in it", tc.path, resp.Header.Get("Cache-Control"), tc.wantCache)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("GET %s Content-Encoding = %q; want %q", tc.path, got, tc.wantEncoding)
			}
			if tc.wantEncoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("GET %s: not gzip: %v", tc.path, err)
				}
				plain, _ := io.ReadAll(zr)
				if !bytes.Equal(plain, h.srv.site.Assets()[strings.TrimPrefix(h.srv.site.AssetURL("site.css"), "/static/")]) {
					t.Errorf("GET %s gunzipped differs from the file", tc.path)
				}
			}
			if tc.wantStatus == http.StatusOK {
				req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
				again, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				again.Body.Close()
				if again.StatusCode != http.StatusNotModified {
					t.Errorf("GET %s with If-None-Match = %d; want 304", tc.path, again.StatusCode)
				}
			}
		})
	}
}

// BenchmarkDiagnosePage measures one step of the self-diagnosis that has
// findings and a question: the whole request through the server (parse the
// path, settle it with the rules, log the decision, render), and its
// parts: settling alone and the rendering of the page alone. It reports the
// page's size, plain and gzipped.
func BenchmarkDiagnosePage(b *testing.B) {
	h := newSiteHarness(b)
	h.srv.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	handler := h.srv.Handler()
	const lang = "en"
	path := "/" + lang + "/diagnose/code_not_received/channels_tried=email/spam_checked=no/"

	b.Run("request", func(b *testing.B) {
		var size, gzSize int
		for b.Loop() {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("GET %s = %d", path, rec.Code)
			}
			size = rec.Body.Len()
		}
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		gzSize = rec.Body.Len()
		b.ReportMetric(float64(size), "page-bytes")
		b.ReportMetric(float64(gzSize), "gzip-bytes")
	})

	d, err := site.DiagnosisOfPath(h.policy.Catalog, lang, path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := locales.WithLocalizer(context.Background(), h.localizer(lang))
	b.Run("settle", func(b *testing.B) {
		for b.Loop() {
			if _, err := flow.Settle(ctx, evaluateUnder, h.policy, d, lang); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("render", func(b *testing.B) {
		st, err := flow.Settle(ctx, evaluateUnder, h.policy, d, lang)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			page := h.srv.site.DiagnosePage(ctx, evaluateUnder, h.policy, st, "", "token", false)
			if err := templates.Diagnose(page).Render(ctx, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// HTML helpers.

func parseHTML(tb testing.TB, body string) *html.Node {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		tb.Fatalf("html.Parse = %v", err)
	}
	return doc
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

func first(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	for c := range n.Descendants() {
		if match(c) {
			return c
		}
	}
	return nil
}

func isElement(n *html.Node, tag string) bool { return n.Type == html.ElementNode && n.Data == tag }

func element(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return isElement(n, tag) }
}

func hasClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Type == html.ElementNode && slices.Contains(strings.Fields(attr(n, "class")), class)
	}
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

// text is the text inside n, with runs of spaces made one.
func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// decisionsLogged is how many decisions the server has logged.
func decisionsLogged(tb testing.TB, logs *syncBuffer) int {
	tb.Helper()
	n := 0
	for _, line := range logs.Lines() {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		if entry["msg"] == "decision" {
			n++
		}
	}
	return n
}

// TestStaticServerIsNotRateLimited checks that the server the export
// renders with needs no lifted limits: its self-diagnosis answers every
// state asked, however many, where a live server refuses the same client
// after its burst (TestDiagnoseIsRateLimited).
func TestStaticServerIsNotRateLimited(t *testing.T) {
	h := newSiteHarness(t, Config{Static: true})
	path := "/es/diagnose/code_not_received/channels_tried=sms/online=no/"
	for i := range 3 * site.DefaultDiagnoseBurst {
		if resp, _ := h.get(t, path); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s #%d on the static server = %d; want 200", path, i+1, resp.StatusCode)
		}
	}
}

// TestDiagnoseIsRateLimited checks that the self-diagnosis, which runs the
// rules as the API does, is no way around the API's rate limit: a client
// that keeps asking is refused with the localized 429 page, and the rules
// are not run for it.
func TestDiagnoseIsRateLimited(t *testing.T) {
	h := newSiteHarness(t, Config{})
	path := "/es/diagnose/code_not_received/channels_tried=sms/online=no/"
	served, most := 0, 3*site.DefaultDiagnoseBurst
	var refused *http.Response
	var body string
	for range most {
		resp, b := h.get(t, path)
		if resp.StatusCode == http.StatusTooManyRequests {
			refused, body = resp, b
			break
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s status = %d; want 200 or 429", path, resp.StatusCode)
		}
		served++
	}
	if refused == nil {
		t.Fatalf("GET %s %d times in a row: all served; want 429 after about %d", path, most, site.DefaultDiagnoseBurst)
	}
	if served < site.DefaultDiagnoseBurst {
		t.Errorf("GET %s served %d times before 429; want at least the burst, %d", path, served, site.DefaultDiagnoseBurst)
	}
	if refused.Header.Get("Retry-After") == "" {
		t.Errorf("GET %s 429 has no Retry-After", path)
	}
	if got := refused.Header.Get("Content-Language"); got != "es" {
		t.Errorf("GET %s 429 Content-Language = %q; want es", path, got)
	}
	if got, want := text(first(parseHTML(t, body), element("h1"))), h.localizer("es").T("ErrorTooManyTitle"); got != want {
		t.Errorf("GET %s 429 heading = %q; want %q", path, got, want)
	}
	if got := decisionsLogged(t, h.logs); got != served {
		t.Errorf("decisions logged = %d; want %d, one per page served and none for the refused one", got, served)
	}
	// Other pages are not limited, and the limit is the client's, whatever
	// the language.
	if resp, _ := h.get(t, "/es/article"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /es/article after the limit = %d; want 200", resp.StatusCode)
	}
	if resp, _ := h.get(t, "/en/diagnose?symptom=code_not_received"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("GET /en/diagnose after the limit = %d; want 429", resp.StatusCode)
	}
}

// TestFeedbackStoresOnlyWhatTheServerKnows posts feedback whose form was
// tampered with: the causes stored are those the rules give the diagnosis
// the feedback is about, the article gets none, and a revision the server
// never served is refused.
func TestFeedbackStoresOnlyWhatTheServerKnows(t *testing.T) {
	t.Parallel()
	const older = "older-revision"
	diagnosis := "/en/diagnose/code_not_received/channels_tried=email/spam_checked=no/online=yes/"
	tests := []struct {
		name          string
		form          url.Values // the revision "CURRENT" stands for the policy's
		wantStatus    int
		wantField     string         // the field a 400 names
		wantCauses    map[string]int // nil when nothing is stored
		wantRevisions map[string]int
	}{
		{"a diagnosis with forged causes", url.Values{"page": {"diagnose"}, "causes": {"identifier_not_registered made_up_cause"}, "revision": {"CURRENT"}, "back": {diagnosis}, "reference": {"REFERENCE"}},
			http.StatusSeeOther, "", map[string]int{"try_other_channel": 1, "check_spam": 1}, map[string]int{"CURRENT": 1}},
		{"a diagnosis without its causes", url.Values{"page": {"diagnose"}, "causes": {""}, "revision": {"CURRENT"}, "back": {diagnosis}, "reference": {"REFERENCE"}},
			http.StatusSeeOther, "", map[string]int{"try_other_channel": 1, "check_spam": 1}, map[string]int{"CURRENT": 1}},
		{"a reference the API gave", url.Values{"page": {"diagnose"}, "revision": {"CURRENT"}, "back": {diagnosis}, "reference": {"API-REFERENCE"}},
			http.StatusBadRequest, "reference", nil, nil},
		{"causes on the article", url.Values{"page": {"article"}, "causes": {"check_spam try_other_channel"}, "revision": {"CURRENT"}, "token": {"TOKEN-CURRENT"}},
			http.StatusSeeOther, "", map[string]int{}, map[string]int{"CURRENT": 1}},
		{"a revision never served", url.Values{"page": {"article"}, "revision": {"made-up-revision"}, "token": {"TOKEN-MADE-UP"}},
			http.StatusBadRequest, "revision", nil, nil},
		// The revision is the kept decision's, whatever the form says.
		{"a revision never served on a diagnosis", url.Values{"page": {"diagnose"}, "revision": {"made-up-revision"}, "back": {diagnosis}, "reference": {"REFERENCE"}},
			http.StatusSeeOther, "", map[string]int{"try_other_channel": 1, "check_spam": 1}, map[string]int{"CURRENT": 1}},
		{"a stored older revision on the article", url.Values{"page": {"article"}, "revision": {older}, "token": {"TOKEN-OLDER"}},
			http.StatusSeeOther, "", map[string]int{}, map[string]int{older: 1}},
		{"a token for another revision", url.Values{"page": {"article"}, "revision": {"CURRENT"}, "token": {"TOKEN-OLDER"}},
			http.StatusBadRequest, "token", nil, nil},
		// The causes are the current rules', so the revision is too.
		{"a stored older revision on a diagnosis", url.Values{"page": {"diagnose"}, "revision": {older}, "back": {diagnosis}, "reference": {"REFERENCE"}},
			http.StatusSeeOther, "", map[string]int{"try_other_channel": 1, "check_spam": 1}, map[string]int{"CURRENT": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newSiteHarness(t)
			if _, err := h.db.AddRevision(context.Background(), store.Revision{ID: older, Source: h.policy.Source, PublishedAt: time.Now()}); err != nil {
				t.Fatalf("AddRevision(%s) = %v", older, err)
			}
			_, article := h.get(t, "/en/article")
			_, outcome := h.get(t, diagnosis)
			apiRef := apiReference(t, h)
			post := url.Values{web.CSRFField: {formToken(t, article)}, "reaction": {"no"}}
			for k, vs := range tc.form {
				for _, v := range vs {
					post.Add(k, strings.NewReplacer(
						"TOKEN-CURRENT", h.srv.site.FeedbackToken("article", h.policy.Revision),
						"TOKEN-OLDER", h.srv.site.FeedbackToken("article", older),
						"TOKEN-MADE-UP", h.srv.site.FeedbackToken("article", "made-up-revision"),
						"CURRENT", h.policy.Revision, "API-REFERENCE", apiRef, "REFERENCE", readDiagnose(t, outcome).reference).Replace(v))
				}
			}
			resp, body := h.do(t, http.MethodPost, "/en/feedback", post)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("POST /en/feedback %v status = %d; want %d", post, resp.StatusCode, tc.wantStatus)
			}
			if tc.wantField != "" && !strings.Contains(body, html.EscapeString(h.localizer("en").T("ErrorBadRequestTitle"))) {
				t.Errorf("POST /en/feedback %v (bad %s) does not show the bad request page", post, tc.wantField)
			}
			counts, err := h.db.FeedbackCounts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantCauses == nil {
				if n := feedbackCount(t, h.db); n != 0 {
					t.Errorf("POST /en/feedback %v stored %d feedbacks; want none", post, n)
				}
				return
			}
			causes, revisions := map[string]int{}, map[string]int{}
			for _, c := range counts.ByCause {
				causes[c.Key] = c.Total()
			}
			for _, c := range counts.ByRevision {
				revisions[strings.ReplaceAll(c.Key, h.policy.Revision, "CURRENT")] = c.Total()
			}
			if !reflect.DeepEqual(causes, tc.wantCauses) {
				t.Errorf("POST /en/feedback %v feedback per cause = %v; want %v", post, causes, tc.wantCauses)
			}
			if !reflect.DeepEqual(revisions, tc.wantRevisions) {
				t.Errorf("POST /en/feedback %v feedback per revision = %v; want %v", post, revisions, tc.wantRevisions)
			}
		})
	}
}

// TestFeedbackBodyIsBounded posts feedback around the bound on its body,
// with its length declared and without (chunked): over the bound is 413,
// however the body comes, and nothing is stored.
func TestFeedbackBodyIsBounded(t *testing.T) {
	tests := []struct {
		name    string
		size    int // bytes of padding in the form
		chunked bool
		want    int
	}{
		{"under the bound", site.MaxFeedbackBody / 2, false, http.StatusSeeOther},
		{"under the bound, chunked", site.MaxFeedbackBody / 2, true, http.StatusSeeOther},
		{"over the bound", site.MaxFeedbackBody + 1, false, http.StatusRequestEntityTooLarge},
		{"over the bound, chunked", site.MaxFeedbackBody + 1, true, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newSiteHarness(t)
			_, article := h.get(t, "/en/article")
			form := url.Values{web.CSRFField: {formToken(t, article)}, "page": {"article"}, "reaction": {"yes"}, "revision": {h.policy.Revision},
				"token": {hiddenValue(t, article, "token")}, "padding": {strings.Repeat("x", tc.size)}}
			var body io.Reader = strings.NewReader(form.Encode())
			if tc.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, err := http.NewRequest(http.MethodPost, h.url+"/en/feedback", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := h.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("POST /en/feedback with %d bytes of padding (chunked %v) = %d; want %d", tc.size, tc.chunked, resp.StatusCode, tc.want)
			}
			stored := 0
			if tc.want == http.StatusSeeOther {
				stored = 1
			} else if got := resp.Header.Get("Content-Language"); got != "en" || !strings.Contains(string(page), `lang="en"`) {
				t.Errorf("POST /en/feedback %d answers Content-Language %q; want an English page", resp.StatusCode, got)
			}
			if got := feedbackCount(t, h.db); got != stored {
				t.Errorf("POST /en/feedback with %d bytes of padding stored %d feedbacks; want %d", tc.size, got, stored)
			}
		})
	}
}

// TestSitePagesAnswerHEAD checks that every page answers HEAD as it
// answers GET (status, type, language, redirect), without the body.
func TestSitePagesAnswerHEAD(t *testing.T) {
	h := newSiteHarness(t)
	paths := []string{"/", h.srv.site.AssetURL("site.css")}
	for _, lang := range locales.Languages {
		paths = append(paths, "/"+lang)
		for _, pg := range sitePages {
			if pg.name != "server-error" {
				paths = append(paths, "/"+lang+"/"+pg.path)
			}
		}
		paths = append(paths, "/"+lang+"/language?next="+url.QueryEscape("/"+lang+"/article"))
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			get, _ := h.get(t, path)
			head, body := h.do(t, http.MethodHead, path, nil)
			if head.StatusCode != get.StatusCode {
				t.Fatalf("HEAD %s status = %d; want %d as GET", path, head.StatusCode, get.StatusCode)
			}
			if body != "" {
				t.Errorf("HEAD %s has a body of %d bytes; want none", path, len(body))
			}
			for _, name := range []string{"Content-Type", "Content-Language", "Location", "Cache-Control"} {
				if got, want := head.Header.Get(name), get.Header.Get(name); got != want {
					t.Errorf("HEAD %s %s = %q; want %q as GET", path, name, got, want)
				}
			}
		})
	}
}

// TestSiteWrongMethodIs405 checks that a page asked with a method it does
// not answer says so (405, with the methods it answers), on a localized
// page, rather than that it does not exist.
func TestSiteWrongMethodIs405(t *testing.T) {
	h := newSiteHarness(t)
	tests := []struct {
		method, path string
		lang         string
		allow        string // a method the Allow header must list
	}{
		{http.MethodPost, "/es/", "es", http.MethodGet},
		{http.MethodPost, "/en", "en", http.MethodGet},
		{http.MethodPut, "/en/article", "en", http.MethodGet},
		{http.MethodDelete, "/es/diagnose", "es", http.MethodHead},
		{http.MethodPost, "/en/language", "en", http.MethodGet},
		{http.MethodGet, "/es/feedback", "es", http.MethodPost},
		{http.MethodDelete, "/en/feedback", "en", http.MethodPost},
		{http.MethodPost, "/", "es", http.MethodGet},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := h.do(t, tc.method, tc.path, url.Values{})
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("%s %s status = %d; want 405", tc.method, tc.path, resp.StatusCode)
			}
			if allow := resp.Header.Get("Allow"); !strings.Contains(allow, tc.allow) {
				t.Errorf("%s %s Allow = %q; want %s in it", tc.method, tc.path, allow, tc.allow)
			}
			if got := attr(first(parseHTML(t, body), element("html")), "lang"); got != tc.lang {
				t.Errorf("%s %s page lang = %q; want %q", tc.method, tc.path, got, tc.lang)
			}
		})
	}
}

// apiReference is the reference of a decision the API made, kept with
// source "api".
func apiReference(t *testing.T, h *siteHarness) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/api/v1/evaluate", strings.NewReader(`{"symptom":"code_not_received","facts":{"channels_tried":["email"],"spam_checked":false,"online":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Reference string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Reference == "" {
		t.Fatalf("the API gave no reference: %v", err)
	}
	return r.Reference
}

// TestFeedbackOncePerDecision replays a diagnosis's feedback: the second
// post is refused, and the counts hold one.
func TestFeedbackOncePerDecision(t *testing.T) {
	h := newSiteHarness(t)
	path := "/en/diagnose/code_needed_often/incognito=yes/cookies_autodelete=no/new_device=no/"
	_, page := h.get(t, path)
	post := url.Values{web.CSRFField: {formToken(t, page)}, "page": {"diagnose"}, "reaction": {"yes"},
		"back": {path}, "reference": {readDiagnose(t, page).reference}, "revision": {h.policy.Revision}}
	for i, want := range []int{http.StatusSeeOther, http.StatusBadRequest} {
		if resp, _ := h.do(t, http.MethodPost, "/en/feedback", post); resp.StatusCode != want {
			t.Errorf("feedback #%d on one decision = %d; want %d", i+1, resp.StatusCode, want)
		}
	}
	if n := feedbackCount(t, h.db); n != 1 {
		t.Errorf("%d feedbacks stored for one decision; want 1", n)
	}
}

// hiddenValue is the value of the page's hidden field name.
func hiddenValue(t *testing.T, body, name string) string {
	t.Helper()
	in := first(parseHTML(t, body), func(n *html.Node) bool { return isElement(n, "input") && attr(n, "name") == name })
	if in == nil {
		t.Fatalf("the page has no %s field", name)
	}
	return attr(in, "value")
}

// TestArticleFeedbackOncePerToken replays the article's feedback: the
// second post with the same signed token is refused.
func TestArticleFeedbackOncePerToken(t *testing.T) {
	h := newSiteHarness(t)
	_, page := h.get(t, "/en/article")
	post := url.Values{web.CSRFField: {formToken(t, page)}, "page": {"article"}, "reaction": {"yes"},
		"revision": {h.policy.Revision}, "token": {hiddenValue(t, page, "token")}}
	for i, want := range []int{http.StatusSeeOther, http.StatusBadRequest} {
		if resp, _ := h.do(t, http.MethodPost, "/en/feedback", post); resp.StatusCode != want {
			t.Errorf("feedback #%d with one token = %d; want %d", i+1, resp.StatusCode, want)
		}
	}
	if n := feedbackCount(t, h.db); n != 1 {
		t.Errorf("%d feedbacks stored for one token; want 1", n)
	}
}

// TestReferenceStaysForTheOutcome: a reference, once shown, stays for that
// outcome in that browser: on reload, after feedback and in the other
// language; the decision is kept once under it. Another browser, another
// outcome or a cookie the server did not sign gets a new reference.
func TestReferenceStaysForTheOutcome(t *testing.T) {
	h := newSiteHarness(t)
	state := "diagnose/code_needed_often/incognito=unknown/cookies_autodelete=no/new_device=no/"
	refOf := func(path string) (string, string) {
		t.Helper()
		resp, body, _ := h.follow(t, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d; want 200", path, resp.StatusCode)
		}
		ref := readDiagnose(t, body).reference
		if !goldenReference.MatchString(ref) {
			t.Fatalf("GET %s shows reference %q; want one", path, ref)
		}
		return ref, body
	}
	first, page := refOf("/es/" + state)
	if again, _ := refOf("/es/" + state); again != first {
		t.Errorf("reload shows reference %s; want %s", again, first)
	}
	if en, _ := refOf("/en/" + state); en != first {
		t.Errorf("the English page shows reference %s; want %s", en, first)
	}
	post := url.Values{web.CSRFField: {formToken(t, page)}, "page": {"diagnose"}, "reaction": {"yes"},
		"back": {"/es/" + state}, "reference": {first}, "revision": {h.policy.Revision}}
	resp, _ := h.do(t, http.MethodPost, "/es/feedback", post)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("feedback = %d; want 303", resp.StatusCode)
	}
	if after, _ := refOf(resp.Header.Get("Location")); after != first {
		t.Errorf("after feedback the page shows reference %s; want %s", after, first)
	}
	h.srv.decisions.Flush()
	if _, err := h.db.Decision(context.Background(), first); err != nil {
		t.Errorf("Decision(%s) = %v; want the decision kept under the reference shown", first, err)
	}
	if n := decisionCount(t, h.db); n != 1 {
		t.Errorf("%d decisions kept for one outcome shown four times; want 1", n)
	}

	other := newClient(t, h.url)
	if _, body := other.get(t, "/es/"+state); readDiagnose(t, body).reference == first {
		t.Errorf("another browser shows reference %s too; want its own", first)
	}
	if ref, _ := refOf("/es/diagnose/code_needed_often/incognito=yes/cookies_autodelete=no/new_device=no/"); ref == first {
		t.Errorf("another outcome shows reference %s too; want its own", first)
	}

	forger := newClient(t, h.url)
	u, err := url.Parse(h.url)
	if err != nil {
		t.Fatal(err)
	}
	_, body := forger.get(t, "/es/"+state)
	mine := readDiagnose(t, body).reference
	for _, ck := range forger.client.Jar.Cookies(u) {
		if ck.Name != site.RefCookie {
			continue
		}
		parts := strings.Split(ck.Value, ".")
		forged := first + "." + parts[1] + "." + parts[2]
		forger.client.Jar.SetCookies(u, []*http.Cookie{{Name: site.RefCookie, Value: forged, Path: "/"}})
	}
	if _, body := forger.get(t, "/es/"+state); readDiagnose(t, body).reference == first {
		t.Errorf("a cookie naming reference %s under another's signature shows it; want it refused", first)
	} else if readDiagnose(t, body).reference == mine {
		t.Errorf("a forged cookie still shows the browser's reference %s; want a new one", mine)
	}
}

// decisionCount is how many decisions the store keeps.
func decisionCount(t *testing.T, db *store.DB) int {
	t.Helper()
	recent, err := db.RecentDecisions(context.Background(), 1000)
	if err != nil {
		t.Fatalf("RecentDecisions = %v", err)
	}
	return len(recent)
}

// TestChangeKeepsTheOtherAnswers: "Change" asks an answered question again
// with the current answer marked; a new answer keeps the answers that still
// apply and leads back to where the contact was.
func TestChangeKeepsTheOtherAnswers(t *testing.T) {
	h := newSiteHarness(t)
	tests := []struct {
		name, state, fact, choose, want string
	}{
		{"a later answer still applies", "code_needed_often/incognito=yes/cookies_autodelete=no/new_device=no/", "incognito", "no",
			"code_needed_often/incognito=no/cookies_autodelete=no/new_device=no/"},
		{"an answer that no longer applies is dropped", "code_not_received/channels_tried=email/spam_checked=no/online=yes/", "channels_tried", "sms",
			"code_not_received/channels_tried=sms/online=yes/"},
		{"the last answer", "code_not_accepted/vpn=no/used_latest_code=yes/", "used_latest_code", "unknown",
			"code_not_accepted/vpn=no/used_latest_code=unknown/"},
	}
	for _, lang := range locales.Languages {
		l := h.localizer(lang)
		for _, tc := range tests {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				page := "/" + lang + "/diagnose/" + tc.state
				_, body := h.get(t, page)
				change := readDiagnose(t, body).answers[l.T(locales.Question(tc.fact))]
				resp, body := h.get(t, change)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %d; want 200", change, resp.StatusCode)
				}
				v := readDiagnose(t, body)
				if v.asked != tc.fact || v.h1 != l.T(locales.Question(tc.fact)) {
					t.Errorf("GET %s asks %q (%q); want %s", change, v.asked, v.h1, tc.fact)
				}
				if v.current != page {
					t.Errorf("GET %s marks %q as the current answer; want %q", change, v.current, page)
				}
				var pick string
				for _, o := range v.options {
					seg := strings.TrimSuffix(o, "/")
					seg = seg[strings.LastIndex(seg, "/")+1:]
					if strings.Contains(o, tc.fact+"="+tc.choose+"/") && seg != "" {
						pick = o
					}
				}
				if pick == "" {
					t.Fatalf("GET %s offers %v; want an answer %s=%s", change, v.options, tc.fact, tc.choose)
				}
				_, _, final := h.follow(t, pick)
				if want := "/" + lang + "/diagnose/" + tc.want; final != want {
					t.Errorf("answering %s=%s again lands on %s; want %s", tc.fact, tc.choose, final, want)
				}
			})
		}
	}
}

// TestHelpExplainsEveryCause: every cause of the rules has its explanation
// to contacts on the contacts' page, in every language, where findings and
// things to try link.
func TestHelpExplainsEveryCause(t *testing.T) {
	h := newSiteHarness(t)
	for _, lang := range locales.Languages {
		_, body := h.get(t, "/"+lang+"/help")
		doc := parseHTML(t, body)
		for _, c := range h.policy.Catalog.Causes {
			n := first(doc, func(n *html.Node) bool { return attr(n, "id") == c.ID })
			if n == nil || !strings.HasPrefix(n.Data, "h") {
				t.Errorf("/%s/help has no heading with id %s; want the cause explained to contacts", lang, c.ID)
				continue
			}
			if got := h.srv.site.CauseURL(h.policy.Catalog, lang, c.ID); got != defaultHelpURL(lang, c.ID) {
				t.Errorf("CauseURL(%s, %s) = %s; want %s", lang, c.ID, got, defaultHelpURL(lang, c.ID))
			}
		}
	}
}
