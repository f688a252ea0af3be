package site

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

//go:embed static
var staticFiles embed.FS

// asset is a static file, prepared once: its bytes, gzipped when that is
// smaller, its content type and its version (a hash of its bytes).
type asset struct {
	body    []byte
	gzipped []byte
	ctype   string
	version string
}

// loadAssets prepares the files under static/, by name, once per server.
func loadAssets(fsys fs.FS) (map[string]asset, error) {
	assets := make(map[string]asset)
	entries, err := fs.ReadDir(fsys, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		body, err := fs.ReadFile(fsys, "static/"+e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		a := asset{body: body, ctype: mime.TypeByExtension(filepath.Ext(e.Name())), version: hex.EncodeToString(sum[:])[:12]}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		w.Write(body)
		w.Close()
		if gz.Len() < len(body) {
			a.gzipped = gz.Bytes()
		}
		assets[e.Name()] = a
	}
	return assets, nil
}

// AssetURL is the address of a static file by its hashed name
// (site.3f2a….css): the address changes when the file does, so browsers
// may keep it for a year, and the static export writes the same name.
func (s *Server) AssetURL(name string) string {
	return "/static/" + hashedName(name, s.assets[name].version)
}

// hashedName is a file's name with its version before the extension.
func hashedName(name, version string) string {
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + version + ext
}

// Assets are the site's static files as the export writes them: hashed
// name to bytes.
func (s *Server) Assets() map[string][]byte {
	out := make(map[string][]byte, len(s.assets))
	for name, a := range s.assets {
		out[hashedName(name, a.version)] = a.body
	}
	return out
}

// assetOf finds a static file by its plain or hashed name, and says
// whether the name is the hashed one of its current version.
func (s *Server) assetOf(name string) (asset, bool, bool) {
	if a, ok := s.assets[name]; ok {
		return a, false, true
	}
	for plain, a := range s.assets {
		if hashedName(plain, a.version) == name {
			return a, true, true
		}
	}
	return asset{}, false, false
}

// handleStatic serves a static file. Asked for by its hashed name (or its
// version in ?v=), it may be cached for a year; otherwise for an hour.
// Browsers that accept gzip get it gzipped.
func (s *Server) handleStatic(c echo.Context) error {
	a, hashed, ok := s.assetOf(c.Param("name"))
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Content-Type", a.ctype)
	h.Add("Vary", "Accept-Encoding")
	if hashed || c.QueryParam("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	body, etag := a.body, `"`+a.version+`"`
	if a.gzipped != nil && acceptsGzip(c.Request()) {
		body, etag = a.gzipped, `"`+a.version+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(body))
	return nil
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}
