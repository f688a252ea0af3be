package server

import (
	"context"
	_ "embed" // the OpenAPI document
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/open-policy-agent/opa/v1/topdown"

	"acceso/answer"
	"acceso/apikey"
	"acceso/locales"
	"acceso/rules"
)

// Defaults of the API's per-client rate limit, generous enough for an
// integration's bursts.
const (
	DefaultAPIRate  = 50  // requests per second, on average
	DefaultAPIBurst = 100 // requests at once
)

// apiRoutes registers the JSON API for integrations, and the probes beside
// it. The metrics are not here: they are served only on the metrics
// listener (Config.MetricsAddr), see MetricsHandler. Everything under /api/ is rate limited per client
// (its API key, else its address), bounded to answer.MaxBody and answers
// JSON, errors included.
func (s *Server) apiRoutes() {
	s.echo.GET("/healthz", s.handleHealthz)
	s.echo.HEAD("/healthz", s.handleHealthz)
	s.echo.GET("/readyz", s.handleReadyz)
	s.echo.HEAD("/readyz", s.handleReadyz)

	rate, burst := s.cfg.APIRate, s.cfg.APIBurst
	if rate <= 0 {
		rate = DefaultAPIRate
	}
	if burst <= 0 {
		burst = DefaultAPIBurst
	}
	every := time.Duration(float64(time.Second) / rate)
	// The middleware goes on each route rather than on the group: a group's
	// middleware brings a catch-all route that would answer 404 where the
	// router should answer 405. Paths under /api/ that match no route still
	// answer JSON, through handleError.
	// A request with a valid API key is limited per key, others per
	// address (apiAccess); the decisions need a key with their scope.
	mw := []echo.MiddlewareFunc{s.apiAccess(newLimiter(every, burst)), bodyLimit(answer.MaxBody)}
	decisions := append(slices.Clip(mw), requireScope(apikey.ScopeDecisionsRead))
	api := s.echo.Group("/api")
	api.POST("/v1/evaluate", s.handleEvaluate, mw...)
	api.GET("/v1/causes", s.handleCauses, mw...)
	api.GET("/v1/decisions/:reference", s.handleDecision, decisions...)
	api.POST("/v1/decisions/:reference/continue", s.handleDecisionContinue, decisions...)
	api.GET("/openapi.json", s.handleOpenAPI, mw...)
}

// readJSON reads an API request's body: JSON by its Content-Type, within
// the body limit, read in full; else the API's error for it.
func readJSON(r *http.Request) ([]byte, error) {
	if err := requireJSON(r.Header.Get(echo.HeaderContentType)); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, errTooLarge
		}
		return nil, answer.Errorf(answer.CodeInvalidJSON, "the body could not be read in full")
	}
	return body, nil
}

// handleEvaluate answers POST /api/v1/evaluate through the answer
// service (s.answers, as every surface does), in the language the body,
// ?lang= or Accept-Language asks for, and keeps the decision.
func (s *Server) handleEvaluate(c echo.Context) error {
	req := c.Request()
	body, err := readJSON(req)
	if err != nil {
		return err
	}
	// ?pretty asks echo to indent its JSON: the answer service's bytes
	// are not indented, so that request is encoded here.
	_, pretty := c.QueryParams()["pretty"]
	encoded := !pretty && !s.echo.Debug
	res, err := s.answers.Answer(req.Context(), answer.Ask{Source: "api", Body: body, Keep: true, JSON: encoded,
		Langs: []string{c.QueryParam("lang"), req.Header.Get("Accept-Language")}})
	if err != nil {
		return err
	}
	if !encoded {
		return c.JSON(http.StatusOK, res.Response)
	}
	return c.JSONBlob(http.StatusOK, res.JSON)
}

// statusClientClosed is the status logged for a request whose client left
// before its answer was ready.
const statusClientClosed = 499

// requireJSON accepts application/json, with no parameter but an optional
// UTF-8 charset.
func requireJSON(contentType string) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != echo.MIMEApplicationJSON {
		return errUnsupportedMediaType
	}
	for name, value := range params {
		if name != "charset" || !strings.EqualFold(value, "utf-8") {
			return errUnsupportedMediaType
		}
	}
	return nil
}

