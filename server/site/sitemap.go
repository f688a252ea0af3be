package site

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"acceso/locales"
)

// Pages are the paths of every page of the site, in every language: the
// home page; each topic's article, contacts' page and self-diagnosis's
// first step; and every state a contact can reach (flow.Explore), in that
// order. The sitemap lists them and the export writes them.
func (s *Server) Pages(ctx context.Context) ([]string, error) {
	p := s.engine.Current()
	m, err := s.flowMap(ctx, p)
	if err != nil {
		return nil, err
	}
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

// ChangePages are the pages that ask an answered question again (a state's
// path and change-<fact>/), for every answer of every state, in every
// language: the export writes them so that "Change" works on a static
// host; the sitemap leaves them out.
func (s *Server) ChangePages(ctx context.Context) ([]string, error) {
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
