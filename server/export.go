package server

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

	"acceso/locales"
	"acceso/templates"
)

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
	pages, err := s.site.Pages(ctx)
	if err != nil {
		return ExportStats{}, err
	}
	m, err := s.flowMaps.Map(ctx, s.engine.Current()) // explored once, by Pages
	if err != nil {
		return ExportStats{}, err
	}
	states := m.States()
	changes, err := s.site.ChangePages(ctx)
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
	assets := s.site.Assets()
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
	page := templates.RootPage{StyleURL: s.site.AssetURL("site.css"), IconURL: s.site.AssetURL("icon.svg")}
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
