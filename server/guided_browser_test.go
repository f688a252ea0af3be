package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
)

// A phone's viewport, in CSS px: what a contact sees without scrolling.
const (
	phoneWidth  = 360
	phoneHeight = 640
	// minTarget is the smallest a link or button a contact taps may be
	// (WCAG 2.5.5, 44×44 CSS px).
	minTarget = 44
)

// box is an element's border box in CSS px, relative to the top of the
// page as it was loaded (not scrolled).
type box struct {
	what                   string
	left, top, right, bott float64
}

func (b box) String() string {
	return fmt.Sprintf("%s at (%.0f,%.0f) %.0f×%.0f", b.what, b.left, b.top, b.right-b.left, b.bott-b.top)
}

// boxes measures every rendered element matching a CSS selector, as the
// browser laid it out; elements not rendered (display: none, or inside a
// closed <details>) have no box and are left out. It reads the layout
// through DevTools, so it works with JavaScript off.
func (tb *tab) boxes(selector string) []box {
	tb.t.Helper()
	tb.html() // waits until the new document answers
	nodes, err := chromedp.Run(tb.ctx, chromedp.Nodes(chromedp.CSSAll(selector), chromedp.AtLeast(0)))
	if err != nil {
		tb.t.Fatalf("finding %s: %v", selector, err)
	}
	var out []box
	for _, n := range nodes {
		res, err := chromedp.Call(tb.ctx, dom.GetBoxModel, dom.GetBoxModelParams{NodeID: n.NodeID})
		if err != nil || res.Model == nil || len(res.Model.Border) < 8 {
			continue
		}
		q := res.Model.Border
		what := n.LocalName
		if c := n.AttributeValue("class"); c != "" {
			what += "." + strings.ReplaceAll(c, " ", ".")
		}
		if href := n.AttributeValue("href"); href != "" {
			what += "[href=" + href + "]"
		}
		out = append(out, box{what: what,
			left: min(q[0], q[6]), top: min(q[1], q[3]), right: max(q[2], q[4]), bott: max(q[5], q[7])})
	}
	return out
}

// emulatePhone makes the tab a phone's screen, 360×640 CSS px.
func (tb *tab) emulatePhone() {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: phoneWidth, Height: phoneHeight, DeviceScaleFactor: 1, Mobile: true,
	}); err != nil {
		tb.t.Fatalf("emulating a phone: %v", err)
	}
}

// emulateMedia sets the media type ("print" or "") and the colour scheme
// ("dark" or "").
func (tb *tab) emulateMedia(media, scheme string) {
	tb.t.Helper()
	p := emulation.SetEmulatedMediaParams{Media: media}
	if scheme != "" {
		p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	}
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, p); err != nil {
		tb.t.Fatalf("emulating media %q %q: %v", media, scheme, err)
	}
}

