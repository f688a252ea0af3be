package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/rules"
	"acceso/server/store"
)

// Config is what a Server is started with.
type Config struct {
	// Addr is the address to listen on, such as 127.0.0.1:8080.
	Addr string
	// TrustedProxies lists the CIDRs whose X-Forwarded-For is believed;
	// with none, the client is the connection's peer.
	TrustedProxies []string
	// Deadline bounds one rule evaluation; zero means rules.DefaultDeadline.
	Deadline time.Duration
	// RulesDir, when set, is a folder of .rego files served and watched
	// instead of the embedded rules.
	RulesDir string
	// EvalTimeout bounds the evaluation of one API request, on top of the
	// policy's own Deadline; zero leaves only the policy's.
	EvalTimeout time.Duration
	// APIRate is how many API requests per second one client may make on
	// average; zero means DefaultAPIRate.
	APIRate float64
	// APIBurst is how many API requests one client may make at once; zero
	// means DefaultAPIBurst.
	APIBurst int
	// SessionTTL is how long an admin stays signed in; zero means
	// DefaultSessionTTL.
	SessionTTL time.Duration
}

// LoadEngine builds the engine a server starts with: the rules of
// cfg.RulesDir when set, else the revision published last, else the
// embedded rules.
func LoadEngine(ctx context.Context, cfg Config, db *store.DB, log *slog.Logger) (*rules.Engine, error) {
	src := rules.Embedded()
	if cfg.RulesDir != "" {
		var err error
		if src, err = rules.FromDir(cfg.RulesDir); err != nil {
			return nil, err
		}
	} else if p := latestPublished(ctx, cfg, db, log); p != nil {
		log.Info("rules loaded from the latest published revision", "revision", p.Revision, "causes", len(p.Catalog.Causes),
			"built_in", rules.Embedded().Revision())
		return rules.NewEngine(p), nil
	}
	p, err := rules.Build(ctx, src, rules.Options{Deadline: cfg.Deadline})
	if err != nil {
		return nil, err
	}
	log.Info("rules loaded", "revision", p.Revision, "causes", len(p.Catalog.Causes))
	return rules.NewEngine(p), nil
}

// Server holds the dependencies every handler needs: the engine, the store
// and the logger. Handlers are its methods; routes() registers them all.
type Server struct {
	cfg    Config
	engine *rules.Engine
	store  *store.DB
	log    *slog.Logger
	echo   *echo.Echo
	// metrics are this server's Prometheus metrics (metrics.go).
	metrics *metrics
	// rulesMu makes publishes and reloads of the rules one at a time
	// (admin_publish.go, admin_watch.go).
	rulesMu sync.Mutex
	// reload are the metrics of the --rules folder's reloads, registered
	// once in New when cfg.RulesDir is set, whatever number of Runs follow.
	reload *reloadMetrics
}

// New returns a server answering from engine and storing in db.
func New(cfg Config, engine *rules.Engine, db *store.DB, log *slog.Logger) *Server {
	s := &Server{cfg: cfg, engine: engine, store: db, log: log}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.Server.ReadHeaderTimeout = 5 * time.Second
	e.Server.ReadTimeout = 10 * time.Second
	e.Server.WriteTimeout = 15 * time.Second
	e.Server.IdleTimeout = 60 * time.Second
	s.echo = e
	s.useMiddleware()
	if cfg.RulesDir != "" {
		s.reload = newReloadMetrics(s.metrics.registry)
	}
	s.routes()
	return s
}

// Handler returns the server's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo returns the router, for tests that list its routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

// routes registers every route of the product.
func (s *Server) routes() {
	s.apiRoutes()
	s.siteRoutes()
	s.adminRoutes()
}

// Run serves until ctx is done, then shuts down gracefully: it stops
// accepting connections and lets requests in flight finish, for up to
// grace. The --rules watcher, if any, has stopped when Run returns, also
// when the server could not start.
func (s *Server) Run(ctx context.Context, grace time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.cfg.RulesDir != "" {
		watched := make(chan struct{})
		defer func() { cancel(); <-watched }()
		go func() {
			defer close(watched)
			if err := s.watchRules(ctx); err != nil {
				s.log.Error("cannot watch the rules folder; its changes will not be served", "dir", s.cfg.RulesDir, "err", err)
			}
		}()
	}
	// Bind first, so that "serving" is logged only once the address is
	// ours and an address in use is one clear error. A listener set on
	// Echo beforehand (tests) is used as it is.
	ln := s.echo.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			// "listen on 127.0.0.1:8080: address already in use", without
			// the layers net.Listen wraps the cause in.
			if opErr, ok := errors.AsType[*net.OpError](err); ok {
				err = opErr.Err
			}
			if sysErr, ok := errors.AsType[*os.SyscallError](err); ok {
				err = sysErr.Err
			}
			return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
		}
		s.echo.Listener = ln
	}
	s.log.Info("serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() {
		if err := s.echo.Start(""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	s.log.Info("shutting down", "grace", grace.String())
	return s.echo.Shutdown(shutdownCtx)
}

// handleError is the one error path: API routes answer JSON, the site and
// admin answer a page. Internal details are logged, never shown.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if isAPI(c.Request()) {
		s.apiError(c, err)
		return
	}
	s.pageError(c, err)
}