// recordDecision counts a decision and logs it: ids, outcome and timing,
// never a fact, so that no personal data reaches the logs. source names
// the surface that asked (api, site, …). It is the answer service's
// Decided. In a request, the decision goes into the request's own log
// line (observe); a second decision of the same request, or one made
// outside a request, gets a line of its own.
func (s *Server) recordDecision(ctx context.Context, source string, r answer.Response, took time.Duration) {
	s.metrics.evaluation(r.Outcome, r.Findings, took)
	findings := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		findings[i] = f.ID
	}
	// An inline group: its attributes read as the line's own.
	decision := slog.GroupAttrs("",
		slog.String("decision_id", r.DecisionID),
		slog.String("reference", r.Reference),
		slog.String("revision", r.PolicyRevision),
		slog.String("source", source),
		slog.Any("symptoms", r.Symptoms),
		slog.String("outcome", r.Outcome),
		slog.Any("findings", findings),
		slog.String("lang", r.Lang),
		slog.Float64("evaluation_ms", milliseconds(took)))
	if line, ok := ctx.Value(requestLineKey{}).(*requestLine); ok && !line.decided {
		line.decided, line.decision = true, decision
		return
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "decision", decision)
}

// evaluationFailed counts and logs an evaluation that failed or ran out of
// time, with the failing rule's file:row and OPA's error code when a rule
// failed (the answer service's Failed). The error's text is not logged: an error from a built-in can
// quote the input it choked on, and the input may be an email address.
func (s *Server) evaluationFailed(ctx context.Context, source string, p *rules.Policy, err error, took time.Duration) {
	s.metrics.evaluationFailed(took)
	reason := "error"
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "deadline_exceeded"
	} else if errors.Is(err, context.Canceled) {
		reason = "canceled"
	}
	attrs := []slog.Attr{
		slog.String("revision", p.Revision),
		slog.String("source", source),
		slog.String("reason", reason),
		slog.Float64("duration_ms", milliseconds(took)),
	}
	// A rule that failed (a conflict, a built-in's error) is named by its
	// place and OPA's error code, so that an admin can fix it; never by
	// the message, which can quote the input.
	if te, ok := errors.AsType[*topdown.Error](err); ok {
		attrs = append(attrs, slog.String("code", te.Code))
		if loc := te.Location; loc != nil {
			attrs = append(attrs, slog.String("rule", fmt.Sprintf("%s:%d", loc.File, loc.Row)))
		}
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "evaluation failed", attrs...)
}

// handleCauses answers GET /api/v1/causes from the current policy's
// catalog and texts.
func (s *Server) handleCauses(c echo.Context) error {
	p := s.engine.Current()
	lang := locales.Negotiate(c.QueryParam("lang"), c.Request().Header.Get("Accept-Language"))
	return c.JSON(http.StatusOK, answer.NewCatalog(p, lang))
}

// handleOpenAPI serves the API's OpenAPI document.
func (s *Server) handleOpenAPI(c echo.Context) error {
	doc, err := s.openAPI()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc)
}

// Readiness is the body of GET /readyz.
type Readiness struct {
	Status   string `json:"status"`
	Revision string `json:"revision,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// handleHealthz answers 200 whenever the server is serving.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when rules are compiled, storage answers and
// decisions are being stored, else 503 with the reason: while the last
// write of decisions failed or they are backing up, the load balancer
// should send contacts elsewhere.
func (s *Server) handleReadyz(c echo.Context) error {
	p := s.engine.Current()
	if p == nil {
		return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not_ready", Reason: "no rules loaded"})
	}
	if s.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not_ready", Revision: p.Revision, Reason: "shutting down"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if s.store == nil {
		return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not_ready", Revision: p.Revision, Reason: "storage not open"})
	}
	if s.decisions != nil {
		if ok, reason := s.decisions.Healthy(); !ok {
			return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not_ready", Revision: p.Revision, Reason: reason})
		}
	}
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready: storage does not answer", "err", err)
		return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not_ready", Revision: p.Revision, Reason: "storage unavailable"})
	}
	return c.JSON(http.StatusOK, Readiness{Status: "ready", Revision: p.Revision})
}
