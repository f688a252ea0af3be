package site

import (
	"strings"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/locales"
	"acceso/server/web"
	"acceso/templates"
)

// ErrorPage is the help site's page for an error, in the language of
// the path's prefix, else the visitor's (cookie, then Accept-Language),
// worded with the texts being served.
func (s *Server) ErrorPage(c echo.Context, e *answer.Error) web.ErrorPage {
	r := c.Request()
	lang := ""
	if first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); locales.Supported(first) {
		lang = first
	} else {
		lang = visitorLang(r)
	}
	p := s.engine.Current()
	title, text := web.ErrorTexts("Error", e.Code)
	page := templates.ErrorPage{Title: title, Text: text}
	ctx := locales.WithLocalizer(r.Context(), locales.NewLocalizer(p.Texts, lang))
	if f, ok := p.Catalog.Fact(e.Field); ok && f.Asked() {
		page.Field = locales.T(ctx, locales.Question(f.Name))
	}
	// An error page has no translation; the switch leads home.
	page.Shell = s.pageShell(p, lang, locales.T(ctx, title), "", "")
	page.Shell.Alternates = nil
	page.Shell.Switch = languageSwitch(p, lang, "")
	return web.ErrorPage{Lang: lang, Ctx: ctx, Component: templates.Error(page)}
}
