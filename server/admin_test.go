package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"acceso/answer"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/admin"
	"acceso/server/web"
	"acceso/store"
)

const (
	testAdmin    = "ana"
	testPassword = "correct horse battery"
)

// testHash is the test password's bcrypt hash at bcrypt's least cost,
// made once. account.Add hashes at the product's cost (account's own
// tests cover it); the admins of these tests are stored with this hash, so
// that their many sign-ins spend milliseconds on bcrypt, not seconds.
var testHash = sync.OnceValues(func() ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
})

// addTestAdmin stores the admin name with the test password, as
// account.Add would but with the cheap hash.
func addTestAdmin(db *store.DB, name string) error {
	hash, err := testHash()
	if err != nil {
		return err
	}
	return db.PutAdmin(context.Background(), name, string(hash))
}

// adminClient is a browser of the admin area that also reads forms'
// hidden fields.
type adminClient struct {
	*browser
	ts *testServer
}

func newAdminClient(tb testing.TB, ts *testServer) *adminClient {
	tb.Helper()
	return &adminClient{browser: newClient(tb, ts.URL), ts: ts}
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)

// formOf loads the page at path and returns its hidden fields: the CSRF
// token, the base revision and the like.
func (a *adminClient) formOf(tb testing.TB, path string) url.Values {
	tb.Helper()
	resp, body := a.get(tb, path)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s = %d; want 200\n%s", path, resp.StatusCode, body)
	}
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get(web.CSRFField) == "" {
		tb.Fatalf("GET %s: the page has no %s field", path, web.CSRFField)
	}
	return form
}

// submit loads the form page at path, adds fields to its hidden ones and
// posts it to action.
func (a *adminClient) submit(tb testing.TB, path, action string, fields url.Values) (*http.Response, string) {
	tb.Helper()
	form := a.formOf(tb, path)
	for k, v := range fields {
		form[k] = v
	}
	return a.do(tb, http.MethodPost, action, form)
}

// signIn signs the client in as name.
func (a *adminClient) signIn(tb testing.TB, name, password string) *http.Response {
	tb.Helper()
	resp, _ := a.submit(tb, "/admin/signin", "/admin/signin", url.Values{"name": {name}, "password": {password}})
	return resp
}

// signedIn returns a client signed in as a freshly created admin.
func signedInAdmin(tb testing.TB, ts *testServer) *adminClient {
	tb.Helper()
	if err := addTestAdmin(ts.db, testAdmin); err != nil {
		tb.Fatalf("AddAdmin = %v", err)
	}
	a := newAdminClient(tb, ts)
	if resp := a.signIn(tb, testAdmin, testPassword); resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign-in = %d; want 303", resp.StatusCode)
	}
	return a
}