// shoot writes what the tab shows to the screenshots folder: the viewport
// only, or the whole page.
func (tb *tab) shoot(name string, whole bool) {
	tb.t.Helper()
	action := chromedp.CaptureScreenshot()
	if whole {
		action = chromedp.FullScreenshot(100) // 100: PNG
	}
	png, err := chromedp.Run(tb.ctx, action)
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(screenshotDir, "states")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// TestBrowserEveryState is a contact on a phone (360×640 CSS px), with
// JavaScript off, in Spanish and in English, on every state of the
// self-diagnosis the explorer reaches: each question page has the question
// as its <h1> and every answer inside the viewport; each outcome's <h1>
// names the result (the cause found, what to try, that what the contact can
// check is fine, or that no known cause fits) and shows the advice of the
// findings and of the things to try the engine gives; "I don't know" to
// everything gives, per symptom, the advice of every cause a contact can
// try; and every link and button is at least 44×44 CSS px. Screenshots go
// to screenshots/states: each symptom's first question and its "I don't
// know" outcome at 360×640 and 1280 px wide, the outcome also dark and for
// print; with ACCESO_SCREENSHOTS=all, every state at both widths.
func TestBrowserEveryState(t *testing.T) {
	browser := newBrowser(t)
	h := newSiteHarness(t, Config{DiagnoseBurst: 1_000_000, SupportURL: supportURL, SupportEmail: "help@example.com"})
	m, err := flow.Explore(context.Background(), h.policy, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := h.policy.Catalog
	for _, lang := range locales.Languages {
		t.Run(lang, func(t *testing.T) {
			l := h.localizer(lang)
			everyShot := os.Getenv("ACCESO_SCREENSHOTS") == "all"
			states, allUnknown := 0, map[string]bool{}
			var tb *tab
			for _, tree := range m.Trees {
				for i, n := range tree.Nodes {
					// A tab lives two minutes at most (newTab): one per
					// symptom, or per state when every state is shot.
					if i == 0 || everyShot {
						tb = newTab(t, browser, false)
						tb.emulatePhone()
					}
					d := n.Diagnosis
					path := d.Path(lang)
					tb.open(h.url + path)
					v := readDiagnose(t, tb.html())
					r, err := answer.Evaluate(context.Background(), h.policy, d.Request(), lang)
					if err != nil {
						t.Fatalf("Evaluate(%s) = %v", path, err)
					}
					kind := "o"
					if v.asked != "" {
						kind = "q"
						checkQuestionPage(t, tb, l, path, v)
					} else {
						checkOutcomePage(t, l, path, v, r)
						if slices.IndexFunc(d.Answers, func(a flow.Reply) bool { return !a.Unknown() }) < 0 && len(d.Answers) > 0 {
							allUnknown[d.Symptom] = true
							var want []string
							for _, c := range cat.Causes {
								if c.Symptom == d.Symptom && c.ContactCanTry {
									want = append(want, answer.TryAdvice(l, c.ID))
								}
							}
							if len(want) == 0 || !slices.Equal(v.tryAdvice, want) {
								t.Errorf("%s (\"I don't know\" to everything) shows things to try %q; want the advice of every cause a contact can try: %q", path, v.tryAdvice, want)
							}
						}
					}
					for _, b := range tb.boxes("a, button, summary") {
						if strings.HasPrefix(b.what, "a.skip") {
							continue // off-screen until focused; measured in TestTapTargetsOfTheSkipLink
						}
						if b.right-b.left < minTarget || b.bott-b.top < minTarget {
							t.Errorf("%s: %s; want at least %d×%d", path, b, minTarget, minTarget)
						}
					}
					name := fmt.Sprintf("%s-%s-%02d-%s", lang, d.Symptom, i, kind)
					sample := i == 0 || kind == "o" && allUnknown[d.Symptom] && slices.IndexFunc(d.Answers, func(a flow.Reply) bool { return !a.Unknown() }) < 0
					if !everyShot && !sample {
						states++
						continue
					}
					tb.shoot(name+"-360x640", false)
					if _, err := chromedp.Call(tb.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 1280, Height: 800, DeviceScaleFactor: 1}); err != nil {
						t.Fatal(err)
					}
					tb.shoot(name+"-1280", true)
					if kind == "o" && sample {
						tb.emulateMedia("", "dark")
						tb.shoot(name+"-1280-dark", true)
						tb.emulateMedia("print", "")
						tb.shoot(name+"-1280-print", true)
						tb.emulateMedia("", "")
					}
					tb.emulatePhone()
					states++
				}
			}
			for _, s := range cat.Symptoms {
				if !allUnknown[s] {
					t.Errorf("no state of %s answers \"I don't know\" to everything; want one", s)
				}
			}
			total := 0
			for _, tree := range m.Trees {
				total += len(tree.Nodes)
			}
			if states != total || states < 10 {
				t.Errorf("walked %d states; want every state the explorer reaches", states)
			}
			t.Logf("%s: %d states walked at %d×%d", lang, states, phoneWidth, phoneHeight)
		})
	}
}

// checkQuestionPage: the question is the page's <h1> and in its title with
// the progress, and the heading and every answer are inside the phone's
// viewport without scrolling.
func checkQuestionPage(t *testing.T, tb *tab, l locales.Localizer, path string, v diagnoseView) {
	t.Helper()
	q := l.T(locales.Question(v.asked))
	if v.h1 != q {
		t.Errorf("%s: <h1> %q; want the question %q", path, v.h1, q)
	}
	if !strings.HasPrefix(v.progress, l.T("DiagnoseProgressQuestion")+" ") || !strings.HasPrefix(v.title, q+" ("+v.progress+")") {
		t.Errorf("%s: title %q, progress %q; want the question with its progress", path, v.title, v.progress)
	}
	inView := append(tb.boxes("h1"), tb.boxes(".options a.option")...)
	if len(inView) < 3 {
		t.Fatalf("%s: measured %v; want the heading and the answers", path, inView)
	}
	for _, b := range inView {
		if b.top < 0 || b.left < 0 || b.bott > phoneHeight || b.right > phoneWidth {
			t.Errorf("%s: %s is not inside the %d×%d viewport", path, b, phoneWidth, phoneHeight)
		}
	}
}

// checkOutcomePage: the outcome's <h1> (and title) names the result, and
// the page shows the advice of the findings and of the things to try the
// engine gives for the same answers, and the handoff's reference.
func checkOutcomePage(t *testing.T, l locales.Localizer, path string, v diagnoseView, r answer.Response) {
	t.Helper()
	var want string
	switch {
	case len(r.Findings) == 1:
		if !strings.Contains(v.h1, r.Findings[0].Title) {
			t.Errorf("%s: <h1> %q; want it to name the cause found, %q", path, v.h1, r.Findings[0].Title)
		}
		want = v.h1
	case len(r.Findings) > 1:
		want = strings.ReplaceAll(l.T("OutcomeFoundManyTitle"), "{n}", strconv.Itoa(len(r.Findings)))
	case len(r.ToTry) == 1:
		want = l.T("OutcomeTryOneTitle")
	case len(r.ToTry) > 1:
		want = strings.ReplaceAll(l.T("OutcomeTryManyTitle"), "{n}", strconv.Itoa(len(r.ToTry)))
	case r.Outcome == knowledge.OutcomeNeedsAnswers:
		want = l.T("OutcomeAllFineTitle")
	default:
		want = l.T("OutcomeNoKnownCauseTitle")
	}
	if v.h1 != want || v.end != want || !strings.HasPrefix(v.title, want+" · ") {
		t.Errorf("%s: <h1> %q, title %q; want them to lead with %q", path, v.h1, v.title, want)
	}
	var advice, tryAdvice []string
	for _, f := range r.Findings {
		advice = append(advice, f.Advice)
	}
	for _, tt := range r.ToTry {
		tryAdvice = append(tryAdvice, tt.Advice)
	}
	if !slices.Equal(v.advice, advice) || !slices.Equal(v.tryAdvice, tryAdvice) {
		t.Errorf("%s: advice %q, things to try %q; want %q, %q", path, v.advice, v.tryAdvice, advice, tryAdvice)
	}
	if !goldenReference.MatchString(v.reference) {
		t.Errorf("%s: reference %q; want the handoff's", path, v.reference)
	}
}

// TestTapTargetsOfTheSkipLink: the skip link, once focused by the keyboard,
// is as large as any other target.
func TestTapTargetsOfTheSkipLink(t *testing.T) {
	browser := newBrowser(t)
	h := newSiteHarness(t)
	tb := newTab(t, browser, false)
	tb.emulatePhone()
	tb.open(h.url + "/es/diagnose/code_not_received/")
	if err := chromedp.Do(tb.ctx, chromedp.Focus(chromedp.CSS("a.skip"))); err != nil {
		t.Fatalf("focusing the skip link: %v", err)
	}
	bs := tb.boxes("a.skip")
	if len(bs) != 1 {
		t.Fatalf("skip links measured: %v; want one", bs)
	}
	if b := bs[0]; b.right-b.left < minTarget || b.bott-b.top < minTarget || b.top < 0 {
		t.Errorf("the focused skip link is %s; want at least %d×%d inside the viewport", b, minTarget, minTarget)
	}
}
