package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/admin"
	"acceso/server/api"
	"acceso/server/bundle"
	"acceso/server/export"
	"acceso/server/site"
	"acceso/server/web"
	"acceso/store"
)

// Config is what a Server is started with.
type Config struct {
	// Addr is the address to listen on, such as 127.0.0.1:8080.
	Addr string
	// TrustedProxies lists the CIDRs whose X-Forwarded-For is believed;
	// with none, the client is the connection's peer.
	TrustedProxies []string
	// EvalTimeout bounds the evaluations of one answer (an API request, a
	// page of the self-diagnosis, a look-up), from when its evaluation slot
	// is taken, on top of the policy's own Deadline; zero leaves only the
	// policy's.
	EvalTimeout time.Duration
	// APIRate is how many API requests per second one client may make on
	// average; zero means DefaultAPIRate.
	APIRate float64
	// APIBurst is how many API requests one client may make at once; zero
	// means DefaultAPIBurst.
	APIBurst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// BaseURL is the site's public address (https://help.example.com):
	// pages then carry absolute canonical and hreflang links, and
	// /sitemap.xml lists them. Empty: links stay relative.
	BaseURL string
	// Static renders pages as the static export has them: an outcome's
	// reference names its state (flow.StateReference) rather than a
	// decision, and feedback is a link to the page on BaseURL instead of a
	// form (or left out without one). Its self-diagnosis is not rate
	// limited: the export renders every state, once, for itself.
	Static bool
	// DiagnoseBurst is how many self-diagnosis steps one client may take
	// at once; zero means the default (site.DefaultDiagnoseBurst).
	DiagnoseBurst int
	// SupportURL and SupportEmail are whom a contact asks for help, shown
	// in the self-diagnosis's handoff; with neither, the handoff says to
	// ask the platform's administrator.
	SupportURL   string
	SupportEmail string
	// DecisionRetention is how long decisions are kept for look-up; zero
	// means DefaultDecisionRetention.
	DecisionRetention time.Duration
	// SessionTTL is how long an admin stays signed in; zero means
	// admin.DefaultSessionTTL.
	SessionTTL time.Duration
	// MetricsAddr is the address of the listener that serves /metrics,
	// and only /metrics; empty means no metrics listener. The public
	// listener never serves them: they name routes, failures and the Go
	// version, which are for the operator only.
	MetricsAddr string
	// BundleToken, when set, enables GET /bundles/{name}.tar.gz (the
	// served rules as an OPA bundle, server/bundle) for requests with this
	// bearer token; empty leaves it answering 404.
	BundleToken string
	// MaxEvaluations bounds the rule evaluations that run at once, over
	// the API and the site; a request beyond is answered 503 overloaded.
	// Zero means 4 per CPU (GOMAXPROCS).
	MaxEvaluations int
	// DecisionQueue bounds the decisions waiting in memory while the
	// database cannot be written; zero means store.DefaultDecisionQueue.
	DecisionQueue int
	// ReferenceKey keys the permutation of references (tests, to draw
	// known ones); nil means the database's secret.
	ReferenceKey []byte
}

