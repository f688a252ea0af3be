package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"

	"acceso/server/web"
)

// The admin area's CSRF check is stricter than the site's: its forms
// change what every visitor is told.
//
// A signed-in admin's token is derived from the session token, as
// HMAC-SHA256 keyed by it: only a page served to that session can carry
// it, a cookie an attacker manages to plant is worth nothing, and it
// changes with every sign-in (a new session). Being derived, it needs no
// server secret nor storage, so it holds across restarts and replicas.
// The sign-in form, before any session, derives its token the same way
// from a random cookie of its own (SignInCookie). The token is read from
// the form body only, never from the query string, where it would end up
// in logs and Referer headers. A cross-site or same-site form post, which
// the browser announces in Sec-Fetch-Site, is refused whatever it carries.

// SignInCookie keys the sign-in form's token until there is a session.
const SignInCookie = "acceso_signin"

// Purposes a token is derived for: a token for one is never valid for the
// other.
const (
	csrfForSession = "acceso admin session form"
	csrfForSignIn  = "acceso admin sign-in form"
)

var errCSRF = echo.NewHTTPError(http.StatusForbidden, "this form is out of date or was not sent from this site; reload the page and send it again")

// SignInToken is the token of the sign-in form whose request carries the
// sign-in cookie key.
func SignInToken(key string) string { return csrfToken(key, csrfForSignIn) }

// csrfToken is the token of forms whose requests carry key, for purpose.
func csrfToken(key, purpose string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(purpose))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// adminCSRF is the admin area's CSRF middleware (see above). It goes after
// requireSession, which says whether the request has a session; the
// sign-in routes have none. Templates read the token with CSRFToken.
func (s *Area) adminCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		if site := r.Header.Get(echo.HeaderSecFetchSite); unsafe && site != "" && site != "same-origin" && site != "none" {
			return errCSRF
		}
		var key, purpose string
		if SignedIn(c) != "" {
			ck, err := c.Cookie(SessionCookie)
			if err != nil {
				return errCSRF // requireSession found one: cannot happen
			}
			key, purpose = ck.Value, csrfForSession
		} else {
			purpose = csrfForSignIn
			if ck, err := c.Cookie(SignInCookie); err == nil && len(ck.Value) >= 32 {
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
					Name: SignInCookie, Value: key, Path: "/admin/signin",
					HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: web.Secure(c),
				})
			}
		}
		token := csrfToken(key, purpose)
		if unsafe && !hmac.Equal([]byte(r.PostFormValue(web.CSRFField)), []byte(token)) {
			return errCSRF
		}
		c.Set(web.CSRFContextKey, token)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
		return next(c)
	}
}
