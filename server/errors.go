package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/locales"
	"acceso/server/admin"
	"acceso/server/web"
	"acceso/store"
	"acceso/templates"
)

// handleError is the one error path. Every handler and middleware returns
// its error here; it becomes an *answer.Error, gets its status from its
// code, is logged when it is the server's fault, and is answered by the
// renderer of the request's surface: JSON for /api/, an admin page (admin
// texts) for /admin/, a localized page for the site. Internal details are
// logged, never shown.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, answer.ErrGone) {
		// The client hung up before its answer was ready: there is no one
		// to answer, and nothing failed. The request log shows nginx's
		// "client closed request".
		_ = c.NoContent(statusClientClosed)
		return
	}
	if store.Unavailable(err) {
		// The database is down or full: a moment's trouble, answered 503
		// "try again", not a defect.
		if _, ok := errors.AsType[*answer.Error](err); !ok {
			err = answer.Unavailable(err)
		}
	}
	e := asError(err)
	status := statusOf(e)
	// A shed request is the server protecting itself, not failing: it is
	// counted (acceso_evaluations_shed_total) and in the request log, and
	// an error line each would add load just when there is too much.
	if status >= 500 && e.Code != answer.CodeOverloaded {
		s.log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("method", methodOf(c.Request())),
			slog.String("route", routeOf(c)),
			slog.Int("status", status),
			slog.String("code", e.Code),
			slog.String("err", errText(e)))
	}
	r := c.Request()
	switch {
	case isAPI(r) && r.Method == http.MethodHead:
		_ = c.NoContent(status)
	case isAPI(r):
		if e.Temporary {
			c.Response().Header().Set("Retry-After", "1")
		}
		_ = c.JSON(status, answer.Body(e))
	case isAdmin(r):
		if e.Temporary {
			c.Response().Header().Set("Retry-After", "5")
		}
		s.renderError(c, status, s.adminErrorPage(c, e))
	default:
		s.renderError(c, status, s.siteErrorPage(c, e))
	}
}

// statusClientClosed is the status logged for a request whose client left
// before its answer was ready.
const statusClientClosed = 499

// errText is what the log says of an error: an evaluation's failure is
// left out, since an error from a built-in can quote the input it choked
// on, and the input may be an email address.
func errText(e *answer.Error) string {
	if e.Code == answer.CodeEvaluationFailed {
		return e.Message
	}
	return e.Error()
}

// asError is err in the domain's words: the router's and middleware's
// HTTP errors get the code of their status, and the message they carry
// when they carry one.
func asError(err error) *answer.Error {
	he, ok := errors.AsType[*echo.HTTPError](err)
	if !ok {
		return answer.As(err)
	}
	code := codeOf(he.Code)
	if code == answer.CodeInternal {
		return answer.Internal(err)
	}
	msg, _ := he.Message.(string)
	switch {
	case he.Code == http.StatusNotFound:
		msg = "no such page or endpoint; the API is described at /api/openapi.json"
	case he.Code == http.StatusMethodNotAllowed:
		msg = "this endpoint does not answer this method; the Allow header lists those it does"
	case msg == "":
		msg = strings.ToLower(http.StatusText(he.Code))
	}
	return &answer.Error{Code: code, Message: msg}
}

// codeOf names the error code of an HTTP status.
func codeOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return answer.CodeNotFound
	case http.StatusMethodNotAllowed:
		return answer.CodeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return answer.CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return answer.CodeUnsupportedMediaType
	case http.StatusTooManyRequests:
		return answer.CodeTooManyRequests
	case http.StatusForbidden:
		return answer.CodeForbidden
	case http.StatusUnauthorized:
		return answer.CodeUnauthorized
	}
	if status >= 400 && status < 500 {
		return answer.CodeBadRequest
	}
	return answer.CodeInternal
}

