package server

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/store"
)

// TestAdminLooksUpAndContinuesADecision follows a contact to the end of
// the self-diagnosis, then support staff look the reference up, answer what
// only an admin can check, and see the complete findings.
func TestAdminLooksUpAndContinuesADecision(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{SupportEmail: "help@example.com"}, publish.Config{Deadline: loadedDeadline})
	contact := newClient(t, ts.URL)
	path := "/en/diagnose/code_not_received/channels_tried=email-sms/spam_checked=yes/online=yes/"
	resp, body := contact.get(t, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", path, resp.StatusCode)
	}
	v := readDiagnose(t, body)
	if !goldenReference.MatchString(v.reference) {
		t.Fatalf("GET %s shows no reference", path)
	}
	l := locales.NewLocalizer(ts.policy.Texts, "en")
	if want := l.T("SupportChecksOptedOut"); len(v.checks) != 2 || !strings.Contains(strings.Join(v.checks, "|"), want) {
		t.Errorf("the handoff says support will check %q; want the registration and %q", v.checks, want)
	}
	if !strings.Contains(body, `href="mailto:help@example.com?subject=`) {
		t.Errorf("the handoff does not link the configured support email")
	}

	a := signedInAdmin(t, ts)
	typed := strings.ToLower(strings.ReplaceAll(v.reference, "-", " "))
	resp, page := a.do(t, http.MethodGet, "/admin/decisions?reference="+url.QueryEscape(typed), nil, "Accept-Language", "en")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("looking up %q = %d\n%s", typed, resp.StatusCode, page)
	}
	for _, want := range []string{v.reference, l.T(locales.Question("spam_checked")), l.T(locales.Question("opted_out"))} {
		if !strings.Contains(page, html.EscapeString(want)) {
			t.Errorf("the look-up of %s does not show %q", v.reference, want)
		}
	}
	if strings.Contains(page, html.EscapeString(l.T(locales.CauseTitle("contact_opted_out")))) {
		t.Errorf("the look-up shows contact_opted_out before the admin answered")
	}

	// The admin checks the contact card: opted out.
	resp, page = a.do(t, http.MethodGet, "/admin/decisions?reference="+v.reference+"&opted_out=yes&identifier_registered=yes", nil, "Accept-Language", "en")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-cause="contact_opted_out"`) {
		t.Errorf("after the admin answered opted_out=yes, the look-up = %d without the finding contact_opted_out\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, `data-cause="identifier_not_registered"`) {
		t.Errorf("identifier_not_registered found although the admin said the identifier is registered")
	}

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"reference=3333-3333", http.StatusNotFound},
		{"reference=not-a-reference", http.StatusOK},
		{"reference=" + v.reference + "&opted_out=maybe", http.StatusBadRequest},
	} {
		if resp, _ := a.do(t, http.MethodGet, "/admin/decisions?"+tc.query, nil); resp.StatusCode != tc.want {
			t.Errorf("GET /admin/decisions?%s = %d; want %d", tc.query, resp.StatusCode, tc.want)
		}
	}
	if resp, _ := contact.get(t, "/admin/decisions?reference="+v.reference); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a contact looking up a reference = %d; want the sign-in redirect", resp.StatusCode)
	}
}

// TestPersonalFactsNeverReachTheDecisionStore posts identifiers and reads
// the database, file and all.
func TestPersonalFactsNeverReachTheDecisionStore(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServerIn(t, dir)
	personal := []string{"ana.personal@example.com", "+34 600 123 456", "600123456"}
	body := `{"symptom":"code_not_received","facts":{"identifier":"ana.personal@example.com","registered_emails":["other@example.com"],"registered_phones":["+34 600 123 456"],"online":false}}`
	resp, got := ts.do(t, evaluate(body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST = %d %s", resp.StatusCode, got)
	}
	var r struct{ Reference string }
	if err := json.Unmarshal(got, &r); err != nil || r.Reference == "" {
		t.Fatalf("answer %s has no reference", got)
	}
	ts.decisions.Flush()
	dec, err := ts.db.Decision(context.Background(), r.Reference)
	if err != nil {
		t.Fatalf("Decision(%s) = %v", r.Reference, err)
	}
	if _, ok := dec.Facts["online"]; !ok || len(dec.Facts) != 1 {
		t.Errorf("kept facts = %v; want online alone", dec.Facts)
	}
	ts.Close()
	if err := ts.db.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range personal {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("%s holds %q", filepath.Base(f), p)
			}
		}
	}
}

// newTestServerIn is newTestServer with its database in dir.
func newTestServerIn(tb testing.TB, dir string) *testServer {
	tb.Helper()
	p, err := testPolicy()
	if err != nil {
		tb.Fatal(err)
	}
	db, err := store.Open(context.Background(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	s := mustNew(tb, Config{APIRate: 1e6, APIBurst: 1e6}, publish.New(publish.Config{}, rules.NewEngine(p), db, log), db, log)
	hs := httptest.NewServer(s.Handler())
	tb.Cleanup(hs.Close)
	return &testServer{Server: s, URL: hs.URL, policy: p, db: db, logs: logs}
}

// TestAdminLooksUpAnExportedReference: an outcome of the static export
// shows a reference that names its state; the admin look-up finds it.
func TestAdminLooksUpAnExportedReference(t *testing.T) {
	t.Parallel()
	out, _ := exportSite(t)
	path := "/es/diagnose/code_not_accepted/vpn=no/used_latest_code=yes/"
	body, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(path), "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	ref := readDiagnose(t, string(body)).reference
	if !goldenReference.MatchString(ref) {
		t.Fatalf("the exported outcome %s shows no reference", path)
	}
	ts := newTestServer(t, Config{})
	a := signedInAdmin(t, ts)
	resp, page := a.do(t, http.MethodGet, "/admin/decisions?reference="+ref+"&message_published=no", nil, "Accept-Language", "en")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, ">"+locales.NewLocalizer(ts.policy.Texts, "en").T("AdminSourceExport")+"<") || !strings.Contains(page, `data-cause="message_not_published"`) {
		t.Errorf("looking up the exported reference %s = %d; want the state, from the export, continued to message_not_published\n%s", ref, resp.StatusCode, page)
	}
}

func TestAdminFlowMap(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	a := signedInAdmin(t, ts)
	l := locales.NewLocalizer(ts.policy.Texts, "en")
	resp, page := a.do(t, http.MethodGet, "/admin/flow", nil, "Accept-Language", "en")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/flow = %d", resp.StatusCode)
	}
	for _, want := range []string{l.T(locales.Question("channels_tried")), l.T(locales.CauseTitle("check_spam")), l.T(locales.Question("opted_out")), "no_known_cause"} {
		if !strings.Contains(page, html.EscapeString(want)) {
			t.Errorf("the flow map does not show %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Errorf("the flow map uses a script")
	}
	resp, text := a.do(t, http.MethodGet, "/admin/flow.txt", nil, "Accept-Language", "en")
	if resp.StatusCode != http.StatusOK || !strings.Contains(text, "(code_not_received): ") || !strings.Contains(text, "? "+l.T(locales.Question("vpn"))) {
		t.Errorf("GET /admin/flow.txt = %d\n%s", resp.StatusCode, text)
	}
}

// TestLookupLeadsWithTheResult: the look-up is a support agent's tool: the
// result comes before the search, in words (no raw ids), with each cause's
// advice and a reply to send that quotes the reference; the admin's
// questions keep their order once answered; the time has its zone.
func TestLookupLeadsWithTheResult(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	contact := newClient(t, ts.URL)
	_, body := contact.get(t, "/en/diagnose/code_not_received/channels_tried=email-sms/spam_checked=yes/online=yes/")
	ref := readDiagnose(t, body).reference
	a := signedInAdmin(t, ts)
	l := locales.NewLocalizer(ts.policy.Texts, "en")
	order := func(page string) []string {
		var facts []string
		for _, in := range findAll(parseHTML(t, page), func(n *xhtml.Node) bool {
			return isElement(n, "input") && attr(n, "type") == "radio" && attr(n, "value") == "yes"
		}) {
			facts = append(facts, attr(in, "name"))
		}
		return facts
	}
	_, before := a.do(t, http.MethodGet, "/admin/decisions?reference="+ref, nil, "Accept-Language", "en")
	_, after := a.do(t, http.MethodGet, "/admin/decisions?reference="+ref+"&opted_out=yes", nil, "Accept-Language", "en")
	if b, a := order(before), order(after); len(b) != 2 || !slices.Equal(b, a) {
		t.Errorf("the admin's questions come in the order %v, then %v once one is answered; want the same two", b, a)
	}
	doc := parseHTML(t, after)
	result := first(doc, hasClass("result"))
	search := first(doc, hasClass("lookup"))
	if result == nil || search == nil || strings.Index(after, `class="result"`) > strings.Index(after, `class="lookup"`) {
		t.Fatalf("the look-up shows result %v before the search %v; want the result first", result != nil, search != nil)
	}
	if got, want := text(first(result, element("h2"))), l.T("OutcomeCausesFoundTitle")+" "+ref; got != want {
		t.Errorf("the result's heading is %q; want %q", got, want)
	}
	reply := text(first(result, element("textarea")))
	advice := l.T(locales.CauseAdvice("contact_opted_out"))
	if !strings.Contains(reply, ref) || !strings.Contains(reply, advice) {
		t.Errorf("the reply %q; want it to quote %s and the advice %q", reply, ref, advice)
	}
	for _, raw := range []string{">causes_found<", ">needs_answers<", ">site<", "Z<"} {
		if strings.Contains(after, raw) {
			t.Errorf("the look-up shows the raw %q; want words", raw)
		}
	}
	// A time as RFC 3339 writes it; not a bare "T0", which a random
	// reference, token or nonce on the page can hold.
	if raw := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d`).FindString(after); raw != "" {
		t.Errorf("the look-up shows the raw time %q; want words", raw)
	}
	if !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d \S+ \([+-]\d\d:\d\d\)`).MatchString(text(result)) {
		t.Errorf("the result's time %q has no zone", text(first(result, hasClass("meta"))))
	}
}
