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

	"acceso/locales"
	"acceso/rules"
)

// openAPI is the API's OpenAPI 3 document, served as written; the tests
// hold the real traffic of every endpoint and error to it.
//
//go:embed openapi.json
var openAPI []byte

// Defaults of the API's per-client rate limit, generous enough for an
// integration's bursts.
const (
	DefaultAPIRate  = 50  // requests per second, on average
	DefaultAPIBurst = 100 // requests at once
)

// apiRoutes registers the JSON API for integrations, and the probes and
// metrics beside it. Everything under /api/ is rate limited per client,
// bounded to MaxBody and answers JSON, errors included.
func (s *Server) apiRoutes() {
	s.echo.GET("/healthz", s.handleHealthz)
	s.echo.HEAD("/healthz", s.handleHealthz)
	s.echo.GET("/readyz", s.handleReadyz)
	s.echo.HEAD("/readyz", s.handleReadyz)
	s.echo.GET("/metrics", s.metrics.handler())

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
	mw := []echo.MiddlewareFunc{limit(newLimiter(every, burst)), bodyLimit(MaxBody)}
	api := s.echo.Group("/api")
	api.POST("/v1/evaluate", s.handleEvaluate, mw...)
	api.GET("/v1/causes", s.handleCauses, mw...)
	api.GET("/openapi.json", s.handleOpenAPI, mw...)
}

// handleEvaluate answers POST /api/v1/evaluate: the body goes through
// Diagnose, the path the command line takes too, in the language the body,
// ?lang= or Accept-Language asks for.
func (s *Server) handleEvaluate(c echo.Context) error {
	req := c.Request()
	if err := requireJSON(req.Header.Get(echo.HeaderContentType)); err != nil {
		return err
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errTooLarge
		}
		return &rules.RequestError{Code: rules.CodeInvalidJSON, Message: "the body could not be read in full"}
	}
	ctx := req.Context()
	if s.cfg.EvalTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.EvalTimeout)
		defer cancel()
	}
	start := time.Now()
	resp, err := Diagnose(ctx, s.engine, body, c.QueryParam("lang"), req.Header.Get("Accept-Language"))
	if err == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// An answer that arrives after the deadline is refused like one
		// that never arrives, so the deadline means the same every time.
		err = fmt.Errorf("%w: %w", rules.ErrEvaluation, ctx.Err())
	}
	took := time.Since(start)
	if errors.Is(ctx.Err(), context.Canceled) {
		// The client hung up: there is no one to answer, and the rules did
		// not fail, so it is not counted as a failed evaluation. The
		// request log shows nginx's "client closed request".
		return c.NoContent(statusClientClosed)
	}
	if err != nil {
		if errors.Is(err, rules.ErrEvaluation) {
			s.evaluationFailed(ctx, err, took)
		}
		return err
	}
	s.recordDecision(ctx, "api", resp, took)
	return c.JSON(http.StatusOK, resp)
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

// recordDecision counts a decision and writes its line in the decision
// log: ids, outcome and timing, never a fact, so that no personal data
// reaches the logs. source names the surface that asked (api, site, …).
func (s *Server) recordDecision(ctx context.Context, source string, r Response, took time.Duration) {
	s.metrics.evaluation(r.Outcome, r.Findings, took)
	findings := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		findings[i] = f.ID
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "decision",
		slog.String("decision_id", r.DecisionID),
		slog.String("revision", r.PolicyRevision),
		slog.String("source", source),
		slog.Any("symptoms", r.Symptoms),
		slog.String("outcome", r.Outcome),
		slog.Any("findings", findings),
		slog.String("lang", r.Lang),
		slog.Float64("duration_ms", milliseconds(took)))
}

// evaluationFailed counts and logs an evaluation that failed or ran out of
// time. The error's text is not logged: an error from a built-in can quote
// the input it choked on, and the input may be an email address.
func (s *Server) evaluationFailed(ctx context.Context, err error, took time.Duration) {
	s.metrics.evaluationFailed(took)
	reason := "error"
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "deadline_exceeded"
	} else if errors.Is(err, context.Canceled) {
		reason = "canceled"
	}
	var revision string
	if p := s.engine.Current(); p != nil {
		revision = p.Revision
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "evaluation failed",
		slog.String("revision", revision),
		slog.String("reason", reason),
		slog.Float64("duration_ms", milliseconds(took)))
}

// Catalog is the body of GET /api/v1/causes: what the rules being served
// know, with its texts in one language.
type Catalog struct {
	PolicyRevision string         `json:"policy_revision"`
	Lang           string         `json:"lang"`
	Symptoms       []SymptomEntry `json:"symptoms"`
	Causes         []CauseEntry   `json:"causes"`
	Facts          []FactEntry    `json:"facts"`
}

// SymptomEntry is one of the article's questions.
type SymptomEntry struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// CauseEntry is one cause: its symptom, the facts it rests on, its texts
// and the article section that explains it.
type CauseEntry struct {
	ID         string   `json:"id"`
	Symptom    string   `json:"symptom"`
	Facts      []string `json:"facts"`
	Title      string   `json:"title"`
	Advice     string   `json:"advice"`
	ArticleURL string   `json:"article_url"`
}

// FactEntry is one fact a request may carry and, when a contact can be
// asked about it, the question.
type FactEntry struct {
	Name     string        `json:"name"`
	Question *FactQuestion `json:"question,omitempty"`
}

