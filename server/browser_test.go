package server

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
)

// screenshotDir is where the browser tests write their screenshots: the
// screenshots folder at the top of the repository (git-ignored).
var screenshotDir = filepath.Join("..", "screenshots")

// needTool returns what find found, or ends the test: skipped on a
// developer's machine that lacks the tool, failed under CI, where the tool
// must be installed.
func needTool(t *testing.T, what string, find func() (string, error)) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("an end-to-end test (needs %s): skipped with -short", what)
	}
	path, err := find()
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is needed under CI: %v", what, err)
	}
	t.Skipf("skipping: %s is not installed (%v); CI installs it", what, err)
	return ""
}

// chromium finds the Chromium binary.
func chromium(t *testing.T) string {
	return needTool(t, "Chromium", func() (string, error) {
		var errs []string
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			path, err := exec.LookPath(name)
			if err == nil {
				return path, nil
			}
			errs = append(errs, err.Error())
		}
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	})
}

// newBrowser starts a headless Chromium with a fresh profile for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// Without the back-forward cache, going back loads the page again,
		// which chromedp can follow. The pages work either way.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,BackForwardCache"),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return browser
}

// tab is one browser tab driven by a test, with the console errors it saw.
type tab struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// newTab opens a tab, with JavaScript on or off, that records every error
// the page logs (a resource that failed to load, a refused style or
// script).
func newTab(t *testing.T, browser context.Context, javascript bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	tb := &tab{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				msg = fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
		}
		if msg != "" {
			tb.mu.Lock()
			tb.errs = append(tb.errs, msg)
			tb.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("Log.enable: %v", err)
	}
	if !javascript {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("disabling JavaScript: %v", err)
		}
	}
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errs {
			t.Errorf("the browser logged an error: %s", e)
		}
	})
	return tb
}

// open loads a URL and waits for the page.
func (tb *tab) open(u string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(u)); err != nil {
		tb.t.Fatalf("opening %s: %v", u, err)
	}
}

// forget drops the errors logged about loading u, a page that fails on
// purpose.
func (tb *tab) forget(u string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errs = slices.DeleteFunc(tb.errs, func(e string) bool { return strings.HasSuffix(e, "("+u+")") })
}

// click clicks the first element matching a CSS selector and waits for the
// page it leads to.
func (tb *tab) click(selector string) {
	tb.t.Helper()
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		tb.t.Fatalf("clicking %s: %v", selector, err)
	}
	if resp.Status >= 400 {
		tb.t.Fatalf("clicking %s led to %s: %d", selector, resp.URL, resp.Status)
	}
}

// tick clicks a check box, which leads nowhere.
func (tb *tab) tick(selector string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		tb.t.Fatalf("ticking %s: %v", selector, err)
	}
}

// location is the address of the page shown.
func (tb *tab) location() *url.URL {
	tb.t.Helper()
	h, err := chromedp.Call(tb.ctx, page.GetNavigationHistory, cdp.Empty{})
	if err != nil {
		tb.t.Fatalf("reading the location: %v", err)
	}
	u, err := url.Parse(h.Entries[h.CurrentIndex].URL)
	if err != nil {
		tb.t.Fatalf("reading the location: %v", err)
	}
	return u
}

// back goes back in the tab's history, as the back button does, and checks
// that the page shown is want.
func (tb *tab) back(want *url.URL) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.NavigateBack()); err != nil {
		tb.t.Fatalf("going back: %v", err)
	}
	if got := tb.location(); got.String() != want.String() {
		tb.t.Errorf("back leads to %s; want %s", got, want)
	}
}