// Server holds the dependencies every handler needs: the publisher (and
// its engine), the store and the logger. Handlers are its methods; routes()
// registers them all.
type Server struct {
	cfg       Config
	publisher *publish.Publisher
	engine    *rules.Engine
	store     *store.DB
	log       *slog.Logger
	echo      *echo.Echo
	// now is the clock: Config.Now, else time.Now.
	now func() time.Time
	// metrics are this server's Prometheus metrics (metrics.go).
	metrics *metrics
	// evaluations bounds the evaluations that run at once (shed.go).
	evaluations *evaluations
	// answers is the one path to an answer, for every surface: the API,
	// the site's self-diagnosis, the admin look-up and the decisions API
	// (slot, deadline, cache, failure metrics, keeping, the decision log).
	answers *answer.Service
	// reload are the metrics of the --rules folder's reloads, registered
	// once in New when the publisher serves a folder, whatever number of
	// Runs follow.
	reload *reloadMetrics
	// feedbackKey is the store's secret that signs the site's feedback
	// tokens and shown references, and the admin area's device cookies.
	feedbackKey []byte
	// decisions writes the decisions kept for look-up, in batches.
	decisions *store.DecisionWriter
	// references hands out the references of kept decisions, unique
	// across every server sharing the store (store.References).
	references *store.References
	// draining is set once shutdown begins: answers then close their
	// connection (Connection: close).
	draining atomic.Bool
	// steps counts the states of the self-diagnosis shown (insights).
	steps *store.StepCounter
	// kept finds and continues the kept decisions, for the admin look-up
	// and the decisions API alike.
	kept *web.Kept
	// api is the JSON API's surface (server/api).
	api *api.Server
	// admin is the admin area (server/admin).
	admin *admin.Area
	// site is the help site (server/site).
	site *site.Server
	// flowMaps explores the self-diagnosis of the revision served last,
	// once: the sitemap, the export, the admin's map and the look-up of the
	// export's references all read it.
	flowMaps web.FlowMaps
	// metricsListener, when set before Run (tests), is where the metrics
	// are served instead of a listener bound on Config.MetricsAddr, as
	// Echo's Listener is for the public address.
	metricsListener net.Listener
	// adminTexts are the texts of the admin pages: the message files built
	// into the binary, never the texts being served, so that a published
	// revision can never break the pages that would fix it.
	adminTexts *locales.Texts
}