// FactQuestion is how a contact is asked about a fact, and the kind of
// answer it takes (boolean or multiple_choice).
type FactQuestion struct {
	Text string `json:"text"`
	Type string `json:"type"`
}

// handleCauses answers GET /api/v1/causes from the current policy's
// catalog and texts.
func (s *Server) handleCauses(c echo.Context) error {
	p := s.engine.Current()
	lang := locales.Negotiate(c.QueryParam("lang"), c.Request().Header.Get("Accept-Language"))
	return c.JSON(http.StatusOK, NewCatalog(p, lang))
}

// NewCatalog describes p's catalog in lang. Facts come in the order the
// causes first rest on them, which is the order questions are asked in,
// followed by the facts no cause asks about, by name.
func NewCatalog(p *rules.Policy, lang string) Catalog {
	l := locales.NewLocalizer(p.Texts, lang)
	cat := Catalog{
		PolicyRevision: p.Revision,
		Lang:           lang,
		Symptoms:       make([]SymptomEntry, 0, len(p.Catalog.Symptoms)),
		Causes:         make([]CauseEntry, 0, len(p.Catalog.Causes)),
	}
	for _, id := range p.Catalog.Symptoms {
		cat.Symptoms = append(cat.Symptoms, SymptomEntry{
			ID:          id,
			Title:       l.T(locales.SymptomTitle(id)),
			Description: l.T(locales.SymptomDescription(id)),
		})
	}
	var facts []string
	for _, cause := range p.Catalog.Causes {
		cat.Causes = append(cat.Causes, CauseEntry{
			ID:         cause.ID,
			Symptom:    cause.Symptom,
			Facts:      cause.Facts,
			Title:      l.T(locales.CauseTitle(cause.ID)),
			Advice:     l.T(locales.CauseAdvice(cause.ID)),
			ArticleURL: ArticleURL(lang, cause.ID),
		})
		for _, f := range cause.Facts {
			if !slices.Contains(facts, f) {
				facts = append(facts, f)
			}
		}
	}
	for _, f := range rules.Facts() {
		if !slices.Contains(facts, f) {
			facts = append(facts, f)
		}
	}
	cat.Facts = make([]FactEntry, 0, len(facts))
	for _, f := range facts {
		entry := FactEntry{Name: f}
		if kind, askable := p.Catalog.QuestionTypes[f]; askable {
			entry.Question = &FactQuestion{Text: l.T(locales.Question(f)), Type: kind}
		}
		cat.Facts = append(cat.Facts, entry)
	}
	return cat
}

// handleOpenAPI serves the API's OpenAPI document.
func (s *Server) handleOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI)
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

// handleReadyz answers 200 when rules are compiled and storage answers,
// else 503 with the reason.
func (s *Server) handleReadyz(c echo.Context) error {
	p := s.engine.Current()
	if p == nil {
		return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not_ready", Reason: "no rules loaded"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if s.store == nil {
		return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not_ready", Revision: p.Revision, Reason: "storage not open"})
	}
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready: storage does not answer", "err", err)
		return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not_ready", Revision: p.Revision, Reason: "storage unavailable"})
	}
	return c.JSON(http.StatusOK, Readiness{Status: "ready", Revision: p.Revision})
}

// apiError answers an error on an /api/ route as JSON: a request the rules
// refused as 400 with the fields at fault, an evaluation that failed as
// 503, the router's and middleware's errors with their status, and
// anything else as 500 with no detail; that one is logged.
func (s *Server) apiError(c echo.Context, err error) {
	status, body := apiErrorBody(err)
	if status == http.StatusInternalServerError {
		s.log.LogAttrs(c.Request().Context(), slog.LevelError, "internal error",
			slog.String("method", methodOf(c.Request())),
			slog.String("route", routeOf(c)),
			slog.String("err", err.Error()))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

// Error codes of the API beyond those the rules give a refused request.
const (
	CodeTooLarge             = "too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeTooManyRequests      = "too_many_requests"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeBadRequest           = "bad_request"
	CodeInternal             = "internal"
)

// apiErrorBody returns the status and body that answer err.
func apiErrorBody(err error) (int, ErrorBody) {
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		code := httpErrorCode(he.Code)
		if code == CodeInternal {
			return http.StatusInternalServerError, DiagnoseError(err)
		}
		msg, _ := he.Message.(string)
		switch {
		case he.Code == http.StatusNotFound:
			msg = "no such endpoint; the API is described at /api/openapi.json"
		case he.Code == http.StatusMethodNotAllowed:
			msg = "this endpoint does not answer this method; the Allow header lists those it does"
		case msg == "":
			msg = strings.ToLower(http.StatusText(he.Code))
		}
		return he.Code, ErrorBody{ErrorDetail{Code: code, Message: msg}}
	}
	body := DiagnoseError(err)
	switch body.Error.Code {
	case rules.CodeInvalidJSON, rules.CodeInvalidFacts:
		return http.StatusBadRequest, body
	case rules.CodeEvaluationFailed:
		return http.StatusServiceUnavailable, body
	}
	return http.StatusInternalServerError, body
}

// httpErrorCode names the API error code of an HTTP status.
func httpErrorCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusTooManyRequests:
		return CodeTooManyRequests
	}
	if status >= 400 && status < 500 {
		return CodeBadRequest
	}
	return CodeInternal
}
