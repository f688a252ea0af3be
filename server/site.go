package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"acceso/content"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/store"
	"acceso/templates"
)

// langCookie remembers the language a visitor chose with the language
// switch; "/" sends them to it.
const langCookie = "lang"

// Feedback is rate limited per client: a burst of feedbackBurst posts, then
// one every feedbackEvery.
const (
	feedbackEvery = 6 * time.Second
	feedbackBurst = 10
	// maxFeedbackBody bounds a feedback post; a real one is a few hundred
	// bytes.
	maxFeedbackBody = 8 << 10
)

// The self-diagnosis runs the rules as the API does, so it is rate limited
// per client too, on its own: a burst of diagnoseBurst steps, then one
// every diagnoseEvery. A visitor who goes back and forth through every
// symptom makes a few dozen steps, slower than that.
const (
	diagnoseEvery = 200 * time.Millisecond
	diagnoseBurst = 40
)

// policyKey is where a site request keeps the policy its page is answered
// and worded with, so that one page never mixes two revisions.
const policyKey = "site.policy"

// siteRoutes registers the bilingual help site: "/" sends a visitor to
// their language; under /es/ and /en/ are the home page, the article, the
// self-diagnosis, the language switch and the feedback form. Every page
// answers HEAD as it answers GET, without the body.
func (s *Server) siteRoutes() {
	s.page("/", s.handleRoot)
	s.page("/static/:name", handleStatic)
	feedbackLimit := newLimiter(feedbackEvery, feedbackBurst)
	diagnoseLimit := newLimiter(diagnoseEvery, diagnoseBurst)
	gzip := middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1024})
	for _, lang := range locales.Languages {
		// The middleware goes on each route rather than on a group, as in
		// apiRoutes: a group's middleware brings a catch-all route that
		// would answer 404 where the router should answer 405.
		with := func(mw ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
			return append([]echo.MiddlewareFunc{s.sitePage(lang), gzip}, mw...)
		}
		home := "/" + lang + "/"
		s.page("/"+lang, func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, home) }, with()...)
		s.page(home, s.handleHome, with()...)
		s.page(home+"article", s.handleArticle, with(csrf())...)
		s.page(home+"diagnose", s.handleDiagnose, with(limit(diagnoseLimit), csrf())...)
		s.page(home+"language", s.handleChooseLanguage, with()...)
		s.echo.POST(home+"feedback", s.handleFeedback, with(limit(feedbackLimit), bodyLimit(maxFeedbackBody), csrf())...)
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
	chosen := ""
	if ck, err := c.Cookie(langCookie); err == nil {
		chosen = ck.Value
	}
	lang := locales.Negotiate(chosen, c.Request().Header.Get("Accept-Language"))
	h := c.Response().Header()
	h.Add("Vary", "Accept-Language, Cookie")
	h.Set("Cache-Control", "private, no-cache")
	return c.Redirect(http.StatusFound, "/"+lang+"/")
}

