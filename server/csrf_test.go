package server

import (
	"net/http"
	"net/url"
	"testing"

	"acceso/server/admin"
	"acceso/server/web"
)

// TestAdminCSRFTokenIsBoundToTheSession checks the attacks a token kept
// only in a cookie let through: a cookie and field the attacker chose, a
// token in the query string, a token from before sign-in or from another
// session. Each post is a sign-out, which a forged one would do silently.
func TestAdminCSRFTokenIsBoundToTheSession(t *testing.T) {
	t.Parallel()
	const other = "bea"
	planted := "attacker-chosen-value-0123456789abcdefghijkl"
	// Each case has a server of its own, so that its sign-ins stay within
	// the per-address limit.
	fresh := func(t *testing.T) *testServer {
		ts := newTestServer(t, Config{})
		for _, name := range []string{testAdmin, other} {
			if err := addTestAdmin(ts.db, name); err != nil {
				t.Fatal(err)
			}
		}
		return ts
	}

	tests := []struct {
		name string
		// post returns what the signed-in client a posts to
		// /admin/signout (path may carry a query).
		post func(t *testing.T, ts *testServer, a *adminClient) (path string, form url.Values)
		want int
	}{
		{"the page's own token", func(t *testing.T, ts *testServer, a *adminClient) (string, url.Values) {
			return "/admin/signout", url.Values{web.CSRFField: {a.formOf(t, "/admin/").Get(web.CSRFField)}}
		}, http.StatusSeeOther},
		{"an attacker-chosen cookie and the same value in the field", func(t *testing.T, ts *testServer, a *adminClient) (string, url.Values) {
			a.client.Jar.SetCookies(adminURLOf(ts), []*http.Cookie{{Name: "acceso_csrf", Value: planted, Path: "/"}})
			return "/admin/signout", url.Values{web.CSRFField: {planted}}
		}, http.StatusForbidden},
		{"an attacker-chosen sign-in cookie and the same value in the field", func(t *testing.T, ts *testServer, a *adminClient) (string, url.Values) {
			a.client.Jar.SetCookies(adminURLOf(ts), []*http.Cookie{{Name: admin.SignInCookie, Value: planted, Path: "/admin"}})
			return "/admin/signout", url.Values{web.CSRFField: {planted}}
		}, http.StatusForbidden},
		{"the token in the query string", func(t *testing.T, ts *testServer, a *adminClient) (string, url.Values) {
			token := a.formOf(t, "/admin/").Get(web.CSRFField)
			return "/admin/signout?" + url.Values{web.CSRFField: {token}}.Encode(), url.Values{}
		}, http.StatusForbidden},
		{"the sign-in form's token, after sign-in", func(t *testing.T, ts *testServer, a *adminClient) (string, url.Values) {
			before := newAdminClient(t, ts)
			token := before.formOf(t, "/admin/signin").Get(web.CSRFField)
			if resp := before.signIn(t, testAdmin, testPassword); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in = %d", resp.StatusCode)
			}
			*a = *before
			return "/admin/signout", url.Values{web.CSRFField: {token}}
		}, http.StatusForbidden},
		{"a token of the previous session", func(t *testing.T, ts *testServer, a *adminClient) (string, url.Values) {
			token := a.formOf(t, "/admin/").Get(web.CSRFField)
			if resp, _ := a.do(t, http.MethodPost, "/admin/signout", url.Values{web.CSRFField: {token}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-out = %d", resp.StatusCode)
			}
			if resp := a.signIn(t, testAdmin, testPassword); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in = %d", resp.StatusCode)
			}
			return "/admin/signout", url.Values{web.CSRFField: {token}}
		}, http.StatusForbidden},
		{"another admin's token", func(t *testing.T, ts *testServer, a *adminClient) (string, url.Values) {
			b := newAdminClient(t, ts)
			if resp := b.signIn(t, other, testPassword); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in = %d", resp.StatusCode)
			}
			return "/admin/signout", url.Values{web.CSRFField: {b.formOf(t, "/admin/").Get(web.CSRFField)}}
		}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := fresh(t)
			a := newAdminClient(t, ts)
			if resp := a.signIn(t, testAdmin, testPassword); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in = %d", resp.StatusCode)
			}
			path, form := tc.post(t, ts, a)
			resp, body := a.do(t, http.MethodPost, path, form)
			if resp.StatusCode != tc.want {
				t.Fatalf("POST %s with %s = %d; want %d\n%.300s", path, tc.name, resp.StatusCode, tc.want, body)
			}
			stillIn, _ := a.get(t, "/admin/")
			if signedOut := stillIn.StatusCode == http.StatusSeeOther; signedOut != (tc.want == http.StatusSeeOther) {
				t.Errorf("after POST %s with %s, signed out = %v", path, tc.name, signedOut)
			}
		})
	}

	// The sign-in form itself: an attacker-chosen cookie with the same
	// value in the field, or the token in the query string, is refused.
	signIn := []struct {
		name string
		path string
		form url.Values
	}{
		{"an attacker-chosen cookie and field", "/admin/signin", url.Values{web.CSRFField: {planted}, "name": {testAdmin}, "password": {testPassword}}},
		{"the token in the query string", "/admin/signin?" + url.Values{web.CSRFField: {admin.SignInToken(planted)}}.Encode(), url.Values{"name": {testAdmin}, "password": {testPassword}}},
	}
	for _, tc := range signIn {
		t.Run("sign-in: "+tc.name, func(t *testing.T) {
			ts := fresh(t)
			signInURL, _ := url.Parse(ts.URL + "/admin/signin")
			a := newAdminClient(t, ts)
			a.client.Jar.SetCookies(signInURL, []*http.Cookie{{Name: admin.SignInCookie, Value: planted, Path: "/admin/signin"}})
			if resp, _ := a.do(t, http.MethodPost, tc.path, tc.form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s = %d; want 403", tc.path, tc.name, resp.StatusCode)
			}
		})
	}
}

func adminURLOf(ts *testServer) *url.URL {
	u, _ := url.Parse(ts.URL + "/admin/")
	return u
}
