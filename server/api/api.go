package api

import (
	"context"
	_ "embed" // the OpenAPI document
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/apikey"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/web"
	"acceso/store"
)

// Errors the API answers with; the one error handler turns them into JSON
// with a stable code.
var (
	errTooLarge             = web.TooLarge(answer.MaxBody)
	errUnsupportedMediaType = echo.NewHTTPError(http.StatusUnsupportedMediaType, "the body must be JSON: send Content-Type: application/json")
)

// Server is the JSON API for integrations and the probes beside it. It
// holds what its handlers need, and nothing of the site or the admin area.
type Server struct {
	engine    *rules.Engine
	answers   *answer.Service
	store     *store.DB
	decisions *store.DecisionWriter
	kept      *web.Kept
	draining  func() bool
	log       *slog.Logger
	now       func() time.Time
	rate      float64
	burst     int
	// openAPICache is the OpenAPI document of the revision served last.
	openAPICache atomic.Pointer[openAPIDoc]
}

// Deps are what the API answers with.
type Deps struct {
	// Engine serves the rules being published.
	Engine *rules.Engine
	// Answers is the one path to an answer (evaluate, continue).
	Answers *answer.Service
	// Store holds the API keys and the kept decisions; nil: not open
	// (readyz says so, every key is refused).
	Store *store.DB
	// Decisions writes the kept decisions; nil when nothing is kept.
	Decisions *store.DecisionWriter
	// Kept finds and continues the kept decisions.
	Kept *web.Kept
	// Draining reports whether shutdown has begun (readyz says so).
	Draining func() bool
	Log      *slog.Logger
	// Now is the clock (an API key's last use).
	Now func() time.Time
	// Rate and Burst are the per-client rate limit: requests per second on
	// average, and at once. Both must be positive.
	Rate  float64
	Burst int
}

// New returns the API answering with d.
func New(d Deps) *Server {
	return &Server{engine: d.Engine, answers: d.Answers, store: d.Store, decisions: d.Decisions, kept: d.Kept,
		draining: d.Draining, log: d.Log, now: d.Now, rate: d.Rate, burst: d.Burst}
}

// Routes registers the JSON API for integrations, and the probes beside
// it, on e. The metrics are not here: they are served only on the metrics
// listener (server.Config.MetricsAddr). Everything under /api/ is rate limited per client
// (its API key, else its address), bounded to answer.MaxBody and answers
// JSON, errors included.
func (s *Server) Routes(e *echo.Echo) {
	e.GET("/healthz", s.handleHealthz)
	e.HEAD("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.HEAD("/readyz", s.handleReadyz)

	every := time.Duration(float64(time.Second) / s.rate)
	// The middleware goes on each route rather than on the group: a group's
	// middleware brings a catch-all route that would answer 404 where the
	// router should answer 405. Paths under /api/ that match no route still
	// answer JSON, through handleError.
	// A request with a valid API key is limited per key, others per
	// address (apiAccess); the decisions need a key with their scope.
	mw := []echo.MiddlewareFunc{s.apiAccess(web.NewLimiter(every, s.burst)), web.BodyLimit(answer.MaxBody)}
	decisions := append(slices.Clip(mw), requireScope(apikey.ScopeDecisionsRead))
	api := e.Group("/api")
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
	// Without a query string there is neither ?pretty nor ?lang: echo
	// would parse the empty one into a map of its own.
	pretty, lang := false, ""
	if req.URL.RawQuery != "" {
		_, pretty = c.QueryParams()["pretty"]
		lang = c.QueryParam("lang")
	}
	encoded := !pretty && !c.Echo().Debug
	// The answer's JSON goes into a pooled buffer, given back once it is
	// written (JSONBlob copies it into the response before it returns).
	buf := jsonBuffers.Get().(*[]byte)
	defer jsonBuffers.Put(buf)
	res, err := s.answers.Answer(req.Context(), answer.Ask{Source: "api", Body: body, Keep: true, JSON: encoded,
		JSONBuf: *buf, Langs: []string{lang, req.Header.Get("Accept-Language")}})
	if err != nil {
		return err
	}
	if cap(res.JSON) > cap(*buf) && cap(res.JSON) <= maxPooledJSON {
		*buf = res.JSON[:0] // a longer answer than the buffer held: keep the larger one
	}
	if !encoded {
		return c.JSON(http.StatusOK, res.Response)
	}
	// The length is known: said, it spares a long answer (a third of the
	// shared mix's) the chunked encoding net/http gives a body it has not
	// seen the end of after 2 KB, to the server and to the client.
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(res.JSON)))
	return c.JSONBlob(http.StatusOK, res.JSON)
}

// jsonBuffers hold the buffers evaluate answers are encoded into (*[]byte),
// so that each answer does not allocate its own (about 2.5 KB).
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledJSON bounds the buffers jsonBuffers keeps.
const maxPooledJSON = 64 << 10

// requireJSON accepts application/json, with no parameter but an optional
// UTF-8 charset.
func requireJSON(contentType string) error {
	if contentType == echo.MIMEApplicationJSON {
		return nil // what nearly every client sends, without parsing it
	}
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
	if s.draining() {
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
