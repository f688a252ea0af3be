package server

import (
	"context"
	"html"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"acceso/locales"
	"acceso/publish"
)

// TestBrowserAdminPublishAndRollback drives a real Chromium through the
// admin area: sign in, change a cause's Spanish advice, publish, see it on
// the public self-diagnosis, roll back, and see the old advice again. It
// uses the browser helpers of browser_test.go.
func TestBrowserAdminPublishAndRollback(t *testing.T) {
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	if err := addTestAdmin(ts.db, testAdmin); err != nil {
		t.Fatal(err)
	}
	p := ts.policy
	cause := spamCause(t, p)
	oldAdvice, _ := p.Texts.Text("es", locales.CauseAdvice(cause.ID))
	newAdvice := "Consejo publicado desde el navegador: revisa también la carpeta de promociones."

	// The self-diagnosis, with answers in the URL, that finds the cause:
	// SPEC's example as a contact answers it.
	diagnose := ts.URL + "/es/diagnose?" + url.Values{
		"symptom":        {cause.Symptom},
		"channels_tried": {"email"},
		"spam_checked":   {"no"},
		"online":         {"unknown"}, // to the outcome, which shows the advice
	}.Encode()
	tb := newTab(t, newBrowser(t), true)
	showsAdvice := func(when, want, notWant string) {
		t.Helper()
		tb.open(diagnose)
		var page string
		var err error
		for try := 0; try < 20; try++ { // the document may still be settling
			if err = chromedp.Do(tb.ctx, chromedp.WaitReady(chromedp.CSS("main"))); err == nil {
				if page, err = chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS("main"))); err == nil {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s, reading %s: %v", when, diagnose, err)
		}
		if !strings.Contains(page, want) {
			t.Fatalf("%s, %s does not show the advice %q", when, diagnose, want)
		}
		if notWant != "" && strings.Contains(page, notWant) {
			t.Errorf("%s, %s still shows %q", when, diagnose, notWant)
		}
	}
	showsAdvice("before any change", oldAdvice, newAdvice)
	// A contact reaches an outcome: a decision is kept.
	tb.open(ts.URL + "/es/diagnose/code_not_received/channels_tried=email/spam_checked=no/online=yes/")

	tb.signIn(ts)

	// Edit the cause's Spanish advice and publish it.
	tb.click(`a[href="/admin/causes/` + cause.ID + `"]`)
	if err := chromedp.Do(tb.ctx,
		chromedp.SetValue(chromedp.CSS("#advice_es"), newAdvice),
		chromedp.SetValue(chromedp.CSS("#sample"), specExample),
	); err != nil {
		t.Fatalf("typing the new advice and a sample: %v", err)
	}
	tb.click(`button[name=action][value=preview]`)
	page := html.UnescapeString(tb.html())
	if !strings.Contains(page, newAdvice) || !strings.Contains(page, oldAdvice) {
		t.Errorf("the preview does not show the draft's advice next to the current one")
	}
	// What the draft would change: texts only, so no state and no kept
	// decision (the contact's two outcomes above) is decided otherwise.
	l := locales.NewLocalizer(ts.adminTexts, attr(first(parseHTML(t, page), element("html")), "lang"))
	if want := "0 " + l.T("AdminImpactStates"); !strings.Contains(page, want) {
		t.Errorf("the check does not say %q", want)
	}
	if want := "0 / 2 " + l.T("AdminImpactDecisions"); !strings.Contains(page, want) {
		t.Errorf("the check does not say %q", want)
	}
	tb.click(`button[name=action][value=publish]`)
	if got := tb.location(); got.Path != "/admin/revisions" || got.Query().Get("published") == "" {
		t.Fatalf("after publishing, the browser shows %s; want the revisions list", got)
	}
	showsAdvice("after publishing", newAdvice, oldAdvice)

	// Roll back to the rules served before the first publish.
	tb.open(ts.URL + "/admin/revisions")
	tb.click(`form[action="/admin/revisions/1/rollback"] button`)
	if got := tb.location(); got.Path != "/admin/revisions" || got.Query().Get("published") == "" {
		t.Fatalf("after rolling back, the browser shows %s; want the revisions list", got)
	}
	showsAdvice("after rolling back", oldAdvice, newAdvice)
	if got := ts.engine.Current().Revision; got != p.Revision {
		t.Errorf("after rolling back, serving %s; want %s", got, p.Revision)
	}

	// Signing out ends the session for the browser too.
	tb.open(ts.URL + "/admin/")
	tb.click("form.signout button[type=submit]")
	tb.open(ts.URL + "/admin/revisions")
	if got := tb.location().Path; got != "/admin/signin" {
		t.Errorf("after signing out, /admin/revisions shows %s; want /admin/signin", got)
	}
}

