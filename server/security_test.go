package server

import (
	"acceso/server/admin"
	"acceso/server/site"
	"acceso/server/web"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestSecureFollowsTrustedProxies checks the one answer to "did this
// request come over TLS?" that the language, CSRF and session cookies and
// HSTS all follow: the connection's own TLS, or X-Forwarded-Proto: https
// from a trusted proxy (with none configured, nobody, this host included),
// never from anyone else, a private address included. Requests go through the server's handler with the peer
// address each case needs.
func TestSecureFollowsTrustedProxies(t *testing.T) {
	t.Parallel()
	const client = "203.0.113.7:40000"
	tests := []struct {
		name    string
		proxies []string
		scheme  string // of the request's URL; https is a TLS connection
		peer    string
		proto   string // X-Forwarded-Proto, if any
		want    bool
	}{
		{"plain HTTP", nil, "http", client, "", false},
		{"TLS", nil, "https", client, "", true},
		{"a client says https", nil, "http", client, "https", false},
		{"a private-network peer says https", nil, "http", "192.168.1.5:40000", "https", false},
		// Issue 17: with no proxy configured, a peer on this host is not
		// believed either; a proxy there is listed like any other.
		{"this host says https, no proxy configured", nil, "http", "127.0.0.1:40000", "https", false},
		{"this host says HTTPS, IPv6, no proxy configured", nil, "http", "[::1]:40000", "HTTPS", false},
		{"a listed proxy on this host says https", []string{"127.0.0.1/32", "::1/128"}, "http", "127.0.0.1:40000", "https", true},
		{"a listed proxy on this host says HTTPS, IPv6", []string{"127.0.0.1/32", "::1/128"}, "http", "[::1]:40000", "HTTPS", true},
		{"a listed proxy on this host says http", []string{"127.0.0.1/32", "::1/128"}, "http", "127.0.0.1:40000", "http", false},
		{"a trusted proxy says https", []string{"10.0.0.0/8"}, "http", "10.1.2.3:40000", "https", true},
		{"a trusted proxy says http", []string{"10.0.0.0/8"}, "http", "10.1.2.3:40000", "http", false},
		{"a trusted proxy says nothing", []string{"10.0.0.0/8"}, "http", "10.1.2.3:40000", "", false},
		{"a client says https behind trusted proxies", []string{"10.0.0.0/8"}, "http", client, "https", false},
		{"this host says https when proxies are configured", []string{"10.0.0.0/8"}, "http", "127.0.0.1:40000", "https", false},
		{"TLS behind trusted proxies", []string{"10.0.0.0/8"}, "https", client, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, db, _ := newServer(t, Config{TrustedProxies: tc.proxies})
			if err := addTestAdmin(db, testAdmin); err != nil {
				t.Fatal(err)
			}
			send := func(method, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
				t.Helper()
				var req *http.Request
				if form != nil {
					req = httptest.NewRequest(method, tc.scheme+"://acceso.example"+path, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				} else {
					req = httptest.NewRequest(method, tc.scheme+"://acceso.example"+path, nil)
				}
				req.RemoteAddr = tc.peer
				if tc.proto != "" {
					req.Header.Set("X-Forwarded-Proto", tc.proto)
				}
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				s.Handler().ServeHTTP(rec, req)
				return rec.Result()
			}
			cookie := func(resp *http.Response, name string) *http.Cookie {
				t.Helper()
				for _, c := range resp.Cookies() {
					if c.Name == name {
						return c
					}
				}
				t.Fatalf("%s %s set no %s cookie", resp.Request.Method, resp.Request.URL.Path, name)
				return nil
			}

			resp := send(http.MethodGet, "/en/language?next=/en/", nil)
			if got := cookie(resp, site.LangCookie).Secure; got != tc.want {
				t.Errorf("GET /en/language %s cookie Secure = %v; want %v", site.LangCookie, got, tc.want)
			}
			if got := resp.Header.Get("Strict-Transport-Security") != ""; got != tc.want {
				t.Errorf("GET /en/language has Strict-Transport-Security = %v; want %v", got, tc.want)
			}

			resp = send(http.MethodGet, "/admin/signin", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /admin/signin = %d; want 200", resp.StatusCode)
			}
			signInCk := cookie(resp, admin.SignInCookie)
			if signInCk.Secure != tc.want {
				t.Errorf("GET /admin/signin %s cookie Secure = %v; want %v", admin.SignInCookie, signInCk.Secure, tc.want)
			}
			if got := cookie(send(http.MethodGet, "/es/article", nil), "acceso_csrf").Secure; got != tc.want {
				t.Errorf("GET /es/article acceso_csrf cookie Secure = %v; want %v", got, tc.want)
			}

			form := url.Values{web.CSRFField: {admin.SignInToken(signInCk.Value)}, "name": {testAdmin}, "password": {testPassword}}
			resp = send(http.MethodPost, "/admin/signin", form, signInCk)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("POST /admin/signin = %d; want 303", resp.StatusCode)
			}
			if got := cookie(resp, admin.SessionCookie).Secure; got != tc.want {
				t.Errorf("POST /admin/signin %s cookie Secure = %v; want %v", admin.SessionCookie, got, tc.want)
			}
		})
	}
}
