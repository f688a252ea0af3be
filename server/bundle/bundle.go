package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/knowledge"
	"acceso/rules"
	"acceso/server/web"
)

// The rules being served, as an OPA bundle: GET /bundles/{name}.tar.gz,
// for an OPA (opa run --server) configured with Acceso as its bundle
// service, so that it decides exactly as Acceso does. The bundle holds
// /.manifest (the policy revision, and one root per topic: its package,
// login, notifications) and the policy modules of every topic (not their
// tests): the rules read nothing else. One bundle holds every topic, so
// one OPA decides each topic as Acceso does, at /v1/data/<topic>/decision.
// Any name serves the same bundle; OPA names the resource it polls.
//
// It answers only a bearer token equal to the one it is given (serve's
// --bundle-token), and 404 when none is set. The ETag is the revision, so that OPA's polls with
// If-None-Match cost a 304 until a publish.

// bundleName is what a bundle's file name may be, before .tar.gz.
var bundleName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// bundleArchive is the bundle of one revision, built once.
type bundleArchive struct {
	revision string
	body     []byte
}

// MinToken is the shortest --bundle-token serve accepts: 32
// characters (openssl rand -hex 16 at least) cannot be guessed, even at
// the rate failures are allowed.
const MinToken = 32

// Failed bundle authorisations are limited per client: FailBurst in
// a row, then one more every FailEvery; beyond, 429 before the token
// is even compared. OPA polls with the right token and never hits it.
const (
	FailEvery = time.Minute
	FailBurst = 5
)

// Server serves the bundle of the rules an engine serves.
type Server struct {
	engine *rules.Engine
	token  string
	// bundleCache is the OPA bundle of the revision served last.
	bundleCache atomic.Pointer[bundleArchive]
}

// New returns the bundle's server: the rules engine serves, for requests
// that bear token; with token empty, bundles answer 404.
func New(engine *rules.Engine, token string) *Server {
	return &Server{engine: engine, token: token}
}

// Routes registers GET /bundles/{name}.tar.gz on e.
func (s *Server) Routes(e *echo.Echo) {
	e.GET("/bundles/:file", s.handleBundle(web.NewFailureLimit(FailEvery, FailBurst)))
}

// handleBundle serves the bundle of the revision being served; failures
// limits the failed authorisations of each client.
func (s *Server) handleBundle(failures *web.FailureLimit) echo.HandlerFunc {
	return func(c echo.Context) error {
		token := s.token
		name, ok := strings.CutSuffix(c.Param("file"), ".tar.gz")
		if token == "" || !ok || !bundleName.MatchString(name) {
			return echo.ErrNotFound
		}
		if failures.Spent(c.RealIP()) {
			c.Response().Header().Set("Retry-After", fmt.Sprint(int(failures.Every().Seconds())))
			return echo.NewHTTPError(http.StatusTooManyRequests, "too many wrong bundle tokens from this address; try again in a minute")
		}
		// Hashing first makes the comparison constant-time whatever the
		// lengths.
		got, bearer := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		want := sha256.Sum256([]byte(token))
		have := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(want[:], have[:]) != 1 || !bearer {
			failures.Fail(c.RealIP())
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="acceso bundles"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "a bearer token is required: the one given to acceso serve --bundle-token")
		}
		return s.serveBundle(c)
	}
}

// serveBundle answers an authorised bundle request.
func (s *Server) serveBundle(c echo.Context) error {
	p := s.engine.Current()
	etag := `"` + p.Revision + `"`
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "no-cache")
	h.Set("ETag", etag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	b := s.bundleCache.Load()
	if b == nil || b.revision != p.Revision {
		body, err := Bundle(p)
		if err != nil {
			return err
		}
		b = &bundleArchive{revision: p.Revision, body: body}
		s.bundleCache.Store(b)
	}
	return c.Blob(http.StatusOK, "application/gzip", b.body)
}

// etagMatches reports whether an If-None-Match header names etag (or *).
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}

// Bundle returns p as an OPA bundle: a gzipped tar of /.manifest, the
// policy modules of p (not their tests).
func Bundle(p *rules.Policy) ([]byte, error) {
	// The bundle's roots are the topics' packages.
	manifest, err := json.Marshal(map[string]any{"revision": p.Revision, "roots": p.Catalog.TopicNames()})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name string, body []byte) error {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	if err := add("/.manifest", manifest); err != nil {
		return nil, err
	}
	for _, path := range slices.Sorted(maps.Keys(p.Source.Modules)) {
		if knowledge.IsTest(path) {
			continue
		}
		if err := add("/"+strings.TrimPrefix(path, "rules/"), []byte(p.Source.Modules[path])); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("the bundle: %w", err)
	}
	return buf.Bytes(), nil
}
