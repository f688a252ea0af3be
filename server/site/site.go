package site

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/web"
	"acceso/store"
	"acceso/templates"
)

// LangCookie remembers the language of the site's page a visitor read
// last; "/" sends them to it.
const LangCookie = "lang"

// Feedback is rate limited per client: a burst of FeedbackBurst posts, then
// one every feedbackEvery.
const (
	feedbackEvery = 6 * time.Second
	FeedbackBurst = 10
	// MaxFeedbackBody bounds a feedback post; a real one is a few hundred
	// bytes.
	MaxFeedbackBody = 8 << 10
)

// The self-diagnosis runs the rules as the API does, so it is rate limited
// per client too, on its own: a burst of DefaultDiagnoseBurst steps, then one
// every diagnoseEvery. A visitor who goes back and forth through every
// symptom makes a few dozen steps, slower than that.
const (
	diagnoseEvery        = 200 * time.Millisecond
	DefaultDiagnoseBurst = 40
)

// policyKey is where a site request keeps the policy its page is answered
// and worded with, so that one page never mixes two revisions.
const policyKey = "site.policy"

// Config is what the site is rendered with; server.Config documents each
// setting.
type Config struct {
	BaseURL       string
	Static        bool
	DiagnoseBurst int
	SupportURL    string
	SupportEmail  string
}

// Server is the bilingual help site: its pages and what they need.
type Server struct {
	cfg     Config
	engine  *rules.Engine
	answers *answer.Service
	store   *store.DB
	// decisions is flushed before a feedback names a reference; nil when
	// nothing is kept.
	decisions *store.DecisionWriter
	// steps counts the states of the self-diagnosis shown (insights); nil
	// counts none.
	steps *store.StepCounter
	// feedbackKey signs the article's feedback tokens and the references
	// shown (feedbacktoken.go); nil when no store is open.
	feedbackKey []byte
	now         func() time.Time
	flowMap     func(ctx context.Context, p *rules.Policy) (*flow.Map, error)
	// assets are the site's static files, prepared once (assets.go).
	assets map[string]asset
	// echo is the router the pages are registered on (Routes).
	echo *echo.Echo
}

// Deps are what the site answers with.
type Deps struct {
	Config Config
	// Engine serves the rules being published.
	Engine *rules.Engine
	// Answers is the one path to an answer (the self-diagnosis).
	Answers *answer.Service
	// Store holds the feedback and the kept decisions; nil: none open.
	Store     *store.DB
	Decisions *store.DecisionWriter
	Steps     *store.StepCounter
	// Key signs the feedback tokens and the references shown.
	Key []byte
	// Now is the clock.
	Now func() time.Time
	// FlowMap explores the self-diagnosis of the rules p (the sitemap).
	FlowMap func(ctx context.Context, p *rules.Policy) (*flow.Map, error)
}

// New returns the site answering with d. It fails only when the static
// files built into the binary cannot be read: a defect of the build.
func New(d Deps) (*Server, error) {
	s := &Server{cfg: d.Config, engine: d.Engine, answers: d.Answers, store: d.Store, decisions: d.Decisions,
		steps: d.Steps, feedbackKey: d.Key, now: d.Now, flowMap: d.FlowMap}
	var err error
	if s.assets, err = loadAssets(staticFiles); err != nil {
		return nil, fmt.Errorf("the site's static files: %w", err)
	}
	return s, nil
}