// statusOf is the HTTP status that answers an error.
func statusOf(e *answer.Error) int {
	switch e.Code {
	case answer.CodeInvalidJSON, answer.CodeInvalidFacts, answer.CodeBadRequest:
		return http.StatusBadRequest
	case answer.CodeUnauthorized:
		return http.StatusUnauthorized
	case answer.CodeForbidden:
		return http.StatusForbidden
	case answer.CodeNotFound:
		return http.StatusNotFound
	case answer.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case answer.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case answer.CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case answer.CodeTooManyRequests:
		return http.StatusTooManyRequests
	case answer.CodeOverloaded, answer.CodeUnavailable:
		return http.StatusServiceUnavailable
	case answer.CodeEvaluationFailed:
		if e.Temporary {
			return http.StatusServiceUnavailable
		}
	}
	return http.StatusInternalServerError
}

// errorTexts are the message ids of the title and text a page shows for an
// error code; prefix is "Error" for the site and "AdminError" for admin.
func errorTexts(prefix, code string) (title, text string) {
	name := "Server"
	switch code {
	case answer.CodeInvalidJSON, answer.CodeInvalidFacts, answer.CodeBadRequest, answer.CodeTooLarge, answer.CodeUnsupportedMediaType:
		name = "BadRequest"
	case answer.CodeNotFound, answer.CodeMethodNotAllowed:
		name = "NotFound"
	case answer.CodeForbidden, answer.CodeUnauthorized:
		name = "Forbidden"
	case answer.CodeTooManyRequests, answer.CodeOverloaded:
		name = "TooMany"
	case answer.CodeUnavailable:
		// Only the admin area has words of its own for it; the site's
		// "something failed, try again in a few minutes" fits.
		if prefix == "AdminError" {
			name = "Unavailable"
		}
	}
	return prefix + name + "Title", prefix + name + "Text"
}

// siteErrorPage is the help site's page for an error, in the language of
// the path's prefix, else the visitor's (cookie, then Accept-Language),
// worded with the texts being served.
func (s *Server) siteErrorPage(c echo.Context, e *answer.Error) errorPage {
	r := c.Request()
	lang := ""
	if first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); locales.Supported(first) {
		lang = first
	} else {
		lang = visitorLang(r)
	}
	p := s.engine.Current()
	title, text := errorTexts("Error", e.Code)
	page := templates.ErrorPage{Title: title, Text: text}
	ctx := locales.WithLocalizer(r.Context(), locales.NewLocalizer(p.Texts, lang))
	if f, ok := p.Catalog.Fact(e.Field); ok && f.Asked() {
		page.Field = locales.T(ctx, locales.Question(f.Name))
	}
	// An error page has no translation; the switch leads home.
	page.Shell = s.pageShell(p, lang, locales.T(ctx, title), "", "")
	page.Shell.Alternates = nil
	page.Shell.Switch = languageSwitch(p, lang, "")
	return errorPage{lang: lang, ctx: ctx, component: templates.Error(page)}
}

// adminErrorPage is the admin area's page for an error, worded with the
// admin texts built into the binary (never with the texts being served,
// which a bad publish could break).
func (s *Server) adminErrorPage(c echo.Context, e *answer.Error) errorPage {
	r := c.Request()
	lang := locales.Negotiate(r.Header.Get("Accept-Language"))
	ctx := locales.WithLocalizer(r.Context(), locales.NewLocalizer(s.adminTexts, lang))
	title, text := errorTexts("AdminError", e.Code)
	shell := templates.AdminShell{Title: locales.T(ctx, title), Admin: admin.SignedIn(c), CSRF: web.CSRFToken(c)}
	return errorPage{lang: lang, ctx: ctx, component: templates.AdminErrorPage(templates.AdminError{Shell: shell, Text: text})}
}

// errorPage is an error page ready to render: its component, and the
// context (with its localizer) and language to render it in.
type errorPage struct {
	lang      string
	ctx       context.Context
	component templ.Component
}

// renderError writes an error page with status (net/http leaves the body
// out of an answer to HEAD). A page that fails to render leaves the status
// with a plain text.
func (s *Server) renderError(c echo.Context, status int, page errorPage) {
	var buf bytes.Buffer
	if err := page.component.Render(page.ctx, &buf); err != nil {
		s.log.Error("rendering an error page failed", "err", err)
		_ = c.String(status, http.StatusText(status))
		return
	}
	h := c.Response().Header()
	h.Set("Content-Language", page.lang)
	h.Set("Cache-Control", "no-store")
	_ = c.HTMLBlob(status, buf.Bytes())
}