// handleChooseLanguage remembers the language a visitor switched to and
// sends them to the page they asked for in it, which must be a page of this
// site in that language (anything else goes to the home page).
func (s *Server) handleChooseLanguage(c echo.Context) error {
	lang := locales.Lang(c.Request().Context())
	c.SetCookie(&http.Cookie{
		Name:     langCookie,
		Value:    lang,
		Path:     "/",
		MaxAge:   365 * 24 * 60 * 60,
		HttpOnly: true,
		Secure:   secure(c),
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
// the self-diagnosis, the article and the self-diagnosis.
func (s *Server) handleHome(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	return render(c, http.StatusOK, templates.Home(templates.HomePage{
		Shell:       s.shell(ctx, p, locales.T(ctx, "HomeTitle"), "", ""),
		Symptoms:    symptomLinks(p.Catalog, lang),
		ArticleURL:  "/" + lang + "/article",
		DiagnoseURL: "/" + lang + "/diagnose",
	}))
}

// handleArticle is the help article, with "Did this answer your question?"
// under it.
func (s *Server) handleArticle(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	article, err := content.Article(lang)
	if err != nil {
		return err
	}
	thanks := c.QueryParam("thanks") == "1"
	page := "article"
	if thanks {
		page += "?thanks=1"
	}
	return render(c, http.StatusOK, templates.Article(templates.ArticlePage{
		Shell:       s.shell(ctx, p, article.Title, page, "article"),
		Article:     article,
		DiagnoseURL: "/" + lang + "/diagnose",
		Feedback: templates.FeedbackForm{
			Action:    "/" + lang + "/feedback",
			CSRFField: csrfField,
			CSRFToken: CSRFToken(c),
			Page:      store.PageArticle,
			Revision:  p.Revision,
			Reactions: store.Reactions,
			Thanks:    thanks,
		},
	}))
}

// handleDiagnose is one step of the self-diagnosis. The symptom and the
// answers so far come from the query string; the engine, through Evaluate
// as for the API, says what is likely and what to ask next. The page asks
// the first question not yet answered (an "I don't know" is an answer, so
// it is not asked again), shows the findings as soon as there are any, and
// lists the answers so far, each with a link to change it. Each decision
// is logged and counted as the API's are, with source "site", so that the
// decision id a contact gives support can be found.
func (s *Server) handleDiagnose(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	d, err := parseDiagnosis(p.Catalog, c.QueryParams())
	if err != nil {
		return err
	}
	thanks := c.QueryParam("thanks") == "1"
	if d.symptom == "" {
		return render(c, http.StatusOK, templates.Diagnose(templates.DiagnosePage{
			Shell:        s.shell(ctx, p, locales.T(ctx, "DiagnoseTitle"), "diagnose", "diagnose"),
			StartOverURL: "/" + lang + "/diagnose",
			Symptoms:     symptomLinks(p.Catalog, lang),
		}))
	}
	start := time.Now()
	resp, err := s.evaluate(ctx, p, d)
	if err != nil {
		return err
	}
	s.recordDecision(ctx, "site", resp, time.Since(start))
	page, err := s.diagnosePage(ctx, p, d, resp, CSRFToken(c), thanks)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.Diagnose(page))
}

// evaluate runs p's rules on a diagnosis, in the request's language, as
// the API does. An evaluation that fails is counted, logged and answered
// 503.
func (s *Server) evaluate(ctx context.Context, p *rules.Policy, d diagnosis) (Response, error) {
	lang := locales.Lang(ctx)
	start := time.Now()
	resp, err := Evaluate(ctx, p, d.request(lang), lang)
	if err != nil {
		s.evaluationFailed(ctx, err, time.Since(start))
		return Response{}, echo.NewHTTPError(http.StatusServiceUnavailable)
	}
	return resp, nil
}

// diagnosePage is the view of a diagnosis with a symptom, given the
// engine's answer for it: the findings, the first question not answered
// yet, or, when there is neither, what to do next; the answers so far; and
// the feedback form once there is something to judge.
func (s *Server) diagnosePage(ctx context.Context, p *rules.Policy, d diagnosis, resp Response, csrfToken string, thanks bool) (templates.DiagnosePage, error) {
	lang := locales.Lang(ctx)
	base := "/" + lang + "/diagnose"
	here := "diagnose?" + d.query("")
	if thanks {
		here += "&thanks=1"
	}
	page := templates.DiagnosePage{
		Shell:        s.shell(ctx, p, locales.T(ctx, locales.SymptomTitle(d.symptom))+" · "+locales.T(ctx, "DiagnoseTitle"), here, "diagnose"),
		StartOverURL: base,
		Symptom:      d.symptom,
	}
	causes := make([]string, 0, len(resp.Findings))
	for _, f := range resp.Findings {
		page.Findings = append(page.Findings, templates.DiagnoseFinding{Title: f.Title, Advice: f.Advice, URL: f.ArticleURL})
		causes = append(causes, f.ID)
	}
	if q, ok := d.next(resp.Questions); ok {
		var err error
		if page.Question, err = d.form(q, base, p.Catalog.QuestionTypes[q.Fact]); err != nil {
			return templates.DiagnosePage{}, err
		}
	} else if len(resp.Findings) == 0 {
		page.End = &templates.DiagnoseEnd{Title: "DiagnoseEndedTitle", Advice: "DiagnoseEndedAdvice", DecisionID: resp.DecisionID}
		if resp.Outcome == rules.OutcomeNoKnownCause {
			page.End.Title, page.End.Advice = "OutcomeNoKnownCauseTitle", "OutcomeNoKnownCauseAdvice"
		}
	}
	for _, a := range d.answers {
		page.Answers = append(page.Answers, templates.DiagnoseAnswer{
			Fact:      a.fact,
			Labels:    a.labels(),
			ChangeURL: base + "?" + d.query(a.fact),
		})
	}
	if len(page.Findings) > 0 || page.End != nil {
		page.Feedback = &templates.FeedbackForm{
			Action:    "/" + lang + "/feedback",
			CSRFField: csrfField,
			CSRFToken: csrfToken,
			Page:      store.PageDiagnose,
			Causes:    strings.Join(causes, " "),
			Revision:  resp.PolicyRevision,
			Back:      d.query(""),
			Reactions: store.Reactions,
			Thanks:    thanks,
		}
	}
	return page, nil
}

// handleFeedback stores a visitor's reaction to a page and sends them back
// to it, where they are thanked. It stores nothing about the visitor.
//
// The form is not trusted beyond the reaction and the page: its revision
// must be one this server served (the current one or a stored one), else
// it is refused naming "revision". Feedback on the article names no cause.
// Feedback on a self-diagnosis gets its causes by evaluating the diagnosis
// it came from (back) with the current rules, as the page does, so it
// records the current revision with them; the causes the form names are
// only checked for their shape.
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
	if f.Revision != p.Revision {
		known, err := s.store.HasRevision(ctx, f.Revision)
		if err != nil {
			return err
		}
		if !known {
			return &badInput{field: "revision"}
		}
	}
	back := "/" + lang + "/article?thanks=1#feedback"
	f.Causes = nil
	if f.Page == store.PageDiagnose {
		q, err := url.ParseQuery(c.FormValue("back"))
		if err != nil {
			return &badInput{field: "back"}
		}
		d, err := parseDiagnosis(p.Catalog, q)
		if err != nil || d.symptom == "" {
			return &badInput{field: "back"}
		}
		resp, err := s.evaluate(ctx, p, d)
		if err != nil {
			return err
		}
		for _, finding := range resp.Findings {
			if _, known := p.Catalog.Cause(finding.ID); known {
				f.Causes = append(f.Causes, finding.ID)
			}
		}
		f.Revision = resp.PolicyRevision
		back = "/" + lang + "/diagnose?" + d.query("") + "&thanks=1#feedback"
	}
	if err := s.store.AddFeedback(ctx, f); err != nil {
		return feedbackInput(err)
	}
	return c.Redirect(http.StatusSeeOther, back)
}

// feedbackInput is err as the site answers it: a *badInput naming the
// field when the store refused the feedback, else err.
func feedbackInput(err error) error {
	if fe, ok := errors.AsType[*store.FeedbackError](err); ok {
		return &badInput{field: fe.Field}
	}
	return err
}

// shell is the page shell of a page in the request's language: page is
// the page's path and query below the language's folder ("" for the home
// page), nav the navigation entry it belongs to.
func (s *Server) shell(ctx context.Context, p *rules.Policy, title, page, nav string) templates.Shell {
	lang := locales.Lang(ctx)
	sh := templates.Shell{
		Title:      title,
		Lang:       lang,
		HomeURL:    "/" + lang + "/",
		StyleURL:   assetURL("site.css"),
		IconURL:    assetURL("icon.svg"),
		Nav:        true,
		NavCurrent: nav,
	}
	for _, l := range locales.Languages {
		sh.Alternates = append(sh.Alternates, templates.Alternate{Lang: l, URL: "/" + l + "/" + page})
	}
	sh.Switch = languageSwitch(p, lang, page)
	return sh
}

// languageSwitch leads to page (a path and query below the language's
// folder) in every language but lang, through the handler that remembers
// the choice.
func languageSwitch(p *rules.Policy, lang, page string) []templates.Alternate {
	var links []templates.Alternate
	for _, l := range locales.Languages {
		if l == lang {
			continue
		}
		links = append(links, templates.Alternate{
			Lang: l,
			Name: locales.NewLocalizer(p.Texts, l).T("LanguageName"),
			URL:  "/" + l + "/language?next=" + url.QueryEscape("/"+l+"/"+page),
		})
	}
	return links
}

// symptomLinks are the catalog's symptoms as entry points into the
// self-diagnosis.
func symptomLinks(cat rules.Catalog, lang string) []templates.SymptomLink {
	links := make([]templates.SymptomLink, 0, len(cat.Symptoms))
	for _, s := range cat.Symptoms {
		links = append(links, templates.SymptomLink{ID: s, URL: "/" + lang + "/diagnose?" + url.Values{"symptom": {s}}.Encode()})
	}
	return links
}

// Answers a contact can give.
const (
	answerYes     = "yes"
	answerNo      = "no"
	answerUnknown = "unknown"
)

// diagnosis is a self-diagnosis as its URL carries it: the symptom and the
// answers given so far, in the order the rules ask them.
type diagnosis struct {
	symptom string
	answers []answer
}

// answer is the answer to the question about one fact: "yes", "no" or
// "unknown" for a yes/no question; for a multiple choice the options
// ticked (maybe none), or "unknown".
type answer struct {
	fact     string
	multiple bool
	values   []string
}

func (a answer) unknown() bool { return len(a.values) == 1 && a.values[0] == answerUnknown }

// labels are the message ids of the answer's labels.
func (a answer) labels() []string {
	switch {
	case a.unknown():
		return []string{"AnswerUnknown"}
	case a.multiple:
		ids := make([]string, 0, len(a.values))
		for _, opt := range choicesOf(a.fact) {
			if slices.Contains(a.values, opt.Value) {
				ids = append(ids, opt.Label)
			}
		}
		return ids
	case a.values[0] == answerYes:
		return []string{"AnswerYes"}
	default:
		return []string{"AnswerNo"}
	}
}

// parseDiagnosis reads a self-diagnosis from a query string. The symptom
// must be one of the catalog's; the answers read are those to the questions
// of that symptom's causes, and each must be a valid answer. Other
// parameters are ignored. An invalid value is a *badInput naming it.
func parseDiagnosis(cat rules.Catalog, q url.Values) (diagnosis, error) {
	var d diagnosis
	d.symptom = q.Get("symptom")
	if d.symptom == "" {
		return diagnosis{}, nil
	}
	if !slices.Contains(cat.Symptoms, d.symptom) {
		return diagnosis{}, &badInput{field: "symptom"}
	}
	for _, fact := range askedFacts(cat, d.symptom) {
		values, ok := q[fact]
		if !ok {
			continue
		}
		a := answer{fact: fact, multiple: cat.QuestionTypes[fact] == rules.QuestionMultipleChoice}
		switch {
		case slices.Contains(values, answerUnknown):
			a.values = []string{answerUnknown}
		case a.multiple:
			a.values = []string{}
			for _, opt := range choicesOf(fact) {
				if slices.Contains(values, opt.Value) {
					a.values = append(a.values, opt.Value)
				}
			}
			for _, v := range values {
				if v != "" && !slices.Contains(a.values, v) {
					return diagnosis{}, &badInput{field: fact}
				}
			}
		case len(values) == 1 && (values[0] == answerYes || values[0] == answerNo):
			a.values = values
		default:
			return diagnosis{}, &badInput{field: fact}
		}
		d.answers = append(d.answers, a)
	}
	return d, nil
}

// askedFacts are the facts a contact can be asked about a symptom, in the
// order the rules ask them: the facts of the symptom's causes, in article
// order, that have a question.
func askedFacts(cat rules.Catalog, symptom string) []string {
	var facts []string
	for _, c := range cat.Causes {
		if c.Symptom != symptom {
			continue
		}
		for _, f := range c.Facts {
			if _, ok := cat.QuestionTypes[f]; ok && !slices.Contains(facts, f) {
				facts = append(facts, f)
			}
		}
	}
	return facts
}

// request is the rules' request for the answers known: "yes" and "no" are
// true and false, ticked options a list, and "unknown" leaves the fact out.
func (d diagnosis) request(lang string) rules.Request {
	req := rules.Request{Symptom: d.symptom, Lang: lang, Facts: make(map[string]any, len(d.answers))}
	for _, a := range d.answers {
		switch {
		case a.unknown():
		case a.multiple:
			req.Facts[a.fact] = slices.Clone(a.values)
		default:
			req.Facts[a.fact] = a.values[0] == answerYes
		}
	}
	return req
}

// query is the diagnosis as a query string, leaving out the answer about
// the fact without (none when empty). An empty multiple choice is kept as
// an empty value, so that "none ticked" stays an answer.
func (d diagnosis) query(without string) string {
	v := url.Values{"symptom": {d.symptom}}
	for _, a := range d.answers {
		if a.fact == without {
			continue
		}
		v[a.fact] = a.values
		if len(a.values) == 0 {
			v[a.fact] = []string{""}
		}
	}
	return v.Encode()
}

// answered reports whether the diagnosis has an answer about fact.
func (d diagnosis) answered(fact string) bool {
	return slices.ContainsFunc(d.answers, func(a answer) bool { return a.fact == fact })
}

// next is the first of the engine's questions not answered yet: the
// engine asks again about facts answered "I don't know", the page does not.
func (d diagnosis) next(questions []Question) (Question, bool) {
	for _, q := range questions {
		if !d.answered(q.Fact) {
			return q, true
		}
	}
	return Question{}, false
}

// form is the question about q as a form that sends the answer to action
// along with the answers so far.
func (d diagnosis) form(q Question, action, kind string) (*templates.DiagnoseQuestion, error) {
	f := &templates.DiagnoseQuestion{Action: action, Fact: q.Fact, Text: q.Text}
	f.Carry = append(f.Carry, templates.Field{Name: "symptom", Value: d.symptom})
	for _, a := range d.answers {
		if len(a.values) == 0 {
			f.Carry = append(f.Carry, templates.Field{Name: a.fact})
		}
		for _, v := range a.values {
			f.Carry = append(f.Carry, templates.Field{Name: a.fact, Value: v})
		}
	}
	unknown := templates.Option{Value: answerUnknown, Label: "AnswerUnknown"}
	if kind == rules.QuestionMultipleChoice {
		f.Choices = choicesOf(q.Fact)
		if len(f.Choices) == 0 {
			return nil, fmt.Errorf("site: the multiple-choice question %s has no options", q.Fact)
		}
		// The continue button sends an empty value, so that sending with
		// nothing ticked still answers the question.
		f.Buttons = []templates.Option{{Value: "", Label: "AnswerContinue"}, unknown}
		return f, nil
	}
	f.Buttons = []templates.Option{{Value: answerYes, Label: "AnswerYes"}, {Value: answerNo, Label: "AnswerNo"}, unknown}
	return f, nil
}

// choicesOf are the options of a multiple-choice question, each with the
// message id of its label. The rules say which questions are multiple
// choice; the API's vocabulary (rules.Choices) says what each can hold.
func choicesOf(fact string) []templates.Option {
	values := rules.Choices(fact)
	opts := make([]templates.Option, len(values))
	for i, v := range values {
		opts[i] = templates.Option{Value: v, Label: locales.ID("Channel", v, "")}
	}
	return opts
}

// badInput is a value in a page's query or form that the site cannot read.
// It names the field, which the error page shows.
type badInput struct{ field string }

func (e *badInput) Error() string { return "site: invalid value for " + e.field }

// pageError answers an error on a page route with a localized error page,
// in the language of the path's prefix (Spanish by default). It says what
// happened in words a visitor understands; internal details are logged,
// never shown.
func (s *Server) pageError(c echo.Context, err error) {
	status, page := http.StatusInternalServerError, templates.ErrorPage{Title: "ErrorServerTitle", Text: "ErrorServerText"}
	var bad *badInput
	var he *echo.HTTPError
	switch {
	case errors.As(err, &bad):
		status, page.Title, page.Text, page.Field = http.StatusBadRequest, "ErrorBadRequestTitle", "ErrorBadRequestText", bad.field
	case errors.As(err, &he) && he.Code < 500:
		status = he.Code
		switch status {
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			page.Title, page.Text = "ErrorNotFoundTitle", "ErrorNotFoundText"
		case http.StatusForbidden:
			page.Title, page.Text = "ErrorForbiddenTitle", "ErrorForbiddenText"
		case http.StatusTooManyRequests:
			page.Title, page.Text = "ErrorTooManyTitle", "ErrorTooManyText"
		default:
			page.Title, page.Text = "ErrorBadRequestTitle", "ErrorBadRequestText"
		}
	case errors.As(err, &he):
		status = he.Code
	}
	if status >= 500 {
		s.log.Error("page failed", "method", c.Request().Method, "route", c.Path(), "status", status, "err", err)
	}

	lang := locales.Source
	if first, _, _ := strings.Cut(strings.TrimPrefix(c.Request().URL.Path, "/"), "/"); locales.Supported(first) {
		lang = first
	}
	p := s.engine.Current()
	ctx := locales.WithLocalizer(c.Request().Context(), locales.NewLocalizer(p.Texts, lang))
	page.Shell = templates.Shell{
		Title:    locales.T(ctx, page.Title),
		Lang:     lang,
		HomeURL:  "/" + lang + "/",
		StyleURL: assetURL("site.css"),
		IconURL:  assetURL("icon.svg"),
		Nav:      true,
		// An error page has no translation; the switch leads home.
		Switch: languageSwitch(p, lang, ""),
	}
	c.Response().Header().Set("Content-Language", lang)
	var buf bytes.Buffer
	if rerr := templates.Error(page).Render(ctx, &buf); rerr != nil {
		s.log.Error("rendering the error page failed", "err", rerr)
		_ = c.String(status, http.StatusText(status))
		return
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	// net/http leaves the body out of an answer to HEAD.
	_ = c.HTMLBlob(status, buf.Bytes())
}

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

// siteAssets are the files under static/, by name. They are part of the
// binary, so they are prepared once when the program starts.
var siteAssets = loadAssets(staticFiles)

func loadAssets(fsys fs.FS) map[string]asset {
	assets := make(map[string]asset)
	entries, err := fs.ReadDir(fsys, "static")
	if err != nil {
		panic(err) // embedded files are always readable
	}
	for _, e := range entries {
		body, err := fs.ReadFile(fsys, "static/"+e.Name())
		if err != nil {
			panic(err)
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
	return assets
}

// assetURL is the address of a static file, with its version: the address
// changes when the file does, so browsers may keep it for a year.
func assetURL(name string) string {
	return "/static/" + name + "?v=" + siteAssets[name].version
}

// handleStatic serves a static file. Asked for by its current version, it
// may be cached for a year; otherwise for an hour. Browsers that accept
// gzip get it gzipped.
func handleStatic(c echo.Context) error {
	a, ok := siteAssets[c.Param("name")]
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Content-Type", a.ctype)
	h.Add("Vary", "Accept-Encoding")
	if c.QueryParam("v") == a.version {
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