// html is the page's document as the browser has it now. Right after a
// navigation Chromium can still answer with the node ids of the page before
// ("No node with given id found"); the read is then tried again on the new
// document, a few times at most.
func (tb *tab) html() string {
	tb.t.Helper()
	var err error
	for range 5 {
		var s string
		if s, err = chromedp.Run(tb.ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
			return s
		}
		if !strings.Contains(err.Error(), "No node with given id") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("reading the page: %v", err)
	return ""
}

// screenshot writes the page, whole, at a width, to the screenshots folder.
func (tb *tab) screenshot(name string, width int64) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
		tb.t.Fatalf("setting the viewport: %v", err)
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if _, err := chromedp.Call(tb.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		tb.t.Fatalf("resetting the viewport: %v", err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	file := filepath.Join(screenshotDir, fmt.Sprintf("%s-%d.png", name, width))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// browserPath is a contact's way through the self-diagnosis for one
// symptom: the answer they give to each question, the questions they
// should be asked, and what they should be told; then the answer they
// change, and what they should be told after.
type browserPath struct {
	symptom      string
	answers      map[string][]string
	wantAsked    []string
	wantFindings []string // cause ids
	wantEnd      string   // message id of the outcome's heading, when nothing is found
	change       string
	changeTo     []string
	wantChanged  []string // cause ids after the change
}

var browserPaths = []browserPath{
	{
		symptom: "code_not_received",
		answers: map[string][]string{
			"channels_tried": {"email"}, "spam_checked": {"no"}, "online": {"unknown"},
		},
		wantAsked:    []string{"channels_tried", "spam_checked", "online"},
		wantFindings: []string{"try_other_channel", "check_spam"},
		change:       "channels_tried",
		changeTo:     []string{"email", "sms"},
		wantChanged:  []string{"check_spam"},
	},
	{
		symptom:      "code_needed_often",
		answers:      map[string][]string{"incognito": {"no"}, "cookies_autodelete": {"unknown"}, "new_device": {"yes"}},
		wantAsked:    []string{"incognito", "cookies_autodelete", "new_device"},
		wantFindings: []string{"new_device"},
		change:       "incognito",
		changeTo:     []string{"yes"},
		wantChanged:  []string{"incognito_mode", "new_device"},
	},
	{
		symptom:     "code_not_accepted",
		answers:     map[string][]string{"vpn": {"no"}, "used_latest_code": {"yes"}},
		wantAsked:   []string{"vpn", "used_latest_code"},
		wantEnd:     "OutcomeAllFineTitle",
		change:      "vpn",
		changeTo:    []string{"yes"},
		wantChanged: []string{"vpn_in_use"},
	},
}

// supportURL is the support page the browser tests configure.
const supportURL = "https://support.example.com/login-help"

// checkLookup signs an admin in and looks the reference up: the decision is
// there, and the admin answers what only an admin can check for the
// symptom, "the contact opted out" or "not published", and sees the
// complete findings.
func checkLookup(t *testing.T, h *siteHarness, ref, symptom string) {
	t.Helper()
	ts := &testServer{Server: h.srv, URL: h.url, policy: h.policy, db: h.db, logs: h.logs}
	a := newAdminClient(t, ts)
	if _, err := h.db.PasswordHash(context.Background(), testAdmin); err != nil {
		if err := addTestAdmin(h.db, testAdmin); err != nil {
			t.Fatal(err)
		}
	}
	if resp := a.signIn(t, testAdmin, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in = %d", resp.StatusCode)
	}
	admin := map[string]struct{ fact, cause string }{
		"code_not_received": {"opted_out", "contact_opted_out"},
		"code_not_accepted": {"message_published", "message_not_published"},
	}
	q := "/admin/decisions?reference=" + ref
	want, ok := admin[symptom]
	if ok {
		answerValue := "yes"
		if want.fact == "message_published" {
			answerValue = "no"
		}
		q += "&" + want.fact + "=" + answerValue
	}
	resp, page := a.get(t, q)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, ref) {
		t.Errorf("the admin looks up %s: %d, found: %v", ref, resp.StatusCode, strings.Contains(page, ref))
	}
	if ok && !strings.Contains(page, `data-cause="`+want.cause+`"`) {
		t.Errorf("after the admin answered %s, the look-up of %s does not find %s", want.fact, ref, want.cause)
	}
}

// answerQuestions answers the questions the page asks, one at a time, from
// the path's answers, and returns the facts asked about, in order.
func (tb *tab) answerQuestions(answers map[string][]string) []string {
	tb.t.Helper()
	var asked []string
	for range 20 {
		v := readDiagnose(tb.t, tb.html())
		if v.asked == "" {
			return asked
		}
		asked = append(asked, v.asked)
		values, ok := answers[v.asked]
		if !ok {
			tb.t.Fatalf("the page asks about %s; the path has no answer for it (asked so far %v)", v.asked, asked)
		}
		tb.click(fmt.Sprintf(`.options a.option[href*="/%s=%s/"]`, v.asked, strings.Join(values, flow.ChoiceSep)))
	}
	tb.t.Fatalf("the page kept asking: %v", asked)
	return nil
}

// defaultHelpURL is where the site explains a cause of the default topic
// to contacts: the address of before there were topics.
func defaultHelpURL(lang, cause string) string { return "/" + lang + "/help#" + cause }

// checkFindings checks that the page shows the causes, with their titles
// and advice as the texts say, and nothing else.
func checkFindings(t *testing.T, v diagnoseView, l locales.Localizer, lang string, causes []string, when string) {
	t.Helper()
	var titles, advice, links []string
	for _, id := range causes {
		titles = append(titles, l.T(locales.CauseTitle(id)))
		advice = append(advice, l.T(locales.CauseAdvice(id)))
		links = append(links, defaultHelpURL(lang, id))
	}
	if !slices.Equal(v.findings, titles) || !slices.Equal(v.advice, advice) || !slices.Equal(v.links, links) {
		t.Errorf("%s, the page shows %q %q %q; want %q %q %q", when, v.findings, v.advice, v.links, titles, advice, links)
	}
}

// TestBrowserSelfDiagnosis is a contact in a real Chromium, in Spanish, in
// English, and with JavaScript off: for each symptom they pick it on the
// home page, answer the questions, see the causes and advice for their
// answers, change an earlier answer, follow a finding to its section of
// the article, and say whether it helped; the feedback is then counted in
// the database. On the way, the language switch keeps the page and its
// answers, and the screenshots are taken.
func TestBrowserSelfDiagnosis(t *testing.T) {
	browser := newBrowser(t)
	runs := []struct {
		name       string
		lang       string
		javascript bool
	}{
		{"es", "es", true},
		{"en", "en", true},
		{"es without JavaScript", "es", false},
		{"en without JavaScript", "en", false},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			h := newSiteHarness(t, Config{DiagnoseBurst: 10_000, SupportURL: supportURL})
			l := h.localizer(run.lang)
			tb := newTab(t, browser, run.javascript)
			// The site remembers the language of the pages read last; each
			// run starts as a new visitor.
			if _, err := chromedp.Call(tb.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(tb.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": run.lang},
			}); err != nil {
				t.Fatal(err)
			}

			// "/" sends the contact to their browser's language.
			tb.open(h.url + "/")
			if got := tb.location().Path; got != "/"+run.lang+"/" {
				t.Fatalf("/ leads to %s; want /%s/", got, run.lang)
			}
			if run.javascript {
				tb.screenshot("home-"+run.lang, 360)
				tb.screenshot("home-"+run.lang, 1280)
			}

			for i, path := range browserPaths {
				t.Run(path.symptom, func(t *testing.T) {
					outer := tb.t
					tb.t = t
					defer func() { tb.t = outer }()
					tb.open(h.url + "/" + run.lang + "/")
					link := first(parseHTML(t, tb.html()), func(n *html.Node) bool {
						return hasClass("choice")(n) && strings.HasSuffix(attr(n, "href"), "/diagnose/"+path.symptom+"/")
					})
					if got, want := text(first(link, hasClass("choice-title"))), l.T(locales.SymptomTitle(path.symptom)); got != want {
						t.Errorf("the home page's entry for %s reads %q; want %q", path.symptom, got, want)
					}
					tb.click(fmt.Sprintf(`a.choice[href$="/diagnose/%s/"]`, path.symptom))

					asked := tb.answerQuestions(path.answers)
					if !slices.Equal(asked, path.wantAsked) {
						t.Errorf("the contact was asked about %v; want %v", asked, path.wantAsked)
					}
					v := readDiagnose(t, tb.html())
					checkFindings(t, v, l, run.lang, path.wantFindings, "after answering")
					if path.wantEnd != "" {
						if want := l.T(path.wantEnd); v.end != want || !goldenReference.MatchString(v.reference) {
							t.Errorf("the end reads %q with reference %q; want %q with a reference", v.end, v.reference, want)
						}
					}
					// Every outcome ends with the handoff: its reference, the
					// configured support, and what only an admin can check;
					// support staff then find the reference.
					if v.end == "" || !goldenReference.MatchString(v.reference) {
						t.Errorf("the outcome reads %q with reference %q; want the handoff's reference", v.end, v.reference)
					}
					doc := parseHTML(t, tb.html())
					if first(doc, func(n *html.Node) bool { return isElement(n, "a") && attr(n, "href") == supportURL+"?ref="+v.reference }) == nil {
						t.Errorf("the handoff has no link to the support page %s with ?ref=%s", supportURL, v.reference)
					}
					for _, f := range path.wantAsked {
						if decl, _ := h.policy.Catalog.Fact(f); decl.AskedOf != knowledge.AskedOfContact {
							t.Errorf("the contact was asked about %s, which only an admin can check", f)
						}
					}
					checkLookup(t, h, v.reference, path.symptom)
					if run.javascript {
						tb.screenshot("outcome-"+path.symptom+"-"+run.lang, 360)
						tb.screenshot("outcome-"+path.symptom+"-"+run.lang, 1280)
					}
					if run.javascript && len(v.findings) > 0 && i == 0 {
						tb.screenshot("diagnosis-"+run.lang, 360)
						tb.screenshot("diagnosis-"+run.lang, 1280)
					}

					// Change an earlier answer: it is asked again with the
					// current answer marked, the other answers that still
					// apply are kept, and the findings follow the new answer.
					question := l.T(locales.Question(path.change))
					change, ok := v.answers[question]
					if !ok {
						t.Fatalf("the answers listed %v have no %q", v.answers, question)
					}
					tb.click(fmt.Sprintf(`.answer a[href=%q]`, change))
					if got := readDiagnose(t, tb.html()).asked; got != path.change {
						t.Fatalf("after changing %s, the page asks about %q; want %s", path.change, got, path.change)
					}
					changed := maps.Clone(path.answers)
					changed[path.change] = path.changeTo
					tb.answerQuestions(changed)
					v = readDiagnose(t, tb.html())
					checkFindings(t, v, l, run.lang, path.wantChanged, "after changing "+path.change)
					diagnosis := tb.location()
					if !strings.Contains(diagnosis.Path, "/"+path.change+"="+strings.Join(path.changeTo, flow.ChoiceSep)+"/") {
						t.Errorf("the address %s does not hold the changed answer", diagnosis)
					}

					// The finding links to its explanation on the contacts' page.
					if len(v.links) > 0 {
						tb.click(`.findings a.read-more`)
						loc := tb.location()
						want := path.wantChanged[0]
						if loc.Path != "/"+run.lang+"/help" || loc.Fragment != want {
							t.Errorf("the finding's link leads to %s; want /%s/help#%s", loc, run.lang, want)
						}
						if first(parseHTML(t, tb.html()), func(n *html.Node) bool { return attr(n, "id") == want }) == nil {
							t.Errorf("the contacts' page has no element with id %s", want)
						}
						if i == 0 && run.javascript {
							tb.screenshot("help-"+run.lang, 360)
							tb.screenshot("help-"+run.lang, 1280)
						}
						tb.back(diagnosis)
					}

					// "Did this answer your question?"
					before := feedbackCount(t, h.db)
					reaction := []string{"yes", "partly", "no"}[i%3]
					tb.click(fmt.Sprintf(`.feedback button[value=%q]`, reaction))
					if got := feedbackCount(t, h.db); got != before+1 {
						t.Errorf("after sending feedback the database counts %d; want %d", got, before+1)
					}
					doc = parseHTML(t, tb.html())
					if got, want := text(first(doc, hasClass("thanks"))), l.T("FeedbackThanks"); got != want {
						t.Errorf("after sending feedback the page says %q; want %q", got, want)
					}
					if loc := tb.location(); !strings.Contains(loc.Path, "/diagnose/"+path.symptom+"/") {
						t.Errorf("after sending feedback the contact is at %s; want back at the diagnosis", loc)
					}
				})
			}

			counts, err := h.db.FeedbackCounts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			byCause := map[string]int{}
			for _, c := range counts.ByCause {
				byCause[c.Key] = c.Total()
			}
			for _, path := range browserPaths {
				for _, id := range path.wantChanged {
					if byCause[id] == 0 {
						t.Errorf("feedback counts per cause %v have no %s", byCause, id)
					}
				}
			}

			// The language switch keeps the page and its answers, and "/"
			// remembers the choice.
			diagnose := "/" + run.lang + "/diagnose/code_not_received/channels_tried=sms/online=no/"
			tb.open(h.url + diagnose)
			tb.click(`a.lang`)
			other := locales.Languages[0]
			if other == run.lang {
				other = locales.Languages[1]
			}
			loc := tb.location()
			if loc.Path != "/"+other+"/diagnose/code_not_received/channels_tried=sms/online=no/" {
				t.Errorf("the language switch leads to %s; want the same diagnosis in %s", loc, other)
			}
			if got := attr(first(parseHTML(t, tb.html()), element("html")), "lang"); got != other {
				t.Errorf("after the switch the page's lang is %q; want %q", got, other)
			}
			tb.open(h.url + "/")
			if got := tb.location().Path; got != "/"+other+"/" {
				t.Errorf("/ after choosing %s leads to %s; want /%s/", other, got, other)
			}

			if run.javascript {
				measureTransfer(t, tb, h.url+"/"+run.lang+"/"+sitePages[6].path)
			}
		})
	}
}