// causeForm is the form of cause's texts with the advice set to advice in
// every language (tagged with the language) and the titles kept.
func causeForm(p *rules.Policy, cause, advice, action string) url.Values {
	form := url.Values{"action": {action}, "sample": {specExample}}
	for _, lang := range locales.Languages {
		title, _ := p.Texts.Text(lang, locales.CauseTitle(cause))
		form.Set("title_"+lang, title)
		form.Set("advice_"+lang, advice+" ("+lang+")")
	}
	return form
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	// The test client is on this host, listed as the proxy that says
	// whether the visitor used TLS.
	ts := newTestServer(t, Config{TrustedProxies: []string{"127.0.0.1/32", "::1/128"}})
	if err := addTestAdmin(ts.db, testAdmin); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, admin, password string
		header                []string
		want                  int
		wantSecure            bool
	}{
		{name: "right password", admin: testAdmin, password: testPassword, want: http.StatusSeeOther},
		{name: "behind TLS", admin: testAdmin, password: testPassword, header: []string{"X-Forwarded-Proto", "https"}, want: http.StatusSeeOther, wantSecure: true},
		{name: "wrong password", admin: testAdmin, password: "wrong password!", want: http.StatusUnauthorized},
		{name: "unknown admin", admin: "nobody", password: testPassword, want: http.StatusUnauthorized},
		{name: "empty", want: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdminClient(t, ts)
			form := a.formOf(t, "/admin/signin")
			form.Set("name", tc.admin)
			form.Set("password", tc.password)
			resp, body := a.do(t, http.MethodPost, "/admin/signin", form, tc.header...)
			if resp.StatusCode != tc.want {
				t.Fatalf("POST /admin/signin (%s) = %d; want %d", tc.name, resp.StatusCode, tc.want)
			}
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == admin.SessionCookie {
					session = c
				}
			}
			if tc.want != http.StatusSeeOther {
				if session != nil && session.Value != "" {
					t.Errorf("a refused sign-in set %s", admin.SessionCookie)
				}
				if strings.Contains(body, tc.password) && tc.password != "" {
					t.Errorf("the refused sign-in page shows the password")
				}
				return
			}
			if loc := resp.Header.Get("Location"); loc != "/admin/decisions" {
				t.Errorf("sign-in redirects to %q; want the look-up, /admin/decisions", loc)
			}
			if session == nil {
				t.Fatalf("sign-in set no %s cookie", admin.SessionCookie)
			}
			if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/admin" || session.Secure != tc.wantSecure {
				t.Errorf("session cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v; want true, Strict, /admin, %v",
					session.HttpOnly, session.SameSite, session.Path, session.Secure, tc.wantSecure)
			}
			if ttl := time.Until(session.Expires); ttl < admin.DefaultSessionTTL-time.Minute || ttl > admin.DefaultSessionTTL+time.Minute {
				t.Errorf("session cookie expires in %v; want about %v", ttl, admin.DefaultSessionTTL)
			}
			if raw, _ := base64URL(session.Value); len(raw) != 32 {
				t.Errorf("session token is %d bytes; want 32 random bytes", len(raw))
			}
			who, err := ts.db.SessionAdmin(context.Background(), admin.HashToken(session.Value), time.Now())
			if err != nil || who != testAdmin {
				t.Errorf("store session for the token's hash = %q, %v; want %s", who, err, testAdmin)
			}
		})
	}
}

