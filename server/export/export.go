package export

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"acceso/flow"
	"acceso/locales"
	"acceso/rules"
	"acceso/templates"
)

// Site is the site an export writes: its pages (Pages, then the pages
// that ask an answered question again) and the static files they load.
type Site interface {
	Pages(ctx context.Context) ([]string, error)
	ChangePages(ctx context.Context) ([]string, error)
	Assets() map[string][]byte
	AssetURL(name string) string
}

// Deps are what an export is written from.
type Deps struct {
	Site Site
	// Handler renders a page as the server answers it; made with
	// server.Config.Static, so that the self-diagnosis is not rate
	// limited and its references name states.
	Handler http.Handler
	// Engine serves the rules exported.
	Engine *rules.Engine
	// FlowMap explores the self-diagnosis of the rules p (the count of
	// states; the site's Pages explored it already).
	FlowMap func(ctx context.Context, p *rules.Policy) (*flow.Map, error)
	// BaseURL is the site's public address; empty leaves the sitemap out
	// and the links relative.
	BaseURL string
}

// Exporter writes the static export of a site.
type Exporter struct {
	site    Site
	handler http.Handler
	engine  *rules.Engine
	flowMap func(ctx context.Context, p *rules.Policy) (*flow.Map, error)
	baseURL string
}

// New returns the exporter of d.
func New(d Deps) *Exporter {
	return &Exporter{site: d.Site, handler: d.Handler, engine: d.Engine, flowMap: d.FlowMap, baseURL: d.BaseURL}
}

// Stats says what an export wrote.
type Stats struct {
	Files  int
	Bytes  int64
	States int
	Took   time.Duration
}

// Export writes the whole site as static files into out, which must not
// exist yet or be empty: every page of Pages as folder/index.html, the
// root's language chooser, 404.html, sitemap.xml (with a base URL),
// robots.txt and the hashed assets. Pages are rendered by the server's own
// handlers (Deps.Handler), so the export and the server give the same
// bytes. The same rules give the same bytes.
// progress, when not nil, hears of the work as it goes.
func (s *Exporter) Export(ctx context.Context, out string, progress io.Writer) (Stats, error) {
	start := time.Now()
	if err := s.checkExportTarget(out); err != nil {
		return Stats{}, err
	}
	pages, err := s.site.Pages(ctx)
	if err != nil {
		return Stats{}, err
	}
	m, err := s.flowMap(ctx, s.engine.Current()) // explored once, by Pages
	if err != nil {
		return Stats{}, err
	}
	states := m.States()
	changes, err := s.site.ChangePages(ctx)
	if err != nil {
		return Stats{}, err
	}
	pages = append(pages, changes...)
	// Write into a folder beside out, then move it in place: an export
	// that fails half-way leaves nothing behind.
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), ".acceso-export-")
	if err != nil {
		return Stats{}, err
	}
	defer os.RemoveAll(tmp)
	st := Stats{States: states}
	write := func(name string, body []byte) error {
		file := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		st.Files++
		st.Bytes += int64(len(body))
		return os.WriteFile(file, body, 0o644)
	}
	get := func(path string, want int) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		if err != nil {
			return nil, err
		}
		var page pageWriter
		s.handler.ServeHTTP(&page, req)
		if page.status != want {
			return nil, fmt.Errorf("rendering %s: status %d, want %d", path, page.status, want)
		}
		return page.body.Bytes(), nil
	}
	for i, p := range pages {
		body, err := get(p, http.StatusOK)
		if err != nil {
			return Stats{}, err
		}
		name := strings.TrimPrefix(p, "/")
		if !strings.HasSuffix(name, "/") {
			name += "/"
		}
		if err := write(name+"index.html", body); err != nil {
			return Stats{}, err
		}
		if progress != nil && (i+1)%100 == 0 {
			fmt.Fprintf(progress, "export: %d of %d pages\n", i+1, len(pages))
		}
	}
	notFound, err := get("/"+locales.Source+"/"+notFoundProbe, http.StatusNotFound)
	if err != nil {
		return Stats{}, err
	}
	if err := write("404.html", notFound); err != nil {
		return Stats{}, err
	}
	root, err := s.rootPage()
	if err != nil {
		return Stats{}, err
	}
	if err := write("index.html", root); err != nil {
		return Stats{}, err
	}
	extra := []string{"/robots.txt"}
	if s.baseURL != "" {
		extra = append(extra, "/sitemap.xml")
	}
	for _, p := range extra {
		body, err := get(p, http.StatusOK)
		if err != nil {
			return Stats{}, err
		}
		if err := write(strings.TrimPrefix(p, "/"), body); err != nil {
			return Stats{}, err
		}
	}
	assets := s.site.Assets()
	for _, name := range slices.Sorted(maps.Keys(assets)) {
		if err := write("static/"+name, assets[name]); err != nil {
			return Stats{}, err
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		// out exists, empty: move the files in instead.
		if err := os.Remove(out); err != nil {
			return Stats{}, fmt.Errorf("%s: %w", out, err)
		}
		if err := os.Rename(tmp, out); err != nil {
			return Stats{}, err
		}
	}
	st.Took = time.Since(start)
	return st, nil
}

// checkExportTarget refuses a folder that holds anything: an export never
// overwrites.
func (s *Exporter) checkExportTarget(out string) error {
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: export into a new or empty folder, so that nothing is overwritten", out)
	}
	return nil
}

// notFoundProbe is a page no site has, rendered as the export's 404.html.
const notFoundProbe = "404"

// rootPage is the language chooser at the export's root.
func (s *Exporter) rootPage() ([]byte, error) {
	p := s.engine.Current()
	page := templates.RootPage{StyleURL: s.site.AssetURL("site.css"), IconURL: s.site.AssetURL("icon.svg")}
	if base := strings.TrimSuffix(s.baseURL, "/"); base != "" {
		page.Canonical = base + "/"
	}
	for _, lang := range locales.Languages {
		l := locales.NewLocalizer(p.Texts, lang)
		page.Languages = append(page.Languages, templates.RootLanguage{
			Lang: lang, Name: l.T("LanguageName"), SiteName: l.T("SiteName"), Description: l.T("SiteDescription"), URL: "/" + lang + "/",
		})
	}
	var b bytes.Buffer
	if err := templates.Root(page).Render(context.Background(), &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pageWriter is what the export renders a page into: its status and
// body (the headers are the live site's business).
type pageWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *pageWriter) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

func (w *pageWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *pageWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