// New returns a server answering with the rules pub serves and storing in
// db. It fails when cfg does not validate (Config.Validate names the
// setting), when the store's secrets or references cannot be read, and
// when the files built into the binary (assets, message files) cannot be
// read: a defect of the build, not of any input.
func New(cfg Config, pub *publish.Publisher, db *store.DB, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, publisher: pub, engine: pub.Engine(), store: db, log: log, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.adminTexts, err = locales.Parse(locales.Embedded()); err != nil {
		return nil, fmt.Errorf("the message files built into acceso (locales/*.toml) do not parse: %w", err)
	}
	if db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.feedbackKey, err = db.Secret(ctx, "feedback")
		cancel()
		if err != nil {
			return nil, err
		}
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		s.references, err = store.NewReferences(ctx, db, cfg.ReferenceKey)
		cancel()
		if err != nil {
			return nil, err
		}
		s.decisions = store.NewDecisionWriter(db, store.WriterConfig{Batch: decisionBatch, Every: decisionFlush,
			Queue: cfg.DecisionQueue, Log: log})
		s.steps = store.NewStepCounter(db, decisionFlush, func(err error) {
			log.Error("self-diagnosis steps could not be counted", "err", err)
		})
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.Server.ReadHeaderTimeout = 5 * time.Second
	e.Server.ReadTimeout = 10 * time.Second
	e.Server.WriteTimeout = 15 * time.Second
	e.Server.IdleTimeout = 60 * time.Second
	s.echo = e
	s.metrics = newMetrics(s.engine)
	s.useMiddleware()
	s.evaluations = newEvaluations(cfg.MaxEvaluations, shedWait)
	s.metrics.watchEvaluations(s.evaluations)
	s.answers = &answer.Service{Engine: s.engine, Acquire: s.acquireEvaluation, Timeout: cfg.EvalTimeout,
		Decided: s.recordDecision, Failed: s.evaluationFailed}
	if s.decisions != nil {
		s.answers.Keep = s.keepDecision
	}
	if s.decisions != nil {
		s.metrics.watchDecisions(s.decisions)
	}
	if pub.RulesDir() != "" {
		s.reload = newReloadMetrics(s.metrics.registry)
	}
	s.kept = &web.Kept{Store: db, Decisions: s.decisions, Answers: s.answers, FlowMap: s.flowMaps.Map, Now: s.now, Log: log}
	rate, burst := cfg.APIRate, cfg.APIBurst
	if rate <= 0 {
		rate = DefaultAPIRate
	}
	if burst <= 0 {
		burst = DefaultAPIBurst
	}
	s.api = api.New(api.Deps{Engine: s.engine, Answers: s.answers, Store: db, Decisions: s.decisions, Kept: s.kept,
		Draining: s.draining.Load, Log: log, Now: s.now, Rate: rate, Burst: burst})
	s.admin = admin.New(admin.Deps{Publisher: pub, Store: db, Log: log, Now: s.now, Texts: s.adminTexts,
		SessionTTL: cfg.SessionTTL, DeviceKey: s.feedbackKey, FlowMap: s.flowMaps.Map, Kept: s.kept,
		Decisions: s.decisions, Steps: s.steps})
	if s.site, err = site.New(site.Deps{Config: site.Config{BaseURL: cfg.BaseURL, Static: cfg.Static,
		DiagnoseBurst: cfg.DiagnoseBurst, SupportURL: cfg.SupportURL, SupportEmail: cfg.SupportEmail},
		Engine: s.engine, Answers: s.answers, Store: db, Decisions: s.decisions, Steps: s.steps,
		Key: s.feedbackKey, Now: s.now, FlowMap: s.flowMaps.Map}); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// How decisions are written: in batches of up to decisionBatch, at least
// every decisionFlush. A crash loses at most the decisions of the last
// decisionFlush. The batch is as large as one transaction of the writer
// takes (2,048): under load, each commit writes every page it changed to
// SQLite's log, and the rows of a larger batch share more of those pages
// (the references land anywhere in their index). 2,048 instead of 256
// took a cached evaluate's CPU on the real server from about 210 to
// 180 µs (BENCHMARKS.md, issue 24f).
const (
	decisionBatch = 2048
	decisionFlush = time.Second
)

// DefaultDecisionRetention is how long decisions are kept when
// Config.DecisionRetention is zero: 30 days.
const DefaultDecisionRetention = 720 * time.Hour

// Export writes the whole site as static files into out (export.Exporter):
// its pages are rendered by this server's own handlers, so the export and
// the server give the same bytes; the server should be made with
// Config.Static. progress, when not nil, hears of the work as it goes.
func (s *Server) Export(ctx context.Context, out string, progress io.Writer) (export.Stats, error) {
	return export.New(export.Deps{Site: s.site, Handler: s.Handler(), Engine: s.engine, FlowMap: s.flowMaps.Map,
		BaseURL: s.cfg.BaseURL}).Export(ctx, out, progress)
}

// Close writes the decisions still queued, trying for up to
// closeGrace while the database cannot be written, and stops the writer.
// The server must not serve after Close.
func (s *Server) Close() {
	if s.steps != nil {
		s.steps.Close()
	}
	if s.decisions != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		s.decisions.Close(ctx)
	}
}

// closeGrace is how long Close waits for a database that cannot be
// written before it drops (and counts) the decisions still waiting.
const closeGrace = 10 * time.Second

