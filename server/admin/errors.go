package admin

import (
	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/locales"
	"acceso/server/web"
	"acceso/templates"
)

// ErrorPage is the admin area's page for an error, worded with the
// admin texts built into the binary (never with the texts being served,
// which a bad publish could break).
func (s *Area) ErrorPage(c echo.Context, e *answer.Error) web.ErrorPage {
	r := c.Request()
	lang := locales.Negotiate(r.Header.Get("Accept-Language"))
	ctx := locales.WithLocalizer(r.Context(), locales.NewLocalizer(s.adminTexts, lang))
	title, text := web.ErrorTexts("AdminError", e.Code)
	shell := templates.AdminShell{Title: locales.T(ctx, title), Admin: SignedIn(c), CSRF: web.CSRFToken(c)}
	return web.ErrorPage{Lang: lang, Ctx: ctx, Component: templates.AdminErrorPage(templates.AdminError{Shell: shell, Text: text})}
}
