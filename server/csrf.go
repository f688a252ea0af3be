package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// csrfField is the name of the hidden form field that carries the token.
const csrfField = "_csrf"

// csrf is middleware that refuses a form post not made from this site: the
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