func TestSessionTokenIsNotStored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, Config{}, publish.New(publish.Config{}, rules.NewEngine(p), db, slog.New(slog.DiscardHandler)), db, slog.New(slog.DiscardHandler))
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	ts := &testServer{Server: s, URL: hs.URL, policy: p, db: db}
	a := signedInAdmin(t, ts)
	u, _ := url.Parse(ts.URL + "/admin/")
	var token string
	for _, c := range a.client.Jar.Cookies(u) {
		if c.Name == admin.SessionCookie {
			token = c.Value
		}
	}
	db.Close()
	var all []byte
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	// The files read are the database: the admin's name is in them.
	if !bytes.Contains(all, []byte(testAdmin)) {
		t.Fatalf("the %d files in %s do not hold the admin %q: not the database", len(files), dir, testAdmin)
	}
	if token == "" || bytes.Contains(all, []byte(token)) {
		t.Errorf("the database files hold the session token %q (or there is none); want only its hash", token)
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	a := newAdminClient(t, ts)
	form := a.formOf(t, "/admin/signin")
	form.Set("name", "nobody")
	form.Set("password", "not the password")
	for i := 1; i <= admin.SignInBurst+1; i++ {
		resp, _ := a.do(t, http.MethodPost, "/admin/signin", form)
		want := http.StatusUnauthorized
		if i > admin.SignInBurst {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Errorf("sign-in attempt %d = %d; want %d", i, resp.StatusCode, want)
		}
	}
	if resp, _ := a.get(t, "/admin/signin"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /admin/signin after the limit = %d; want 200 (only attempts are limited)", resp.StatusCode)
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	a := signedInAdmin(t, ts)
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/ signed in = %d; want 200", resp.StatusCode)
	}
	u, _ := url.Parse(ts.URL + "/admin/")
	old := a.client.Jar.Cookies(u)
	resp, _ := a.submit(t, "/admin/", "/admin/signout", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/signin" {
		t.Fatalf("POST /admin/signout = %d to %q; want 303 to /admin/signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The old cookie, replayed, must not work either.
	replay := newAdminClient(t, ts)
	replay.client.Jar.SetCookies(u, old)
	if resp, _ := replay.get(t, "/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /admin/ with the signed-out session = %d; want 303 to sign in", resp.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	ts := newTestServer(t, Config{SessionTTL: time.Minute, Now: clock})
	a := signedInAdmin(t, ts)
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/ = %d; want 200", resp.StatusCode)
	}
	// Keep the cookie past its browser expiry: the server must refuse it.
	u, _ := url.Parse(ts.URL + "/admin/")
	cookies := a.client.Jar.Cookies(u)
	mu.Lock()
	now = now.Add(61 * time.Second) // the server's clock, not the test's, passes the TTL
	mu.Unlock()
	late := newAdminClient(t, ts)
	for _, c := range cookies {
		c.Expires = time.Time{}
	}
	late.client.Jar.SetCookies(u, cookies)
	if resp, _ := late.get(t, "/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /admin/ with an expired session = %d; want 303 to sign in", resp.StatusCode)
	}
}

// adminRoutes lists the router's routes under /admin, with a concrete
// path for each.
func adminRouteList(tb testing.TB, ts *testServer, cause, module string, seq int64) []*echo.Route {
	tb.Helper()
	var list []*echo.Route
	for _, r := range ts.Echo().Routes() {
		if r.Path != "/admin" && !strings.HasPrefix(r.Path, "/admin/") {
			continue
		}
		c := *r
		c.Path = strings.NewReplacer(":id", cause, ":seq", strconv.FormatInt(seq, 10), "*", "no-such-page").Replace(r.Path)
		if c.Path == "/admin/module" && c.Method == http.MethodGet {
			c.Path += "?file=" + url.QueryEscape(module)
		}
		list = append(list, &c)
	}
	slices.SortFunc(list, func(a, b *echo.Route) int { return strings.Compare(a.Method+a.Path, b.Method+b.Path) })
	return list
}

// isSignIn reports whether a route answers without a session: the sign-in
// page and its form, and the stylesheet that styles it.
func isSignIn(r *echo.Route) bool {
	return r.Path == "/admin/signin" && (r.Method == http.MethodGet || r.Method == http.MethodPost) ||
		r.Path == "/admin/admin.css" && r.Method == http.MethodGet
}

func TestEveryAdminRouteNeedsASession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	cause := spamCause(t, ts.policy)
	resp, _ := a.submit(t, "/admin/causes/"+cause.ID, "/admin/causes/"+cause.ID, causeForm(ts.policy, cause.ID, "Route test", "publish"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish = %d; want 303", resp.StatusCode)
	}
	routes := adminRouteList(t, ts, cause.ID, cause.File, 1)
	protected := 0
	for _, r := range routes {
		if !isSignIn(r) {
			protected++
		}
	}
	if protected < 14 {
		t.Fatalf("%d protected routes under /admin; want every admin page and form (at least 14): %v", protected, routes)
	}

	expired := "expired-token"
	if err := ts.db.CreateSession(context.Background(), admin.HashToken(expired), testAdmin, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	sessions := []struct{ name, cookie string }{
		{"no session", ""},
		{"made-up session", "bm90IGEgcmVhbCB0b2tlbg"},
		{"expired session", expired},
	}
	for _, r := range routes {
		methods := []string{r.Method}
		if r.Method == echo.RouteNotFound {
			methods = []string{http.MethodGet, http.MethodPost}
		}
		for _, method := range methods {
			t.Run(method+" "+r.Path, func(t *testing.T) {
				if isSignIn(r) {
					resp, _ := newAdminClient(t, ts).do(t, method, r.Path, url.Values{})
					if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/admin/signin" {
						t.Errorf("%s %s redirects to itself", method, r.Path)
					}
					return
				}
				for _, s := range sessions {
					c := newAdminClient(t, ts)
					var header []string
					if s.cookie != "" {
						header = []string{"Cookie", admin.SessionCookie + "=" + s.cookie}
					}
					resp, body := c.do(t, method, r.Path, url.Values{}, header...)
					switch method {
					case http.MethodGet:
						if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/signin" {
							t.Errorf("%s %s with %s = %d to %q; want 303 to /admin/signin", method, r.Path, s.name, resp.StatusCode, resp.Header.Get("Location"))
						}
					default:
						if resp.StatusCode != http.StatusUnauthorized {
							t.Errorf("%s %s with %s = %d; want 401", method, r.Path, s.name, resp.StatusCode)
						}
					}
					if strings.Contains(body, "package ") || strings.Contains(body, cause.ID) {
						t.Errorf("%s %s with %s shows rules content", method, r.Path, s.name)
					}
				}
				if method == http.MethodGet && r.Method != echo.RouteNotFound {
					resp, _ := a.get(t, r.Path)
					if resp.StatusCode >= 300 && resp.StatusCode != http.StatusSeeOther {
						t.Errorf("GET %s with a valid session = %d; want it served", r.Path, resp.StatusCode)
					}
				}
			})
		}
	}
	if got := ts.engine.Current().Revision; got == ts.policy.Revision {
		t.Fatalf("the setup publish did not happen")
	}
}

