package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/server/web"
)

// maxAnyBody bounds the body of any request, whatever its route; the API
// has its own, smaller limit (answer.MaxBody).
const maxAnyBody = 1 << 20

// errPanic is the error of a handler that panicked; handleError answers it
// 500 and says nothing of it.
var errPanic = errors.New("handler panicked")

// The API's per-client rate is bounded so that the interval between two
// requests is a positive time.Duration: outside these bounds the limiter
// would silently let everything through.
const (
	MinAPIRate = 1e-3 // one request every 1000 s
	MaxAPIRate = 1e9  // one request every nanosecond
)

// Validate reports a configuration the server cannot start with, naming the
// setting at fault.
func (cfg Config) Validate() error {
	if _, err := web.IPExtractor(cfg.TrustedProxies); err != nil {
		return fmt.Errorf("trusted proxies: %w", err)
	}
	if u := cfg.BaseURL; u != "" {
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" || parsed.RawQuery != "" || parsed.Fragment != "" || strings.Trim(parsed.Path, "/") != "" {
			return fmt.Errorf("base URL %q: want the site's absolute address, such as https://help.example.com", u)
		}
	}
	if u := cfg.SupportURL; u != "" {
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			return fmt.Errorf("support URL %q: want an absolute http or https address", u)
		}
	}
	if e := cfg.SupportEmail; e != "" {
		if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
			return fmt.Errorf("support email %q: want a plain address such as help@example.com", e)
		}
	}
	if cfg.APIRate < 0 || cfg.APIBurst < 0 {
		return errors.New("API rate limit: rate and burst must not be negative")
	}
	// A rate of zero means the default; any other must be a finite number
	// whose interval between requests a time.Duration can hold.
	if r := cfg.APIRate; r != 0 && !(r >= MinAPIRate && r <= MaxAPIRate) {
		return fmt.Errorf("API rate limit: %v requests per second is out of range [%v, %v]", r, MinAPIRate, MaxAPIRate)
	}
	return nil
}

// useMiddleware sets up what every request goes through, outermost first:
// the request log and metrics, panic recovery, security headers and a
// bound on the body. It also sets how a client's address is read, which
// the rate limits key on, and how its scheme is, which secure reads.
func (s *Server) useMiddleware() {
	// New validated the trusted proxies (Config.Validate).
	extract, _ := web.IPExtractor(s.cfg.TrustedProxies)
	scheme, _ := schemeExtractor(s.cfg.TrustedProxies)
	s.echo.IPExtractor = extract
	s.echo.SchemeExtractor = scheme
	s.echo.Pre(s.closeWhenDraining)
	s.echo.Use(s.observe, s.recoverPanics, securityHeaders, web.BodyLimit(maxAnyBody))
}

// schemeExtractor returns how the scheme a client used is read: https over
// TLS, else what the forwarding headers (X-Forwarded-Proto first) say when
// the connection's peer is one of the trusted proxies configured, else
// http. With none configured, only TLS counts: a peer on this host is not
// believed either (anyone who reaches the port could claim https and get
// HSTS and Secure cookies over plain HTTP), as for the client's address.
// Echo's default would also believe any private address.
func schemeExtractor(trusted []string) (echo.SchemeExtractor, error) {
	if len(trusted) == 0 {
		return echo.ExtractSchemeDirect(), nil
	}
	opts := []echo.TrustOption{echo.TrustLinkLocal(false), echo.TrustPrivateNet(false), echo.TrustLoopback(false)}
	ranges, err := web.TrustRanges(trusted)
	if err != nil {
		return nil, err
	}
	return echo.ExtractSchemeFromHeaders(append(opts, ranges...)...), nil
}

// observe logs one line per request and counts it. The handler's error is
// answered here, through the one error handler, so that the status logged
// is the status sent. The line holds the route pattern, never the path or
// query string, the client's address or any header: nothing in it can be
// personal data. A request that was answered with a decision logs that
// decision in the same line ("decision" instead of "request", see
// recordDecision): one line per request, not two.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		line := &requestLine{}
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestLineKey{}, line)))
		if err := next(c); err != nil {
			c.Error(err)
		}
		took := time.Since(start)
		route, method := routeOf(c), methodOf(r)
		status := c.Response().Status
		s.metrics.request(route, method, status, took)
		if !line.decided {
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int64("bytes", c.Response().Size),
				slog.Float64("duration_ms", milliseconds(took)))
			return nil
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "decision",
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("bytes", c.Response().Size),
			slog.Float64("duration_ms", milliseconds(took)),
			line.decision)
		return nil
	}
}

// requestLine is what a request's log line says beyond the request: the
// decision it was answered with, if any (recordDecision).
type requestLine struct {
	decided  bool
	decision slog.Attr
}

// requestLineKey is the context key of a request's *requestLine.
type requestLineKey struct{}

// recoverPanics turns a panic in a handler into a 500 answer that says
// nothing of it; the panic and its stack are logged, the request body is
// not. The server keeps serving.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler { //nolint:errorlint // compared as net/http does
				panic(r)
			}
			s.log.LogAttrs(c.Request().Context(), slog.LevelError, "panic",
				slog.String("method", methodOf(c.Request())),
				slog.String("route", routeOf(c)),
				slog.String("panic", fmt.Sprint(r)),
				slog.String("stack", string(debug.Stack())))
			err = errPanic
		}()
		return next(c)
	}
}

// securityHeaders sets the headers every answer carries. API answers load
// nothing and are never cached; pages load only from this origin. Neither
// can be framed.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if isAPI(c.Request()) {
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			h.Set("Cache-Control", "no-store")
		} else {
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		}
		if web.Secure(c) {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return next(c)
	}
}

// isAPI reports whether r is for the JSON API, whose answers, errors
// included, are always JSON.
func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api"
}

// isAdmin reports whether a request is for the admin area, whose errors
// are admin pages.
func isAdmin(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/admin/") || r.URL.Path == "/admin"
}

// routeOf is the route pattern a request matched, for logs and metric
// labels; requests that matched no route share one value.
func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "unmatched"
}

// methodOf is the request's method if it is a standard one, else "other",
// so that clients cannot grow the metrics with made-up methods.
func methodOf(r *http.Request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return r.Method
	}
	return "other"
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
