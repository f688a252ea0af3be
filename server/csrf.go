package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"acceso/templates"
)

// csrfField is the name of the hidden form field that carries the token,
// on the site and in the admin area.
const csrfField = templates.CSRFField

// csrf is the help site's middleware that refuses a form post not made
// from this site (the admin area has its own, adminCSRF): the
// browser's Sec-Fetch-Site header when it sends one, else a token set in a
// SameSite=Strict cookie that the form must echo back. The cookie is Secure
// when the request came over TLS (see secure). Templates read the token
// with CSRFToken.
func csrf() echo.MiddlewareFunc {
	config := func(secure bool) echo.MiddlewareFunc {
		return middleware.CSRFWithConfig(middleware.CSRFConfig{
			TokenLookup:    "form:" + csrfField,
			CookieName:     "acceso_csrf",
			CookiePath:     "/",
			CookieHTTPOnly: true,
			CookieSecure:   secure,
			CookieSameSite: http.SameSiteStrictMode,
			ContextKey:     "csrf",
		})
	}
	// Echo's CSRF middleware sets Secure once for all requests, so there
	// is one of each, chosen per request.
	overTLS, plain := config(true), config(false)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		overTLSNext, plainNext := overTLS(next), plain(next)
		return func(c echo.Context) error {
			if secure(c) {
				return overTLSNext(c)
			}
			return plainNext(c)
		}
	}
}

// CSRFToken returns the token a form on this request must carry.
func CSRFToken(c echo.Context) string {
	token, _ := c.Get("csrf").(string)
	return token
}

// The admin area's CSRF check is stricter than the site's: its forms
// change what every visitor is told.
//
// A signed-in admin's token is derived from the session token, as
// HMAC-SHA256 keyed by it: only a page served to that session can carry
// it, a cookie an attacker manages to plant is worth nothing, and it
// changes with every sign-in (a new session). Being derived, it needs no
// server secret nor storage, so it holds across restarts and replicas.
// The sign-in form, before any session, derives its token the same way
// from a random cookie of its own (signInCookie). The token is read from
// the form body only, never from the query string, where it would end up
// in logs and Referer headers. A cross-site or same-site form post, which
// the browser announces in Sec-Fetch-Site, is refused whatever it carries.

// signInCookie keys the sign-in form's token until there is a session.
const signInCookie = "acceso_signin"

// Purposes a token is derived for: a token for one is never valid for the
// other.
const (
	csrfForSession = "acceso admin session form"
	csrfForSignIn  = "acceso admin sign-in form"
)

var errCSRF = echo.NewHTTPError(http.StatusForbidden, "this form is out of date or was not sent from this site; reload the page and send it again")

// csrfToken is the token of forms whose requests carry key, for purpose.
func csrfToken(key, purpose string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(purpose))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// adminCSRF is the admin area's CSRF middleware (see above). It goes after
// requireSession, which says whether the request has a session; the
// sign-in routes have none. Templates read the token with CSRFToken.
func (s *Server) adminCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		if site := r.Header.Get(echo.HeaderSecFetchSite); unsafe && site != "" && site != "same-origin" && site != "none" {
			return errCSRF
		}
		var key, purpose string
		if signedIn(c) != "" {
			ck, err := c.Cookie(sessionCookie)
			if err != nil {
				return errCSRF // requireSession found one: cannot happen
			}
			key, purpose = ck.Value, csrfForSession
		} else {
			purpose = csrfForSignIn
			if ck, err := c.Cookie(signInCookie); err == nil && len(ck.Value) >= 32 {
				key = ck.Value
			} else if unsafe {
				return errCSRF
			} else {
				raw := make([]byte, 32)
				if _, err := rand.Read(raw); err != nil {
					return err
				}
				key = base64.RawURLEncoding.EncodeToString(raw)
				c.SetCookie(&http.Cookie{
					Name: signInCookie, Value: key, Path: "/admin/signin",
					HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(c),
				})
			}
		}
		token := csrfToken(key, purpose)
		if unsafe && !hmac.Equal([]byte(r.PostFormValue(csrfField)), []byte(token)) {
			return errCSRF
		}
		c.Set("csrf", token)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
		return next(c)
	}
}