func TestEveryAdminFormNeedsTheCSRFToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	p := ts.policy
	cause := spamCause(t, p)
	newID := cause.ID + "_copy"
	rule, _ := copyCause(t, p.Source, cause, newID)
	// The copy has a verdict only for a sample no Rego test sends.
	rule = guarded(rule, "input.facts.opted_out == true")
	// A draft to publish, of a file no other form here changes.
	const drafted = "rules/login/facts.rego"
	a.saveToDraft(t, drafted, p.Source.Modules[drafted]+"\n# A draft note.\n")

	// Each POST route, in an order where each one's valid post makes sense,
	// with the fields of a valid post (the CSRF token aside) and the page
	// its form is on.
	forms := []struct {
		path, page string
		fields     url.Values
	}{
		{"/admin/causes/" + cause.ID, "/admin/causes/" + cause.ID, causeForm(p, cause.ID, "CSRF test", "publish")},
		{"/admin/module", "/admin/module?file=" + url.QueryEscape(cause.File), url.Values{
			"file": {cause.File}, "text": {p.Source.Modules[cause.File] + "\n# edited\n"}, "action": {"publish"},
		}},
		{"/admin/new-cause", "/admin/new-cause", url.Values{
			"id": {newID}, "module": {cause.File}, "rule": {rule}, "action": {"publish"},
			"title_es": {"Título"}, "advice_es": {"Consejo"}, "title_en": {"Title"}, "advice_en": {"Advice"},
		}},
		{"/admin/new-fact", "/admin/new-fact", url.Values{
			"name": {"csrf_probe"}, "type": {"boolean"}, "asked_of": {"none"}, "description": {"A fact of the CSRF test."}, "action": {"save"},
		}},
		{"/admin/draft", "/admin/draft", url.Values{"action": {"publish"}}},
		{"/admin/draft/add", "/admin/draft", url.Values{"file": {"rules/billing/decision.rego"}, "text": {"package billing\n"}}},
		{"/admin/draft/remove", "/admin/draft", url.Values{"file": {drafted}}},
		{"/admin/draft/keep", "/admin/draft", url.Values{"file": {drafted}}},
		{"/admin/draft/discard", "/admin/draft", url.Values{}},
		{"/admin/revisions/1/rollback", "/admin/revisions", url.Values{}},
		{"/admin/signin", "/admin/signin", url.Values{"name": {testAdmin}, "password": {testPassword}}},
		{"/admin/signout", "/admin/", url.Values{}},
	}
	var posts []string
	for _, r := range adminRouteList(t, ts, cause.ID, cause.File, 1) {
		if r.Method == http.MethodPost {
			posts = append(posts, r.Path)
		}
	}
	for _, path := range posts {
		if !slices.ContainsFunc(forms, func(f struct {
			path, page string
			fields     url.Values
		}) bool {
			return f.path == path
		}) {
			t.Errorf("POST %s has no case in this test; add one", path)
		}
	}

	for _, f := range forms {
		t.Run(f.path, func(t *testing.T) {
			form := a.formOf(t, f.page)
			token := form.Get(web.CSRFField)
			wrong := "x" + token[1:]
			if token[0] == 'x' {
				wrong = "y" + token[1:]
			}
			for k, v := range f.fields {
				form[k] = v
			}
			revision, stored := ts.engine.Current().Revision, revisionCount(t, ts.db)
			bad := []struct {
				name   string
				token  string
				header []string
				want   []int
			}{
				{"no token", "", nil, []int{http.StatusBadRequest, http.StatusForbidden}},
				{"wrong token", wrong, nil, []int{http.StatusForbidden}},
				{"cross-site", token, []string{"Sec-Fetch-Site", "cross-site"}, []int{http.StatusForbidden}},
			}
			for _, b := range bad {
				post := url.Values{}
				for k, v := range form {
					post[k] = v
				}
				post.Del(web.CSRFField)
				if b.token != "" {
					post.Set(web.CSRFField, b.token)
				}
				resp, _ := a.do(t, http.MethodPost, f.path, post, b.header...)
				if !slices.Contains(b.want, resp.StatusCode) {
					t.Errorf("POST %s with %s = %d; want one of %v", f.path, b.name, resp.StatusCode, b.want)
				}
				if got := ts.engine.Current().Revision; got != revision {
					t.Errorf("POST %s with %s changed the rules to %s", f.path, b.name, got)
				}
				if got := revisionCount(t, ts.db); got != stored {
					t.Errorf("POST %s with %s stored a revision", f.path, b.name)
				}
				if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusOK {
					t.Errorf("after POST %s with %s, the session no longer works (%d)", f.path, b.name, resp.StatusCode)
				}
			}
			// The same post with its token is accepted.
			resp, body := a.do(t, http.MethodPost, f.path, form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("POST %s with its token = %d; want 303\n%s", f.path, resp.StatusCode, body)
			}
		})
	}
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after signing out with the token, GET /admin/ = %d; want 303", resp.StatusCode)
	}
}

