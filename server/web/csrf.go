package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"acceso/templates"
)

// CSRFField is the name of the hidden form field that carries the token,
// on the site and in the admin area.
const CSRFField = templates.CSRFField

// CSRF is the help site's middleware that refuses a form post not made
// from this site (the admin area has its own, admin's adminCSRF): the
// browser's Sec-Fetch-Site header when it sends one, else a token set in a
// SameSite=Strict cookie that the form must echo back. The cookie is Secure
// when the request came over TLS (see Secure). Templates read the token
// with CSRFToken.
func CSRF() echo.MiddlewareFunc {
	config := func(secure bool) echo.MiddlewareFunc {
		return middleware.CSRFWithConfig(middleware.CSRFConfig{
			TokenLookup:    "form:" + CSRFField,
			CookieName:     "acceso_csrf",
			CookiePath:     "/",
			CookieHTTPOnly: true,
			CookieSecure:   secure,
			CookieSameSite: http.SameSiteStrictMode,
			ContextKey:     CSRFContextKey,
		})
	}
	// Echo's CSRF middleware sets Secure once for all requests, so there
	// is one of each, chosen per request.
	overTLS, plain := config(true), config(false)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		overTLSNext, plainNext := overTLS(next), plain(next)
		return func(c echo.Context) error {
			if Secure(c) {
				return overTLSNext(c)
			}
			return plainNext(c)
		}
	}
}

// CSRFToken returns the token a form on this request must carry.
func CSRFToken(c echo.Context) string {
	token, _ := c.Get(CSRFContextKey).(string)
	return token
}

// CSRFContextKey is where a CSRF middleware leaves the token of the
// request's forms in its echo.Context.
const CSRFContextKey = "csrf"

// Secure reports whether the client reached the server over TLS, itself
// or through a trusted proxy (server's scheme extractor): it is what makes
// cookies Secure and answers carry HSTS.
func Secure(c echo.Context) bool { return c.Scheme() == "https" }