// measureTransfer logs what loading a page costs a browser on a first visit
// (empty cache): the bytes transferred and the time to load, as the
// Navigation and Resource Timing APIs say.
func measureTransfer(t *testing.T, tb *tab, u string) {
	t.Helper()
	if _, err := chromedp.Call(tb.ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		t.Fatalf("clearing the cache: %v", err)
	}
	tb.open(u)
	type timing struct {
		TransferSize    float64 `json:"transferSize"`
		EncodedBodySize float64 `json:"encodedBodySize"`
		DecodedBodySize float64 `json:"decodedBodySize"`
		Duration        float64 `json:"duration"`
	}
	nav, err := chromedp.Run(tb.ctx, chromedp.Evaluate[timing](`performance.getEntriesByType("navigation")[0].toJSON()`))
	if err != nil {
		t.Fatalf("reading the navigation timing: %v", err)
	}
	resources, err := chromedp.Run(tb.ctx, chromedp.Evaluate[float64](`performance.getEntriesByType("resource").reduce((sum, r) => sum + r.transferSize, 0)`))
	if err != nil {
		t.Fatalf("reading the resource timing: %v", err)
	}
	if total := nav.TransferSize + resources; total >= 30<<10 {
		t.Errorf("%s transferred %.0f bytes with its resources; want under 30 KB", u, total)
	}
	t.Logf("%s: the page transferred %.0f bytes (body %.0f gzipped, %.0f plain), its stylesheet and icon %.0f more on a first visit; loaded in %.1f ms",
		u, nav.TransferSize, nav.EncodedBodySize, nav.DecodedBodySize, resources, nav.Duration)
}