func TestAdminEditPreviewPublishRollback(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	p := ts.policy
	cause := spamCause(t, p)
	page := "/admin/causes/" + cause.ID
	oldAdvice, _ := p.Texts.Text("en", locales.CauseAdvice(cause.ID))

	resp, body := a.get(t, page)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, html.EscapeString(oldAdvice)) {
		t.Fatalf("GET %s = %d, shows the current advice %v; want 200 and it shown", page, resp.StatusCode, strings.Contains(body, oldAdvice))
	}

	t.Run("a missing English title is refused", func(t *testing.T) {
		form := causeForm(p, cause.ID, "New", "publish")
		form.Set("title_en", " ")
		resp, body := a.submit(t, page, page, form)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "the en title must not be empty") || !strings.Contains(body, "locales/active.en.toml") {
			t.Errorf("publish without an English title = %d; want 422 naming the file and the field\n%s", resp.StatusCode, body)
		}
		if ts.engine.Current() != p {
			t.Errorf("the refused publish changed the rules")
		}
	})
	t.Run("preview shows the draft next to the current answer", func(t *testing.T) {
		resp, body := a.submit(t, page, page, causeForm(p, cause.ID, "Previewed advice", "preview"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("preview = %d; want 200\n%s", resp.StatusCode, body)
		}
		for _, want := range []string{"Previewed advice (en)", "Previewed advice (es)", html.EscapeString(oldAdvice)} {
			if !strings.Contains(body, want) {
				t.Errorf("preview lacks %q", want)
			}
		}
		if ts.engine.Current() != p {
			t.Errorf("a preview changed the rules")
		}
	})
	t.Run("a broken sample is shown, not published", func(t *testing.T) {
		form := causeForm(p, cause.ID, "New", "publish")
		form.Set("sample", `{"facts": {"online": "maybe"}}`)
		resp, body := a.submit(t, page, page, form)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "facts.online: must be a boolean") {
			t.Errorf("publish with a bad sample = %d; want 422 naming facts.online\n%s", resp.StatusCode, body)
		}
	})

	resp, _ = a.submit(t, page, page, causeForm(p, cause.ID, "Published advice", "publish"))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/revisions?published=") {
		t.Fatalf("publish = %d to %q; want 303 to the revisions", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := ts.mustEvaluate(t, evaluate(specExample)); got.Findings[0].Advice != "Published advice (en)" {
		t.Errorf("after publish, the API's advice = %q; want the published one", got.Findings[0].Advice)
	}
	published := ts.engine.Current().Revision

	resp, body = a.get(t, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, published) || !strings.Contains(body, testAdmin) || !strings.Contains(body, "texts of "+cause.ID) {
		t.Errorf("revisions page = %d; want it to list %s by %s", resp.StatusCode, published, testAdmin)
	}
	resp, body = a.get(t, "/admin/revisions/2")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, html.EscapeString(`+other = "Published advice (es)"`)) {
		t.Errorf("GET /admin/revisions/2 = %d; want the diff with the new advice\n%s", resp.StatusCode, body)
	}

	t.Run("stale form", func(t *testing.T) {
		form := a.formOf(t, page)
		form.Set("base", p.Revision)
		for k, v := range causeForm(p, cause.ID, "Stale", "publish") {
			form[k] = v
		}
		resp, body := a.do(t, http.MethodPost, page, form)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "changed while you edited") {
			t.Errorf("publish from an old revision = %d; want 422 saying the rules changed", resp.StatusCode)
		}
	})

	resp, _ = a.submit(t, "/admin/revisions", "/admin/revisions/1/rollback", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rollback = %d; want 303", resp.StatusCode)
	}
	if got := ts.mustEvaluate(t, evaluate(specExample)); got.Findings[0].Advice != oldAdvice || got.PolicyRevision != p.Revision {
		t.Errorf("after rollback, the API's advice = %q at %s; want %q at %s", got.Findings[0].Advice, got.PolicyRevision, oldAdvice, p.Revision)
	}
	resp, body = a.submit(t, "/admin/revisions", "/admin/revisions/1/rollback", nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "nothing to publish") {
		t.Errorf("rollback to the revision being served = %d; want 422 saying nothing changes", resp.StatusCode)
	}
	if resp, _ := a.submit(t, "/admin/revisions", "/admin/revisions/99/rollback", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("rollback to a revision that does not exist = %d; want 404", resp.StatusCode)
	}
}