// purgeDecisions deletes, every hour until ctx is done, the decisions
// older than the retention.
func (s *Server) purgeDecisions(ctx context.Context) {
	if s.store == nil {
		return
	}
	keep := s.cfg.DecisionRetention
	if keep <= 0 {
		keep = DefaultDecisionRetention
	}
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := s.store.PurgeDecisions(ctx, s.now().Add(-keep)); err != nil && ctx.Err() == nil {
			s.log.Warn("purging old decisions", "err", err)
		} else if n > 0 {
			s.log.Info("old decisions purged", "count", n, "retention", keep.String())
		}
		if err := s.store.PurgeInsights(ctx, s.now().AddDate(0, 0, -store.MaxInsightsDays)); err != nil && ctx.Err() == nil {
			s.log.Warn("purging old insight counts", "err", err)
		}
		if err := s.store.RollUpInsights(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log.Warn("counting decisions per day for the insights", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Handler returns the server's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// MetricsHandler returns the handler of the metrics listener: GET /metrics
// in the Prometheus text format, 404 for anything else.
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler() }

// Echo returns the router, for tests that list its routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

// routes registers every route of the product.
func (s *Server) routes() {
	s.api.Routes(s.echo)
	s.site.Routes(s.echo)
	s.admin.Routes(s.echo)
	bundle.New(s.engine, s.cfg.BundleToken).Routes(s.echo)
}

// Run serves until ctx is done, then shuts down gracefully: it stops
// accepting connections and lets requests in flight finish, for up to
// grace. The --rules watcher, if any, and the following of other servers'
// publishes (when the publisher follows), have stopped when Run returns,
// also when the server could not start.
func (s *Server) Run(ctx context.Context, grace time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if dir := s.publisher.RulesDir(); dir != "" {
		watched := make(chan struct{})
		defer func() { cancel(); <-watched }()
		go func() {
			defer close(watched)
			if err := s.publisher.Watch(ctx, s.reload.record); err != nil {
				s.log.Error("cannot watch the rules folder; its changes will not be served", "dir", dir, "err", err)
			}
		}()
	}
	if s.publisher.Following() {
		followed := make(chan struct{})
		defer func() { cancel(); <-followed }()
		go func() {
			defer close(followed)
			s.publisher.Follow(ctx)
		}()
	}
	purged := make(chan struct{})
	defer func() { cancel(); <-purged }()
	go func() {
		defer close(purged)
		s.purgeDecisions(ctx)
	}()
	// Bind first, so that "serving" is logged only once the address is
	// ours and an address in use is one clear error. A listener set on
	// Echo beforehand (tests) is used as it is.
	ln := s.echo.Listener
	if ln == nil {
		var err error
		if ln, err = listen(s.cfg.Addr); err != nil {
			return err
		}
	}
	dl := newDrainListener(ln)
	s.echo.Listener = dl
	conns := newConnTracker()
	s.echo.Server.ConnState = conns.track
	var metricsSrv *http.Server
	metricsLn := s.metricsListener
	if s.cfg.MetricsAddr != "" || metricsLn != nil {
		if metricsLn == nil {
			var err error
			if metricsLn, err = listen(s.cfg.MetricsAddr); err != nil {
				ln.Close()
				return fmt.Errorf("metrics: %w", err)
			}
		}
		metricsSrv = &http.Server{
			Handler:           s.MetricsHandler(),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      15 * time.Second,
			IdleTimeout:       60 * time.Second,
		}
	}
	s.log.Info("serving", "addr", ln.Addr().String())
	errc := make(chan error, 2)
	go func() {
		if err := s.echo.Start(""); err != nil && !errors.Is(err, http.ErrServerClosed) && !s.draining.Load() {
			errc <- err
		}
	}()
	if metricsSrv != nil {
		s.log.Info("serving metrics", "addr", metricsLn.Addr().String())
		go func() {
			if err := metricsSrv.Serve(metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if failed == nil {
		s.log.Info("shutting down", "grace", grace.String())
		// Every request already received is answered (drain.go): the
		// listener stops accepting after taking in its backlog, answers
		// close their connection, connections with a request on its way
		// get to send it, then Shutdown closes the idle ones and waits
		// for those in flight.
		_ = dl.Close()
		dl.waitClosed(time.Second)
		s.draining.Store(true)
		conns.waitQuiet(shutdownCtx)
	}
	err := s.echo.Shutdown(shutdownCtx)
	if metricsSrv != nil {
		// The metrics stay up while requests drain, so that the drain
		// itself can be watched; they stop with the main listener.
		err = errors.Join(err, metricsSrv.Shutdown(shutdownCtx))
	}
	if failed != nil {
		return failed
	}
	return err
}

// listen binds addr. Its error reads "listen on 127.0.0.1:8080: address
// already in use", without the layers net.Listen wraps the cause in.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if opErr, ok := errors.AsType[*net.OpError](err); ok {
			err = opErr.Err
		}
		if sysErr, ok := errors.AsType[*os.SyscallError](err); ok {
			err = sysErr.Err
		}
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Listen binds addr as Run would, so that a caller can say where the server
// answers before it runs: set the listener on Echo() and Run uses it.
func Listen(addr string) (net.Listener, error) { return listen(addr) }
