package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/flow"
	"acceso/locales"
	"acceso/rules"
	"acceso/templates"
)

// exploredFlow is the self-diagnosis of one revision, explored once.
type exploredFlow struct {
	revision string
	m        *flow.Map
}

// flowMap is the self-diagnosis the rules p give (flow.Explore: one
// evaluation per state), explored again only when the revision changes:
// the sitemap, which anyone may ask for, the export, the admin's map and
// the look-up of the export's references all read it. Callers that ask at
// once after a publish share one exploration; it is not cut short when the
// caller that started it leaves, since the others wait for it.
func (s *Server) flowMap(ctx context.Context, p *rules.Policy) (*flow.Map, error) {
	if f := s.flowCache.Load(); f != nil && f.revision == p.Revision {
		return f.m, nil
	}
	m, err, _ := s.exploring.Do(p.Revision, func() (any, error) {
		if f := s.flowCache.Load(); f != nil && f.revision == p.Revision {
			return f.m, nil
		}
		m, err := flow.Explore(context.WithoutCancel(ctx), p, 0)
		if err != nil {
			return nil, err
		}
		s.flowCache.Store(&exploredFlow{revision: p.Revision, m: m})
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return m.(*flow.Map), nil
}

// Pages are the paths of every page of the site, in every language: the
// home page; each topic's article, contacts' page and self-diagnosis's
// first step; and every state a contact can reach (flow.Explore), in that
// order. The sitemap lists them
// and the export writes them.
func (s *Server) Pages(ctx context.Context) ([]string, error) {
	m, err := s.flowMap(ctx, s.engine.Current())
	if err != nil {
		return nil, err
	}
	p := s.engine.Current()
	var pages []string
	for _, lang := range locales.Languages {
		pages = append(pages, "/"+lang+"/")
		for _, t := range p.Topics {
			base := topicBase(p, lang, t.Name)
			pages = append(pages, base+"article", base+"help", base+"diagnose/")
		}
		for _, t := range m.Trees {
			for _, n := range t.Nodes {
				pages = append(pages, n.Diagnosis.Path(lang))
			}
		}
	}
	return pages, nil
}

// changePages are the pages that ask an answered question again (a state's
// path and change-<fact>/), for every answer of every state, in every
// language: the export writes them so that "Change" works on a static
// host; the sitemap leaves them out.
func (s *Server) changePages(ctx context.Context) ([]string, error) {
	m, err := s.flowMap(ctx, s.engine.Current())
	if err != nil {
		return nil, err
	}
	var pages []string
	for _, lang := range locales.Languages {
		for _, t := range m.Trees {
			for _, n := range t.Nodes {
				for _, a := range n.Diagnosis.Answers {
					pages = append(pages, n.Diagnosis.Path(lang)+changeSegment(a.Fact)+"/")
				}
			}
		}
	}
	return pages, nil
}

// handleRobots answers /robots.txt: everything may be crawled but the
// admin area and the API, and the sitemap is named when the site's public
// address is known.
func (s *Server) handleRobots(c echo.Context) error {
	var b strings.Builder
	b.WriteString("User-agent: *\nDisallow: /admin/\nDisallow: /api/\n")
	if base := strings.TrimSuffix(s.cfg.BaseURL, "/"); base != "" {
		b.WriteString("\nSitemap: " + base + "/sitemap.xml\n")
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(b.String()))
}

// sitemapURL is one page of the sitemap, with its translations.
type sitemapURL struct {
	Loc        string        `xml:"loc"`
	Alternates []sitemapLink `xml:"xhtml:link"`
}

type sitemapLink struct {
	Rel      string `xml:"rel,attr"`
	Hreflang string `xml:"hreflang,attr"`
	Href     string `xml:"href,attr"`
}

// handleSitemap answers /sitemap.xml: every page in every language, each
// with its translations. Without the site's public address, there is none
// (a sitemap's addresses must be absolute).
func (s *Server) handleSitemap(c echo.Context) error {
	base := strings.TrimSuffix(s.cfg.BaseURL, "/")
	if base == "" {
		return echo.ErrNotFound
	}
	pages, err := s.Pages(c.Request().Context())
	if err != nil {
		return err
	}
	type urlset struct {
		XMLName xml.Name     `xml:"urlset"`
		NS      string       `xml:"xmlns,attr"`
		XHTML   string       `xml:"xmlns:xhtml,attr"`
		URLs    []sitemapURL `xml:"url"`
	}
	set := urlset{NS: "http://www.sitemaps.org/schemas/sitemap/0.9", XHTML: "http://www.w3.org/1999/xhtml"}
	for _, p := range pages {
		u := sitemapURL{Loc: base + p}
		rest := strings.TrimPrefix(p[1:], p[1:3])
		for _, l := range locales.Languages {
			u.Alternates = append(u.Alternates, sitemapLink{Rel: "alternate", Hreflang: l, Href: base + "/" + l + rest})
		}
		set.URLs = append(set.URLs, u)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", " ")
	if err := enc.Encode(set); err != nil {
		return err
	}
	b.WriteString("\n")
	return c.Blob(http.StatusOK, "application/xml; charset=utf-8", b.Bytes())
}

// ExportStats says what an export wrote.
type ExportStats struct {
	Files  int
	Bytes  int64
	States int
	Took   time.Duration
}

// Export writes the whole site as static files into out, which must not
// exist yet or be empty: every page of Pages as folder/index.html, the
// root's language chooser, 404.html, sitemap.xml (with a base URL),
// robots.txt and the hashed assets. Pages are rendered by this server's own
// handlers, so the export and the server give the same bytes; the server
// should be made with Config.Static. The same rules give the same bytes.
// progress, when not nil, hears of the work as it goes.
func (s *Server) Export(ctx context.Context, out string, progress io.Writer) (ExportStats, error) {
	start := time.Now()
	if err := s.checkExportTarget(out); err != nil {
		return ExportStats{}, err
	}
	pages, err := s.Pages(ctx)
	if err != nil {
		return ExportStats{}, err
	}
	m, err := s.flowMap(ctx, s.engine.Current()) // explored once, by Pages
	if err != nil {
		return ExportStats{}, err
	}
	states := m.States()
	changes, err := s.changePages(ctx)
	if err != nil {
		return ExportStats{}, err
	}
	pages = append(pages, changes...)
	// Write into a folder beside out, then move it in place: an export
	// that fails half-way leaves nothing behind.
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), ".acceso-export-")
	if err != nil {
		return ExportStats{}, err
	}
	defer os.RemoveAll(tmp)
	st := ExportStats{States: states}
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
		s.Handler().ServeHTTP(&page, req)
		if page.status != want {
			return nil, fmt.Errorf("rendering %s: status %d, want %d", path, page.status, want)
		}
		return page.body.Bytes(), nil
	}
	for i, p := range pages {
		body, err := get(p, http.StatusOK)
		if err != nil {
			return ExportStats{}, err
		}
		name := strings.TrimPrefix(p, "/")
		if !strings.HasSuffix(name, "/") {
			name += "/"
		}
		if err := write(name+"index.html", body); err != nil {
			return ExportStats{}, err
		}
		if progress != nil && (i+1)%100 == 0 {
			fmt.Fprintf(progress, "export: %d of %d pages\n", i+1, len(pages))
		}
	}
	notFound, err := get("/"+locales.Source+"/"+notFoundProbe, http.StatusNotFound)
	if err != nil {
		return ExportStats{}, err
	}
	if err := write("404.html", notFound); err != nil {
		return ExportStats{}, err
	}
	root, err := s.rootPage()
	if err != nil {
		return ExportStats{}, err
	}
	if err := write("index.html", root); err != nil {
		return ExportStats{}, err
	}
	extra := []string{"/robots.txt"}
	if s.cfg.BaseURL != "" {
		extra = append(extra, "/sitemap.xml")
	}
	for _, p := range extra {
		body, err := get(p, http.StatusOK)
		if err != nil {
			return ExportStats{}, err
		}
		if err := write(strings.TrimPrefix(p, "/"), body); err != nil {
			return ExportStats{}, err
		}
	}
	assets := s.Assets()
	for _, name := range slices.Sorted(maps.Keys(assets)) {
		if err := write("static/"+name, assets[name]); err != nil {
			return ExportStats{}, err
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		// out exists, empty: move the files in instead.
		if err := os.Remove(out); err != nil {
			return ExportStats{}, fmt.Errorf("%s: %w", out, err)
		}
		if err := os.Rename(tmp, out); err != nil {
			return ExportStats{}, err
		}
	}
	st.Took = time.Since(start)
	return st, nil
}

// checkExportTarget refuses a folder that holds anything: an export never
// overwrites.
func (s *Server) checkExportTarget(out string) error {
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: export into a new or empty folder, so that nothing is overwritten", out)
	}
	return nil
}

// notFoundProbe is a page no site has, rendered as the export's 404.html.
const notFoundProbe = "404"

// rootPage is the language chooser at the export's root.
func (s *Server) rootPage() ([]byte, error) {
	p := s.engine.Current()
	page := templates.RootPage{StyleURL: s.assetURL("site.css"), IconURL: s.assetURL("icon.svg")}
	if base := strings.TrimSuffix(s.cfg.BaseURL, "/"); base != "" {
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
