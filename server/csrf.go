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
// SameSite=Strict cookie that the form must echo back. Templates read the
// token with CSRFToken.
func csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:" + csrfField,
		CookieName:     "acceso_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSameSite: http.SameSiteStrictMode,
		ContextKey:     "csrf",
	})
}

// CSRFToken returns the token a form on this request must carry.
func CSRFToken(c echo.Context) string {
	token, _ := c.Get("csrf").(string)
	return token
}