// Routes registers the bilingual help site on e: "/" sends a visitor to
// their language; under /es/ and /en/ are the home page, the article, the
// self-diagnosis, the language switch and the feedback form. Every page
// answers HEAD as it answers GET, without the body.
func (s *Server) Routes(e *echo.Echo) {
	s.echo = e
	s.page("/", s.handleRoot)
	s.page("/static/:name", s.handleStatic)
	s.page("/robots.txt", s.handleRobots)
	s.page("/sitemap.xml", s.handleSitemap)
	feedbackLimit := web.NewLimiter(feedbackEvery, FeedbackBurst)
	burst := DefaultDiagnoseBurst
	if s.cfg.DiagnoseBurst > 0 {
		burst = s.cfg.DiagnoseBurst
	}
	diagnoseLimit := web.NewLimiter(diagnoseEvery, burst)
	gzip := middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1024})
	for _, lang := range locales.Languages {
		// The middleware goes on each route rather than on a group, as in
		// the API's Routes: a group's middleware brings a catch-all route that
		// would answer 404 where the router should answer 405.
		with := func(mw ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
			return append([]echo.MiddlewareFunc{s.sitePage(lang), gzip}, mw...)
		}
		// The self-diagnosis is rate limited per client, except on the
		// server of the static export, which renders each state once for
		// nobody but itself.
		limited := func(mw ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
			if s.cfg.Static {
				return with(mw...)
			}
			return with(append([]echo.MiddlewareFunc{web.Limit(diagnoseLimit)}, mw...)...)
		}
		home := "/" + lang + "/"
		s.page("/"+lang, func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, home) }, with()...)
		s.page(home, s.handleHome, with()...)
		s.page(home+"article", s.handleArticle, with(web.CSRF())...)
		s.page(home+"help", s.handleHelp, with()...)
		s.page(home+"diagnose", s.handleDiagnoseQuery, limited()...)
		s.page(home+"diagnose/", s.handleDiagnose, limited(web.CSRF())...)
		s.page(home+"diagnose/*", s.handleDiagnose, limited(web.CSRF())...)
		s.page(home+"language", s.handleChooseLanguage, with()...)
		s.echo.POST(home+"feedback", s.handleFeedback, with(web.Limit(feedbackLimit), web.BodyLimit(MaxFeedbackBody), web.CSRF())...)
		// The same pages of every other topic, below its name (topics.go).
		topic := home + ":topic/"
		inTopic := func(mw []echo.MiddlewareFunc) []echo.MiddlewareFunc {
			return append([]echo.MiddlewareFunc{s.topicPage(lang)}, mw...)
		}
		s.page(topic, func(c echo.Context) error {
			return c.Redirect(http.StatusFound, c.Request().URL.Path+"diagnose/")
		}, inTopic(with())...)
		s.page(topic+"article", s.handleArticle, inTopic(with(web.CSRF()))...)
		s.page(topic+"help", s.handleHelp, inTopic(with())...)
		s.page(topic+"diagnose/", s.handleDiagnose, inTopic(limited(web.CSRF()))...)
		s.page(topic+"diagnose/*", s.handleDiagnose, inTopic(limited(web.CSRF()))...)
		s.echo.POST(topic+"feedback", s.handleFeedback, inTopic(with(web.Limit(feedbackLimit), web.BodyLimit(MaxFeedbackBody), web.CSRF()))...)
	}
}

// page registers a page for GET and for HEAD, which net/http answers
// without the body.
func (s *Server) page(path string, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
	s.echo.Match([]string{http.MethodGet, http.MethodHead}, path, h, mw...)
}

// sitePage is the middleware of every page in lang. It puts the current
// policy's texts in that language into the request's context, so that a
// text an admin publishes shows on the next page, and says the page's
// language and how to cache it. (siteRoutes also gzips the pages for
// browsers that accept it.)
func (s *Server) sitePage(lang string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := s.engine.Current()
			c.Set(policyKey, p)
			r := c.Request()
			c.SetRequest(r.WithContext(locales.WithLocalizer(r.Context(), locales.NewLocalizer(p.Texts, lang))))
			h := c.Response().Header()
			h.Set("Content-Language", lang)
			h.Set("Cache-Control", "private, no-cache")
			// "/" sends a visitor back to the language they read last.
			if ck, err := c.Cookie(LangCookie); err != nil || ck.Value != lang {
				c.SetCookie(&http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
					HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: web.Secure(c)})
			}
			return next(c)
		}
	}
}

// policyOf is the policy sitePage chose for this request.
func (s *Server) policyOf(c echo.Context) *rules.Policy {
	if p, ok := c.Get(policyKey).(*rules.Policy); ok {
		return p
	}
	return s.engine.Current()
}

// handleRoot sends a visitor to the language they chose before, else to
// the first of their browser's languages the site speaks, else Spanish.
func (s *Server) handleRoot(c echo.Context) error {
	lang := visitorLang(c.Request())
	h := c.Response().Header()
	h.Add("Vary", "Accept-Language, Cookie")
	h.Set("Cache-Control", "private, no-cache")
	return c.Redirect(http.StatusFound, "/"+lang+"/")
}

// visitorLang is the language a visitor chose before with the language
// switch, else the first of their browser's languages the site speaks,
// else Spanish.
func visitorLang(r *http.Request) string {
	chosen := ""
	if ck, err := r.Cookie(LangCookie); err == nil {
		chosen = ck.Value
	}
	return locales.Negotiate(chosen, r.Header.Get("Accept-Language"))
}

