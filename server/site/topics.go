package site

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"acceso/flow"
	"acceso/locales"
	"acceso/rules"
	"acceso/templates"
)

// The site's pages of a topic. The default topic's are at the addresses of
// before there were topics (/es/article, /es/help, /es/diagnose/…); any
// other topic's are the same pages below its name (/es/notifications/article,
// /es/notifications/help, /es/notifications/diagnose/…). The default
// topic's pages below its name answer 301 to the addresses without it, so
// each page has one address. A name no topic has is a 404.

// topicKey is where a site request of a topic's page keeps its topic's
// name.
const topicKey = "site.topic"

// topicPage is the middleware of a topic's pages in lang (the path's
// :topic): a name no topic has is a 404, the default topic's name a 301 to
// the same page without it. It runs before the page's own middleware
// (sitePage), so that an address that is no page changes nothing (the
// language remembered, for one).
func (s *Server) topicPage(lang string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := s.engine.Current()
			name := c.Param("topic")
			t, ok := p.Topic(name)
			if !ok {
				return echo.ErrNotFound
			}
			if t == p.Default() {
				u := *c.Request().URL
				u.Path = "/" + lang + strings.TrimPrefix(u.Path, "/"+lang+"/"+name)
				u.RawPath = ""
				return c.Redirect(http.StatusMovedPermanently, u.RequestURI())
			}
			c.Set(topicKey, name)
			return next(c)
		}
	}
}

// Moved says where a page that is not found has gone: a topic's address
// without its slash (/en/notifications) is its pages' (the default
// topic's are the home's). It is not a route, since a route there would
// answer GET /{lang}/feedback with a 404 instead of its 405; the server's
// error handler asks before it answers a 404.
func (s *Server) Moved(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", false
	}
	lang, name, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || !locales.Supported(lang) || strings.Contains(name, "/") {
		return "", false
	}
	p := s.engine.Current()
	t, ok := p.Topic(name)
	switch {
	case !ok:
		return "", false
	case t == p.Default():
		return "/" + lang + "/", true
	}
	return "/" + lang + "/" + t.Name + "/", true
}

// topicOf is the topic of a site request: the one its path names, else
// the default topic (also when a publish took the topic away since).
func (s *Server) topicOf(c echo.Context) *rules.Topic {
	p := s.policyOf(c)
	if name, ok := c.Get(topicKey).(string); ok {
		if t, ok := p.Topic(name); ok {
			return t
		}
	}
	return p.Default()
}

// topicPages is the folder of a topic's pages below the language's:
// "" for the default topic, "<topic>/" for another.
func topicPages(p *rules.Policy, topic string) string {
	if seg := flow.TopicSegment(p.Catalog, topic); seg != "" {
		return seg + "/"
	}
	return ""
}

// topicBase is the folder of a topic's pages in lang: /{lang}/ or
// /{lang}/{topic}/.
func topicBase(p *rules.Policy, lang, topic string) string {
	return "/" + lang + "/" + topicPages(p, topic)
}

// topicShell is the shell of a page of topic t: its navigation leads to
// the topic's pages.
func (s *Server) topicShell(c echo.Context, t *rules.Topic, title, page, nav string) templates.Shell {
	p := s.policyOf(c)
	sh := s.shell(c.Request().Context(), p, title, topicPages(p, t.Name)+page, nav)
	sh.TopicURL = topicBase(p, sh.Lang, t.Name)
	return sh
}

// homeTopics are the topics as the home page lists them, when there are
// several.
func homeTopics(p *rules.Policy, lang string) []templates.HomeTopic {
	if len(p.Topics) < 2 {
		return nil
	}
	topics := make([]templates.HomeTopic, 0, len(p.Topics))
	for _, t := range p.Topics {
		base := topicBase(p, lang, t.Name)
		topics = append(topics, templates.HomeTopic{
			ID:          t.Name,
			Symptoms:    symptomLinks(p.Catalog, t.Catalog.Symptoms, lang),
			DiagnoseURL: base + "diagnose/",
			HelpURL:     base + "help",
			ArticleURL:  base + "article",
		})
	}
	return topics
}