func TestAdminModuleEdit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	p := ts.policy
	cause := spamCause(t, p)
	page := "/admin/module?file=" + url.QueryEscape(cause.File)
	resp, body := a.get(t, page)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, html.EscapeString(strings.SplitN(p.Source.Modules[cause.File], "\n", 2)[0])) {
		t.Fatalf("GET %s = %d; want the module's text", page, resp.StatusCode)
	}
	if resp, _ := a.get(t, "/admin/module?file=nope.rego"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a module that does not exist = %d; want 404", resp.StatusCode)
	}

	broken := withBodyLine(t, p.Source, cause, "likely := [", "").Modules[cause.File]
	// A browser sends a textarea with CRLF line ends.
	form := url.Values{"file": {cause.File}, "text": {strings.ReplaceAll(broken, "\n", "\r\n")}, "action": {"publish"}}
	resp, body = a.submit(t, page, "/admin/module", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, cause.File+":") {
		t.Errorf("publishing a broken module = %d; want 422 with %s:line\n%s", resp.StatusCode, cause.File, body)
	}
	if ts.engine.Current() != p {
		t.Fatalf("a broken module was published")
	}

	edited := p.Source.Modules[cause.File] + "\n# An admin's note.\n"
	form = url.Values{"file": {cause.File}, "text": {strings.ReplaceAll(edited, "\n", "\r\n")}, "action": {"publish"}}
	if resp, body := a.submit(t, page, "/admin/module", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publishing an edited module = %d; want 303\n%s", resp.StatusCode, body)
	}
	if got := ts.engine.Current().Source.Modules[cause.File]; got != edited {
		t.Errorf("the published module = ...%q; want the edit, with LF line ends", got[max(0, len(got)-40):])
	}
}

func TestAdminAddCause(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	p := ts.policy
	cause := spamCause(t, p)
	newID := cause.ID + "_again"
	rule, _ := copyCause(t, p.Source, cause, newID)
	rule = guarded(rule, "input.facts.opted_out == true")
	sample := strings.Replace(specExample, `"spam_checked": false`, `"spam_checked": false, "opted_out": true`, 1)
	texts := url.Values{"title_es": {"Título nuevo"}, "advice_es": {"Consejo nuevo"}, "title_en": {"New title"}, "advice_en": {"New advice"}}
	form := func(id, rule, action string) url.Values {
		f := url.Values{"id": {id}, "module": {cause.File}, "rule": {rule}, "sample": {sample}, "action": {action}}
		for k, v := range texts {
			f[k] = v
		}
		return f
	}
	tests := []struct {
		name, id, rule string
		want           string
	}{
		{"id not in the rule", "other_id", rule, "must declare the cause"},
		{"existing id", cause.ID, ruleBlock(t, p.Source, cause), "already exists"},
		{"bad id", "Bad-Id", rule, "must be snake_case"},
		{"empty rule", newID, "", "must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := a.submit(t, "/admin/new-cause", "/admin/new-cause", form(tc.id, tc.rule, "publish"))
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
				t.Errorf("new cause (%s) = %d; want 422 saying %q\n%s", tc.name, resp.StatusCode, tc.want, body)
			}
			if ts.engine.Current() != p {
				t.Errorf("new cause (%s) changed the rules", tc.name)
			}
		})
	}

	resp, body := a.submit(t, "/admin/new-cause", "/admin/new-cause", form(newID, rule, "preview"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "New advice") || !strings.Contains(body, "Consejo nuevo") {
		t.Fatalf("preview of the new cause = %d; want its texts in the draft's answer\n%s", resp.StatusCode, body)
	}
	if resp, body := a.submit(t, "/admin/new-cause", "/admin/new-cause", form(newID, rule, "publish")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publishing the new cause = %d; want 303\n%s", resp.StatusCode, body)
	}
	got := ts.mustEvaluate(t, evaluate(sample))
	if !slices.ContainsFunc(got.Findings, func(f answer.Finding) bool { return f.ID == newID && f.Advice == "New advice" }) {
		t.Errorf("after adding %s, the API finds %+v; want it with its advice", newID, got.Findings)
	}
	if _, ok := ts.engine.Current().Catalog.Cause(newID); !ok {
		t.Errorf("the catalog lacks the new cause %s", newID)
	}
}

func TestAdminPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	a := signedInAdmin(t, ts)
	p := ts.policy
	cause := spamCause(t, p)
	for _, f := range []store.Feedback{
		{Page: store.PageDiagnose, Lang: "es", Reaction: "yes", Causes: []string{cause.ID}, Revision: p.Revision},
		{Page: store.PageDiagnose, Lang: "en", Reaction: "no", Causes: []string{cause.ID}, Revision: p.Revision},
		{Page: store.PageArticle, Lang: "es", Reaction: "partly", Revision: p.Revision},
	} {
		if err := ts.db.AddFeedback(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	title, _ := p.Texts.Text("en", locales.CauseTitle(cause.ID))
	tests := []struct {
		path, lang string
		want       []string
	}{
		{"/admin/", "en", []string{"Published rules", p.Revision, cause.ID, html.EscapeString(title), cause.File}},
		{"/admin/", "es", []string{"Reglas publicadas", `lang="es"`}},
		{"/admin/causes/" + cause.ID, "en", []string{cause.ID, cause.Symptom, "title_es", "advice_en"}},
		{"/admin/new-cause", "en", []string{cause.File, `name="rule"`}},
		{"/admin/new-fact", "en", []string{"New fact", `name="name"`, `<option value="choices">`, `value="save"`}},
		{"/admin/new-fact", "es", []string{"Nuevo dato", `lang="es"`}},
		{"/admin/revisions", "en", []string{"Nothing has been published yet"}},
		{"/admin/feedback", "en", []string{
			`data-key="` + cause.ID + `"`, html.EscapeString(title), `data-key="diagnose"`, "Self-diagnosis", `data-key="` + p.Revision + `"`,
		}},
		{"/admin/keys", "en", []string{"No keys yet.", `href="/admin/keys" aria-current="page"`, "acceso apikey add"}},
		{"/admin/keys", "es", []string{"Aún no hay claves.", `lang="es"`}},
		{"/admin/admin.css", "en", []string{".diff"}},
	}
	for _, tc := range tests {
		t.Run(tc.path+" "+tc.lang, func(t *testing.T) {
			resp, body := a.do(t, http.MethodGet, tc.path, nil, "Accept-Language", tc.lang)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d; want 200", tc.path, resp.StatusCode)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s lacks %q", tc.path, want)
				}
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") && !strings.Contains(cc, "private") {
				t.Errorf("GET %s Cache-Control = %q; want no-store or private", tc.path, cc)
			}
		})
	}
	for _, path := range []string{"/admin/causes/no_such_cause", "/admin/revisions/42", "/admin/revisions/x", "/admin/nothing-here"} {
		if resp, _ := a.get(t, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d; want 404", path, resp.StatusCode)
		}
	}
}