// handleChooseLanguage remembers the language a visitor switched to and
// sends them to the page they asked for in it, which must be a page of this
// site in that language (anything else goes to the home page).
func (s *Server) handleChooseLanguage(c echo.Context) error {
	lang := locales.Lang(c.Request().Context())
	c.SetCookie(&http.Cookie{
		Name:     LangCookie,
		Value:    lang,
		Path:     "/",
		MaxAge:   365 * 24 * 60 * 60,
		HttpOnly: true,
		Secure:   web.Secure(c),
		SameSite: http.SameSiteLaxMode,
	})
	return c.Redirect(http.StatusSeeOther, sameSitePage(lang, c.QueryParam("next")))
}

// sameSitePage returns next if it is a page of this site in lang (path and
// query only), else lang's home page.
func sameSitePage(lang, next string) string {
	home := "/" + lang + "/"
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return home
	}
	clean := path.Clean(u.Path)
	if !strings.HasPrefix(clean+"/", home) {
		return home
	}
	if strings.HasSuffix(u.Path, "/") && !strings.HasSuffix(clean, "/") {
		clean += "/"
	}
	// Re-encode the cleaned path: u.Path is decoded, and a path that was
	// encoded twice must not come back as a different page (or a query).
	return (&url.URL{Path: clean, RawQuery: u.RawQuery}).String()
}

// handleHome is a language's home page: the symptoms as entry points into
// the self-diagnosis, the article and the self-diagnosis; with several
// topics, each topic with its symptoms, self-diagnosis, explanations and
// article.
func (s *Server) handleHome(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	page := templates.HomePage{
		Shell:       s.shell(ctx, p, locales.T(ctx, "HomeTitle"), "", ""),
		Symptoms:    symptomLinks(p.Catalog, p.Catalog.Symptoms, lang),
		ArticleURL:  "/" + lang + "/article",
		DiagnoseURL: flow.Diagnosis{}.Path(lang),
		Topics:      homeTopics(p, lang),
	}
	if len(page.Topics) > 0 {
		page.Shell.Title = locales.T(ctx, "HomeTopicsTitle")
	}
	return web.Render(c, http.StatusOK, templates.Home(page))
}

// handleArticle is the help article, with "Did this answer your question?"
// under it.
func (s *Server) handleArticle(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	t := s.topicOf(c)
	article, err := t.Articles.Page(lang)
	if err != nil {
		return err
	}
	thanks := c.QueryParam("thanks") == "1"
	page := "article"
	if thanks {
		page += "?thanks=1"
	}
	base := topicBase(p, lang, t.Name)
	return web.Render(c, http.StatusOK, templates.Article(templates.ArticlePage{
		Shell:       s.topicShell(c, t, article.Title, page, "article"),
		Article:     article,
		DiagnoseURL: base + "diagnose/",
		Feedback: s.feedbackForm(base+"article", templates.FeedbackForm{
			Action:    base + "feedback",
			CSRFToken: web.CSRFToken(c),
			Page:      store.PageArticle,
			Revision:  p.Revision,
			Token:     s.FeedbackToken(store.PageArticle, p.Revision),
			Reactions: store.Reactions,
			Thanks:    thanks,
		}),
	}))
}

// handleHelp is the contacts' page: what each cause means and what to do,
// in the contact's words; findings and things to try link to its anchors.
func (s *Server) handleHelp(c echo.Context) error {
	lang := locales.Lang(c.Request().Context())
	t := s.topicOf(c)
	help, err := t.Help.Page(lang)
	if err != nil {
		return err
	}
	return web.Render(c, http.StatusOK, templates.Help(templates.HelpPage{
		Shell:       s.topicShell(c, t, help.Title, "help", "help"),
		Help:        help,
		DiagnoseURL: topicBase(s.policyOf(c), lang, t.Name) + "diagnose/",
	}))
}