// signIn signs the test admin in: the admin area sends a visitor without
// a session to the sign-in page, and to the look-up once signed in; the
// tab is then on the rules (/admin/).
func (tb *tab) signIn(ts *testServer) {
	tb.t.Helper()
	tb.open(ts.URL + "/admin/")
	if got := tb.location().Path; got != "/admin/signin" {
		tb.t.Fatalf("GET /admin/ without a session shows %s; want /admin/signin", got)
	}
	if err := chromedp.Do(tb.ctx,
		chromedp.SendKeys(chromedp.CSS("#name"), testAdmin),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
	); err != nil {
		tb.t.Fatalf("typing the name and password: %v", err)
	}
	tb.click("form.signin button[type=submit]")
	if got := tb.location().Path; got != "/admin/decisions" {
		tb.t.Fatalf("after signing in, the browser shows %s; want the look-up, /admin/decisions", got)
	}
	// The tests go on from the rules.
	tb.open(ts.URL + "/admin/")
}

// TestBrowserAdminDraft saves a file to the draft and checks the draft in
// a Chromium with JavaScript off, on a phone's width, pressing the
// buttons with the keyboard.
func TestBrowserAdminDraft(t *testing.T) {
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	if err := addTestAdmin(ts.db, testAdmin); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	tb := newTab(t, browser, false)
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(360, 800)); err != nil {
		t.Fatalf("setting a phone's viewport: %v", err)
	}
	tb.signIn(ts)
	const file = "rules/login/facts.rego"
	tb.click(`a[href="/admin/module?file=` + url.QueryEscape(file) + `"]`)
	if err := chromedp.Do(tb.ctx, chromedp.SetValue(chromedp.CSS("#text"), ts.policy.Source.Modules[file]+"\n# A note from a phone.\n")); err != nil {
		t.Fatalf("typing the module's text: %v", err)
	}
	tb.press(`button[name=action][value=save]`)
	if got := tb.location(); got.Path != "/admin/draft" || got.Query().Get("saved") != file {
		t.Fatalf("after saving to the draft, the browser shows %s; want the draft", got)
	}
	tb.press(`form[action="/admin/draft"] button[name=action][value=preview]`)
	page := tb.html()
	if !strings.Contains(page, `class="ok" role="status"`) || strings.Contains(page, `class="problems"`) {
		t.Errorf("checking the draft from a phone does not say it passed")
	}
	fitsAPhone := func(t *testing.T) {
		t.Helper()
		overflow, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
		if err != nil {
			t.Fatalf("measuring the page: %v", err)
		}
		if overflow {
			wide, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth).slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`))
			t.Errorf("the draft page is wider than a phone's 360 pixels: %v", wide)
		}
	}
	fitsAPhone(t)
	tb.screenshot("admin-draft", 360)
	// axe-core needs JavaScript: a tab of the same browser, signed in by
	// the same cookie, with it on.
	axeOnTheDraft := func(t *testing.T) {
		axe, err := os.ReadFile(npmFile(t, "axe-core", "axe.min.js"))
		if err != nil {
			t.Fatal(err)
		}
		js := newTab(t, browser, true)
		if err := chromedp.Do(js.ctx, chromedp.EmulateViewport(360, 800)); err != nil {
			t.Fatal(err)
		}
		js.open(ts.URL + "/admin/draft")
		if got := js.location().Path; got != "/admin/draft" {
			t.Fatalf("the second tab shows %s; want the draft", got)
		}
		js.checkAxe(axe)
	}
	t.Run("accessible", axeOnTheDraft)

	// Another admin publishes a change to the drafted file: the draft shows
	// the conflict, and keeping the admin's text resolves it.
	t.Run("a conflict, kept", func(t *testing.T) {
		cur := ts.engine.Current()
		src, err := publish.DraftFile(cur.Source, file, cur.Source.Modules[file]+"\n# Luis's note.\n")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.publisher.Publish(context.Background(), publish.Change{Source: src, Base: cur.Revision, Admin: "luis", Note: "luis's note"}); err != nil {
			t.Fatalf("another admin's publish = %v", err)
		}
		tb.open(ts.URL + "/admin/draft")
		keep := `form[action="/admin/draft/keep"] button`
		if !strings.Contains(tb.html(), `action="/admin/draft/keep"`) {
			t.Fatal("the draft shows no way to keep the admin's text over the change")
		}
		fitsAPhone(t)
		tb.screenshot("admin-draft-conflict", 360)
		axeOnTheDraft(t)
		tb.press(keep)
		if got := tb.location(); got.Path != "/admin/draft" || got.Query().Get("kept") != file {
			t.Fatalf("after keeping the text, the browser shows %s; want the draft saying so", got)
		}
		if strings.Contains(tb.html(), `action="/admin/draft/keep"`) {
			t.Error("the draft still shows the conflict after the admin kept their text")
		}
	})
}

// press focuses the element matching a CSS selector, presses Enter, as a
// keyboard user does, and waits for the page it leads to.
func (tb *tab) press(selector string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Focus(chromedp.CSS(selector))); err != nil {
		tb.t.Fatalf("focusing %s: %v", selector, err)
	}
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.KeyEvent(kb.Enter))
	if err != nil {
		tb.t.Fatalf("pressing Enter on %s: %v", selector, err)
	}
	if resp.Status >= 400 {
		tb.t.Fatalf("pressing Enter on %s led to %s: %d", selector, resp.URL, resp.Status)
	}
}