// base64URL decodes a session token.
func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func TestAdminTextsAreParsedOnce(t *testing.T) {
	ts := newTestServer(t, Config{})
	if ts.adminTexts == nil {
		t.Fatal("adminTexts = nil; want the embedded message files parsed")
	}
	for _, lang := range locales.Languages {
		for _, id := range []string{"AdminRulesTitle", "AdminRulesDirReadOnly"} {
			if text, ok := ts.adminTexts.Text(lang, id); !ok || text == "" || text == id {
				t.Errorf("ts.adminTexts.Text(%s, %s) = %q, %v; want the text of the embedded message file", lang, id, text, ok)
			}
		}
	}
	a := signedInAdmin(t, ts)
	resp, body := a.do(t, http.MethodGet, "/admin/", nil, "Accept-Language", "en")
	if title, _ := ts.adminTexts.Text("en", "AdminRulesTitle"); resp.StatusCode != http.StatusOK || !strings.Contains(body, title) {
		t.Errorf("GET /admin/ = %d, has the title %q: %v; want 200 and the title", resp.StatusCode, title, strings.Contains(body, title))
	}
}

func TestAdminRefusesPublishingWhenServingARulesDir(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	writeRules(t, dir, rules.Embedded())
	ts := newTestServer(t, Config{}, publish.Config{RulesDir: dir, Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	p := ts.policy
	cause := spamCause(t, p)
	page := "/admin/causes/" + cause.ID
	seq, err := ts.db.AddRevision(ctx, store.Revision{ID: "stored-before", PublishedAt: time.Now().UTC(), Note: "stored before", Source: withAdvice(t, p.Source, cause.ID, "Stored advice")})
	if err != nil {
		t.Fatalf("AddRevision = %v", err)
	}
	rollback := "/admin/revisions/" + strconv.FormatInt(seq, 10) + "/rollback"

	resp, body := a.do(t, http.MethodGet, "/admin/", nil, "Accept-Language", "en")
	if note, _ := ts.adminTexts.Text("en", "AdminRulesDirReadOnly"); resp.StatusCode != http.StatusOK || !strings.Contains(body, html.EscapeString(note)) || !strings.Contains(body, dir) {
		t.Errorf("GET /admin/ with --rules = %d; want 200 and the note %q with the folder %s", resp.StatusCode, note, dir)
	}
	tests := []struct {
		name, path, action string
		form               url.Values
		want               int
	}{
		{"check still works", page, page, causeForm(p, cause.ID, "Previewed advice", "preview"), http.StatusOK},
		{"publish is refused", page, page, causeForm(p, cause.ID, "Published advice", "publish"), http.StatusUnprocessableEntity},
		{"rollback is refused", "/admin/revisions", rollback, nil, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := a.submit(t, tc.path, tc.action, tc.form)
			if resp.StatusCode != tc.want {
				t.Fatalf("POST %s = %d; want %d\n%s", tc.action, resp.StatusCode, tc.want, body)
			}
			if refused := strings.Contains(body, "publishing is off") && strings.Contains(body, dir); refused != (tc.want != http.StatusOK) {
				t.Errorf("POST %s says publishing is off for %s: %v; want %v", tc.action, dir, refused, tc.want != http.StatusOK)
			}
			if ts.engine.Current() != p {
				t.Errorf("POST %s changed the rules being served", tc.action)
			}
			if got := revisionCount(t, ts.db); got != 1 {
				t.Errorf("after POST %s, %d revisions stored; want 1 (nothing published)", tc.action, got)
			}
		})
	}
	if _, _, err := ts.publisher.Publish(ctx, publish.Change{Source: withAdvice(t, p.Source, cause.ID, "Direct"), Base: p.Revision}); err == nil || !strings.Contains(err.Error(), "--rules") {
		t.Errorf("publish with --rules = %v; want a problem naming --rules", err)
	}
}

// TestRemovedAdminSessionStops removes a signed-in admin (acceso admin
// remove): the session open in their browser stops working at its next
// request.
func TestRemovedAdminSessionStops(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	a := signedInAdmin(t, ts)
	if resp, _ := a.get(t, "/admin/revisions"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/revisions signed in = %d; want 200", resp.StatusCode)
	}
	if err := ts.db.RemoveAdmin(context.Background(), testAdmin); err != nil {
		t.Fatalf("RemoveAdmin = %v", err)
	}
	if resp, _ := a.get(t, "/admin/revisions"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/signin" {
		t.Errorf("GET /admin/revisions after the admin was removed = %d to %q; want 303 to /admin/signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := a.signIn(t, testAdmin, testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signing in as the removed admin = %d; want 401", resp.StatusCode)
	}
}