// handleFeedback stores a visitor's reaction to a page and sends them back
// to it, where they are thanked. It stores nothing about the visitor.
//
// The form is not trusted beyond the reaction and the page. Feedback on the
// article names no cause, carries the token the page was signed with (one
// feedback per token; feedbacktoken.go), and its revision must be one this
// server served (the current one or a stored one), else it is refused.
// Feedback on a self-diagnosis names the decision it is about by its
// reference, a code the server made at random and kept: the causes and
// the revision are the kept decision's, a reference the server never gave
// is refused, and a decision gets one feedback at most, so counts cannot
// be forged or replayed.
func (s *Server) handleFeedback(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	f := store.Feedback{
		Page:     c.FormValue("page"),
		Lang:     lang,
		Reaction: c.FormValue("reaction"),
		Causes:   strings.Fields(c.FormValue("causes")),
		Revision: c.FormValue("revision"),
	}
	if err := f.Validate(); err != nil {
		return feedbackInput(err)
	}
	back := topicBase(p, lang, s.topicOf(c).Name) + "article?thanks=1#feedback"
	f.Causes = nil
	switch f.Page {
	case store.PageDiagnose:
		d, err := DiagnosisOfPath(p.Catalog, lang, c.FormValue("back"))
		if err != nil {
			return err
		}
		ref, ok := knowledge.NormalizeReference(c.FormValue("reference"))
		if !ok {
			return answer.BadField("reference")
		}
		if s.decisions != nil {
			s.decisions.Flush() // the decision shown a moment ago is kept
		}
		dec, err := s.store.Decision(ctx, ref)
		if errors.Is(err, store.ErrNotFound) || err == nil && (dec.Source != "site" || dec.Symptom != d.Symptom) {
			return answer.BadField("reference")
		}
		if err != nil {
			return err
		}
		f.Reference, f.Causes, f.Revision = ref, dec.Findings, dec.Revision
		back = d.Path(lang) + "?thanks=1#feedback"
	default:
		nonce, ok := s.checkFeedbackToken(c.FormValue("token"), f.Page, f.Revision)
		if !ok {
			return answer.BadField("token")
		}
		f.Reference = "article:" + nonce
		if f.Revision != p.Revision {
			known, err := s.store.HasRevision(ctx, f.Revision)
			if err != nil {
				return err
			}
			if !known {
				return answer.BadField("revision")
			}
		}
	}
	if err := s.store.AddFeedback(ctx, f); err != nil {
		return feedbackInput(err)
	}
	return c.Redirect(http.StatusSeeOther, back)
}

// feedbackInput is err as the site answers it: a bad_request naming the
// field when the store refused the feedback, else err.
func feedbackInput(err error) error {
	if fe, ok := errors.AsType[*store.FeedbackError](err); ok {
		return answer.BadField(fe.Field)
	}
	return err
}

// shell is the page shell of a page in the request's language: page is
// the page's path and query below the language's folder ("" for the home
// page), nav the navigation entry it belongs to.
func (s *Server) shell(ctx context.Context, p *rules.Policy, title, page, nav string) templates.Shell {
	lang := locales.Lang(ctx)
	sh := s.pageShell(p, lang, title, page, nav)
	sh.Switch = languageSwitch(p, lang, page)
	return sh
}

// pageShell is the one builder of the site's page shell, for pages and
// error pages alike: title, language, home, assets, a description, and the
// page's address in every language: relative, or absolute with a canonical
// link and an x-default when the site's public address is known.
func (s *Server) pageShell(p *rules.Policy, lang, title, page, nav string) templates.Shell {
	page, _, _ = strings.Cut(page, "?")
	sh := templates.Shell{
		Title:       title,
		Lang:        lang,
		HomeURL:     "/" + lang + "/",
		StyleURL:    s.AssetURL("site.css"),
		IconURL:     s.AssetURL("icon.svg"),
		Nav:         true,
		NavCurrent:  nav,
		Description: locales.NewLocalizer(p.Texts, lang).T("SiteDescription"),
	}
	base := strings.TrimSuffix(s.cfg.BaseURL, "/")
	for _, l := range locales.Languages {
		sh.Alternates = append(sh.Alternates, templates.Alternate{Lang: l, URL: base + "/" + l + "/" + page})
	}
	if base != "" {
		sh.Canonical = base + "/" + lang + "/" + page
		sh.XDefault = base + "/"
	}
	return sh
}

// languageSwitch leads to page (a path below the language's folder) in
// every language but lang: a plain link, which works on a static host too.
// The site remembers the language of the pages a visitor reads (sitePage).
func languageSwitch(p *rules.Policy, lang, page string) []templates.Alternate {
	page, _, _ = strings.Cut(page, "?")
	var links []templates.Alternate
	for _, l := range locales.Languages {
		if l == lang {
			continue
		}
		links = append(links, templates.Alternate{
			Lang: l,
			Name: locales.NewLocalizer(p.Texts, l).T("LanguageName"),
			URL:  "/" + l + "/" + page,
		})
	}
	return links
}

// symptomLinks are symptoms of the catalog as entry points into the
// self-diagnosis, each in its topic.
func symptomLinks(cat knowledge.Catalog, symptoms []string, lang string) []templates.SymptomLink {
	links := make([]templates.SymptomLink, 0, len(symptoms))
	for _, s := range symptoms {
		links = append(links, templates.SymptomLink{ID: s, URL: flow.Start(cat, s).Path(lang)})
	}
	return links
}
