package server

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/server/web"
	"acceso/store"
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
		s.renderError(c, status, s.admin.ErrorPage(c, e))
	default:
		if status == http.StatusNotFound {
			if to, ok := s.site.Moved(r); ok {
				_ = c.Redirect(http.StatusMovedPermanently, to)
				return
			}
		}
		s.renderError(c, status, s.site.ErrorPage(c, e))
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

// renderError writes an error page with status (net/http leaves the body
// out of an answer to HEAD). A page that fails to render leaves the status
// with a plain text.
func (s *Server) renderError(c echo.Context, status int, page web.ErrorPage) {
	var buf bytes.Buffer
	if err := page.Component.Render(page.Ctx, &buf); err != nil {
		s.log.Error("rendering an error page failed", "err", err)
		_ = c.String(status, http.StatusText(status))
		return
	}
	h := c.Response().Header()
	h.Set("Content-Language", page.Lang)
	h.Set("Cache-Control", "no-store")
	_ = c.HTMLBlob(status, buf.Bytes())
}
