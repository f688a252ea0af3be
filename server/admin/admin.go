package admin

import (
	"context"
	_ "embed" // the admin stylesheet
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/account"
	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/web"
	"acceso/store"
	"acceso/templates"
)

//go:embed admin.css
var adminCSS []byte

// Sign-in attempts one client may make: five at once, then one every
// twelve seconds (five a minute).
const (
	signInEvery = 12 * time.Second
	SignInBurst = 5
)

// errSignInThrottled refuses an attempt for a name with too many recent
// failures; it says nothing of whether the name has an account.
var errSignInThrottled = echo.NewHTTPError(http.StatusTooManyRequests, "too many failed sign-ins for this name; wait and try again")

// revisionsShown bounds the revisions list.
const revisionsShown = 200

// Area is the admin area's handlers, with what they need. The texts of
// its pages are adminTexts: the message files built into the binary, not
// the policy being served, so that a published revision can never break
// the pages that would fix it.
type Area struct {
	publisher *publish.Publisher
	engine    *rules.Engine
	store     *store.DB
	log       *slog.Logger
	now       func() time.Time
	// adminTexts are the texts of the admin pages.
	adminTexts *locales.Texts
	// sessionTTLSet is how long an admin stays signed in; zero means
	// DefaultSessionTTL.
	sessionTTLSet time.Duration
	// feedbackKey keys the MAC of the devices admins signed in from
	// (device.go).
	feedbackKey []byte
	// flowMap is the self-diagnosis of the rules p, explored (the flow
	// map, the look-up of the static export's references).
	flowMap func(ctx context.Context, p *rules.Policy) (*flow.Map, error)
	// kept finds and continues the kept decisions (the look-up).
	kept *web.Kept
	// decisions and steps are flushed before the insights are read; nil
	// when nothing is kept.
	decisions *store.DecisionWriter
	steps     *store.StepCounter
	// signIns counts failed sign-ins per account name (throttle.go).
	signIns *accountThrottle
	// checks bounds the draft checks running at once (checklimit.go).
	checks *checkLimit
}

// Deps are what the admin area works with.
type Deps struct {
	// Publisher publishes, rolls back and catches up; its Engine serves.
	Publisher *publish.Publisher
	// Store holds the sessions, drafts, revisions, feedback, insights and
	// the kept decisions.
	Store *store.DB
	Log   *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// Texts are the admin pages' texts: the message files built into the
	// binary.
	Texts *locales.Texts
	// SessionTTL is how long an admin stays signed in; zero means
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// DeviceKey keys the MAC of the devices admins signed in from; nil
	// remembers none.
	DeviceKey []byte
	// FlowMap explores the self-diagnosis of the rules p.
	FlowMap func(ctx context.Context, p *rules.Policy) (*flow.Map, error)
	// Kept finds and continues the kept decisions.
	Kept *web.Kept
	// Decisions and Steps are flushed before the insights are read; nil
	// when nothing is kept.
	Decisions *store.DecisionWriter
	Steps     *store.StepCounter
}

// New returns the admin area working with d.
func New(d Deps) *Area {
	return &Area{publisher: d.Publisher, engine: d.Publisher.Engine(), store: d.Store, log: d.Log, now: d.Now,
		adminTexts: d.Texts, sessionTTLSet: d.SessionTTL, feedbackKey: d.DeviceKey, flowMap: d.FlowMap, kept: d.Kept,
		decisions: d.Decisions, steps: d.Steps, signIns: newAccountThrottle(d.Now, d.Store, d.Log), checks: newCheckLimit()}
}

// Routes registers the admin area under /admin/ on e. Only the sign-in
// page and its form answer without a session; every other route, known or
// not, goes through requireSession, and every form through the CSRF check
// (adminCSRF: tokens bound to the session).
func (a *Area) Routes(e *echo.Echo) {
	// The stylesheet is public: the sign-in page is styled too.
	e.GET("/admin/admin.css", handleAdminCSS)
	e.GET("/admin/signin", a.handleSignInForm, a.localize, a.adminCSRF)
	e.POST("/admin/signin", a.handleSignIn, a.localize, web.Limit(web.NewLimiter(signInEvery, SignInBurst)), a.adminCSRF)

	g := e.Group("/admin", a.localize, a.requireSession, a.adminCSRF, a.latestRevision)
	g.GET("", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/admin/") })
	g.GET("/", a.handleRules)
	g.POST("/signout", a.handleSignOut)
	g.GET("/module", a.handleModule)
	g.POST("/module", a.handleModuleSubmit)
	g.GET("/causes/:id", a.handleCause)
	g.POST("/causes/:id", a.handleCauseSubmit)
	g.GET("/new-cause", a.handleNewCause)
	g.POST("/new-cause", a.handleNewCauseSubmit)
	g.GET("/new-fact", a.handleNewFact)
	g.POST("/new-fact", a.handleNewFactSubmit)
	g.GET("/draft", a.handleDraft)
	g.POST("/draft", a.handleDraftSubmit)
	g.POST("/draft/add", a.handleDraftAdd)
	g.POST("/draft/remove", a.handleDraftRemove)
	g.POST("/draft/keep", a.handleDraftKeep)
	g.POST("/draft/discard", a.handleDraftDiscard)
	g.GET("/revisions", a.handleRevisions)
	g.GET("/revisions/:seq", a.handleRevision)
	g.POST("/revisions/:seq/rollback", a.handleRollback)
	g.GET("/feedback", a.handleFeedback)
	g.GET("/insights", a.handleInsights)
	g.GET("/insights.csv", a.handleInsightsCSV)
	g.GET("/decisions", a.handleLookup)
	g.GET("/flow", a.handleFlow)
	g.GET("/flow.txt", a.handleFlowText)
	g.GET("/keys", a.handleKeys)
}

// latestRevision makes a page that an admin reads (GET) show the latest
// stored revision: a replica behind another's publish catches up first
// (publish.Publisher.CatchUp), so that the base of an edit form is never
// a revision already replaced.
func (a *Area) latestRevision(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method == http.MethodGet {
			if err := a.publisher.CatchUp(c.Request().Context()); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// localize puts the admin's language (from Accept-Language) and the admin
// texts in the request's context, for locales.T in the templates.
func (a *Area) localize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		lang := locales.Negotiate(r.Header.Get("Accept-Language"))
		c.SetRequest(r.WithContext(locales.WithLocalizer(r.Context(), locales.NewLocalizer(a.adminTexts, lang))))
		return next(c)
	}
}

// shell is what every admin page shows besides its content, the number
// of files in the signed-in admin's draft included. That number is only
// a navigation aid: when it cannot be read, the page is shown without it.
func (a *Area) shell(c echo.Context, titleID, section string) templates.AdminShell {
	s := templates.AdminShell{
		Title:   locales.T(c.Request().Context(), titleID),
		Admin:   SignedIn(c),
		CSRF:    web.CSRFToken(c),
		Section: section,
	}
	if s.Admin != "" {
		n, err := a.store.DraftSize(c.Request().Context(), s.Admin)
		if err != nil {
			a.log.Error("reading the size of an admin's draft", "err", err)
		}
		s.DraftFiles = n
	}
	return s
}

// handleAdminCSS serves the admin stylesheet.
func handleAdminCSS(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", adminCSS)
}

func (a *Area) handleSignInForm(c echo.Context) error {
	return web.Render(c, http.StatusOK, templates.AdminSignInPage(templates.AdminSignIn{Shell: a.shell(c, "AdminSignInTitle", "")}))
}

// handleSignIn checks a name and password and starts a session. A wrong
// name and a wrong password get the same answer, in the same time. A name
// with too many failures is refused without checking the password, for a
// while that grows with each failure (throttle.go), whether or not an
// account has that name.
func (a *Area) handleSignIn(c echo.Context) error {
	name := strings.TrimSpace(c.Request().PostFormValue("name"))
	key, device := a.signInKey(c, name)
	if wait := a.signIns.wait(key); wait > 0 {
		a.log.Info("admin sign-in throttled")
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		return errSignInThrottled
	}
	err := account.Check(c.Request().Context(), a.store, name, c.Request().PostFormValue("password"))
	if errors.Is(err, account.ErrBadCredentials) {
		a.signIns.failed(key)
		a.log.Info("admin sign-in refused")
		page := templates.AdminSignIn{Shell: a.shell(c, "AdminSignInTitle", ""), Name: name, Failed: true}
		return web.Render(c, http.StatusUnauthorized, templates.AdminSignInPage(page))
	}
	if err != nil {
		return err
	}
	a.signIns.succeeded(key)
	if err := a.endSession(c); err != nil {
		return err
	}
	if err := a.startSession(c, name); err != nil {
		return err
	}
	if err := a.rememberDevice(c, name, device); err != nil {
		return err
	}
	// Most who sign in answer a contact: they land where a reference is
	// typed.
	return c.Redirect(http.StatusSeeOther, "/admin/decisions")
}

func (a *Area) handleSignOut(c echo.Context) error {
	if err := a.endSession(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/signin")
}

// handleRules is the admin home: the causes and the modules being served.
func (a *Area) handleRules(c echo.Context) error {
	p := a.engine.Current()
	l := locales.NewLocalizer(p.Texts, locales.Lang(c.Request().Context()))
	page := templates.AdminRules{
		Shell:    a.shell(c, "AdminRulesTitle", "rules"),
		Revision: p.Revision,
		RulesDir: a.publisher.RulesDir(),
	}
	files := publish.Files(p.Source)
	for _, file := range sortedFiles(p.Source) {
		page.Modules = append(page.Modules, templates.AdminModuleRow{
			File: file, Lines: len(splitLines(files[file])), Test: knowledge.IsTest(file), Texts: isMessageFile(file),
		})
	}
	for _, cause := range p.Catalog.Causes {
		page.Causes = append(page.Causes, templates.AdminCauseRow{
			ID: cause.ID, Symptom: cause.Symptom, Title: l.T(locales.CauseTitle(cause.ID)), File: cause.File, Line: cause.Line,
		})
	}
	return web.Render(c, http.StatusOK, templates.AdminRulesPage(page))
}

// handleModule shows a module or a message file, ready to edit: the text
// in the admin's draft when the draft has the file, else the one served.
func (a *Area) handleModule(c echo.Context) error {
	p := a.engine.Current()
	file := c.QueryParam("file")
	text, ok := publish.Files(p.Source)[file]
	if !ok && !a.isNewFile(file) {
		return echo.ErrNotFound
	}
	m := templates.AdminModule{File: file, Text: text, Draft: templates.AdminDraft{Base: p.Revision, Sample: defaultSample("", nil)}}
	switch drafted, err := a.store.DraftFile(c.Request().Context(), SignedIn(c), file); {
	case err == nil:
		m.Text, m.FromDraft = drafted.Text, true
	case !ok && errors.Is(err, store.ErrNotFound):
		return echo.ErrNotFound // a new file is edited once it is in the draft
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return a.renderModule(c, http.StatusOK, m)
}

func (a *Area) renderModule(c echo.Context, status int, m templates.AdminModule) error {
	m.Shell = a.shell(c, "AdminModuleTitle", "rules")
	m.Shell.Title += " " + m.File
	m.Draft.Save = true
	return web.Render(c, status, templates.AdminModulePage(m))
}

// handleModuleSubmit checks or publishes a module's or a message file's
// new text, or saves it to the admin's draft. Once published on its own,
// the file leaves the admin's draft: the draft's text was what the editor
// showed.
func (a *Area) handleModuleSubmit(c echo.Context) error {
	file, text := c.FormValue("file"), publish.NormalizeText(c.FormValue("text"))
	if c.FormValue("action") == "save" {
		return a.saveToDraft(c, file, text, false)
	}
	src, err := publish.DraftFile(a.engine.Current().Source, file, text)
	admin := SignedIn(c)
	return a.submit(c, src, err, publish.Change{Note: "edit " + file}, func(status int, d templates.AdminDraft) error {
		return a.renderModule(c, status, templates.AdminModule{File: file, Text: text, Draft: d})
	}, func(ctx context.Context) error { return a.store.DeleteDraftFile(ctx, admin, file) })
}

// handleCause shows a cause and its texts in every language, ready to edit.
func (a *Area) handleCause(c echo.Context) error {
	p := a.engine.Current()
	cause, ok := p.Catalog.Cause(c.Param("id"))
	if !ok {
		return echo.ErrNotFound
	}
	texts := make(map[string]publish.CauseTexts)
	for _, lang := range locales.Languages {
		l := locales.NewLocalizer(p.Texts, lang)
		texts[lang] = publish.CauseTexts{Title: l.T(locales.CauseTitle(cause.ID)), Advice: l.T(locales.CauseAdvice(cause.ID))}
	}
	d := templates.AdminDraft{Base: p.Revision, Sample: defaultSample(cause.Symptom, cause.Facts)}
	return a.renderCause(c, http.StatusOK, cause, texts, d)
}

func (a *Area) renderCause(c echo.Context, status int, cause knowledge.Cause, texts map[string]publish.CauseTexts, d templates.AdminDraft) error {
	shell := a.shell(c, "AdminCauseTitle", "rules")
	shell.Title += " " + cause.ID
	page := templates.AdminCause{
		Shell: shell, ID: cause.ID, Symptom: cause.Symptom, Facts: cause.Facts, File: cause.File, Line: cause.Line,
		RuleTitle: cause.Title, RuleDescription: cause.Description, Texts: langTexts(texts), Draft: d,
	}
	return web.Render(c, status, templates.AdminCausePage(page))
}

// handleCauseSubmit checks or publishes a cause's new texts.
func (a *Area) handleCauseSubmit(c echo.Context) error {
	cur := a.engine.Current()
	cause, ok := cur.Catalog.Cause(c.Param("id"))
	if !ok {
		return echo.ErrNotFound
	}
	texts := formTexts(c)
	src, err := publish.DraftCauseTexts(cur.Source, cause.ID, texts)
	return a.submit(c, src, err, publish.Change{Note: "texts of " + cause.ID}, func(status int, d templates.AdminDraft) error {
		return a.renderCause(c, status, cause, texts, d)
	}, nil)
}

// handleNewCause shows the form to add a cause, its rule started from a
// template.
func (a *Area) handleNewCause(c echo.Context) error {
	p := a.engine.Current()
	nc := publish.NewCause{Texts: make(map[string]publish.CauseTexts)}
	if len(p.Catalog.Causes) > 0 {
		nc.Module = p.Catalog.Causes[0].File
	}
	nc.Rule = publish.NewCauseTemplate()
	return a.renderNewCause(c, http.StatusOK, nc, templates.AdminDraft{Base: p.Revision, Sample: defaultSample("", nil)})
}

func (a *Area) renderNewCause(c echo.Context, status int, nc publish.NewCause, d templates.AdminDraft) error {
	page := templates.AdminNewCause{
		Shell:   a.shell(c, "AdminNewCauseTitle", "rules"),
		Modules: publish.PolicyModules(a.engine.Current().Source),
		Module:  nc.Module, ID: nc.ID, Rule: nc.Rule, Tests: nc.Tests,
		Texts: langTexts(nc.Texts), Draft: d,
	}
	page.Draft.Save = true
	return web.Render(c, status, templates.AdminNewCausePage(page))
}

// handleNewCauseSubmit checks or publishes a new cause, or saves it to the
// admin's draft.
func (a *Area) handleNewCauseSubmit(c echo.Context) error {
	nc := publish.NewCause{
		Module: c.FormValue("module"),
		ID:     strings.TrimSpace(c.FormValue("id")),
		Rule:   publish.NormalizeText(c.FormValue("rule")),
		Tests:  publish.NormalizeText(c.FormValue("tests")),
		Texts:  formTexts(c),
	}
	if c.FormValue("action") == "save" {
		return a.saveNewCause(c, nc)
	}
	src, err := publish.DraftNewCause(a.engine.Current(), nc)
	ch := publish.Change{
		Note:  "new cause " + nc.ID,
		Check: func(cur, draft *rules.Policy) knowledge.Problems { return publish.CheckNewCause(cur, draft, nc) },
	}
	return a.submit(c, src, err, ch, func(status int, d templates.AdminDraft) error {
		return a.renderNewCause(c, status, nc, d)
	}, nil)
}

// submit checks a draft, or publishes it when the form's action says so.
// The draft was made from the revision ch.Base, else from the form's base.
// A published draft leads to the revisions list, once published (when not
// nil) has tidied up after it; that failing is logged, since the publish
// stands. Otherwise show renders the form again with the draft fields and
// the check's outcome: its problems (a draft that could not even be made,
// draftErr, included) with 422, or its preview and what it would change
// (its impact) with 200.
func (a *Area) submit(c echo.Context, src knowledge.Source, draftErr error, ch publish.Change, show func(status int, d templates.AdminDraft) error, published func(context.Context) error) error {
	d := templates.AdminDraft{Base: c.FormValue("base"), Sample: publish.NormalizeText(c.FormValue("sample"))}
	d.Check.Done = true
	err := draftErr
	if err == nil {
		ch.Source, ch.Admin = src, SignedIn(c)
		if ch.Base == "" {
			ch.Base = d.Base
		}
		if strings.TrimSpace(d.Sample) != "" {
			ch.Sample = []byte(d.Sample)
		}
		ctx := c.Request().Context()
		done, busy := a.checks.start(ch.Admin)
		if busy != nil {
			// The form comes back as it was sent, so nothing typed is lost.
			d.Check.Problems = []templates.AdminProblem{{Where: "rules", Message: busy.Error()}}
			return show(http.StatusTooManyRequests, d)
		}
		defer done()
		if c.FormValue("action") == "publish" {
			var rev store.Revision
			if rev, _, err = a.publisher.Publish(ctx, ch); err == nil {
				if published != nil {
					if err := published(ctx); err != nil {
						a.log.Error("after a publish, tidying the admin's draft failed", "seq", rev.Seq, "err", err)
					}
				}
				return c.Redirect(http.StatusSeeOther, "/admin/revisions?published="+strconv.FormatInt(rev.Seq, 10))
			}
		} else if ch.Kept, err = a.store.RecentDecisions(ctx, keptForImpact); err != nil {
			return err
		} else if _, pv, verr := a.publisher.Verify(ctx, ch); verr == nil {
			d.Check.Preview = previewView(pv)
			if d.Check.Impact, err = a.impact(ctx, pv, ch.Kept); err != nil {
				return err
			}
			return show(http.StatusOK, d)
		} else {
			err = verr
		}
	}
	if err := a.showProblems(&d.Check, err, src); err != nil {
		return err
	}
	return show(http.StatusUnprocessableEntity, d)
}

// showProblems puts err's problems in check, each with the line of the
// draft it points at; an error that is not about the draft is returned.
func (a *Area) showProblems(check *templates.AdminCheck, err error, draft knowledge.Source) error {
	problems, ok := knowledge.AsProblems(err)
	if !ok {
		return err
	}
	files := publish.Files(draft)
	for _, p := range problems {
		view := templates.AdminProblem{Where: p.File, Message: p.Message}
		if p.Line > 0 {
			view.Where = p.File + ":" + strconv.Itoa(p.Line)
			if lines := splitLines(files[p.File]); p.Line <= len(lines) {
				view.Excerpt = lines[p.Line-1]
			}
		}
		check.Problems = append(check.Problems, view)
	}
	return nil
}

func previewView(pv *publish.Preview) []templates.AdminPreview {
	if pv == nil || len(pv.Draft) == 0 {
		return nil
	}
	var out []templates.AdminPreview
	for _, lang := range locales.Languages {
		view := templates.AdminPreview{Lang: lang, Draft: answerView(pv.Draft[lang])}
		if cur, ok := pv.Current[lang]; ok {
			v := answerView(cur)
			view.Current = &v
		}
		out = append(out, view)
	}
	return out
}

func answerView(r answer.Response) templates.AdminAnswer {
	a := templates.AdminAnswer{Revision: r.PolicyRevision, Outcome: r.Outcome, RuledOut: r.RuledOut}
	for _, f := range r.Findings {
		a.Findings = append(a.Findings, templates.AdminFinding{ID: f.ID, Title: f.Title, Advice: f.Advice})
	}
	for _, q := range r.Questions {
		a.Questions = append(a.Questions, q.Text)
	}
	return a
}

// defaultSample is the sample request an edit form starts with: the
// symptom, if any, and the given facts as unknown (null), for the admin to
// fill in.
func defaultSample(symptom string, facts []string) string {
	type sample struct {
		Symptom string         `json:"symptom,omitempty"`
		Facts   map[string]any `json:"facts"`
	}
	s := sample{Symptom: symptom, Facts: make(map[string]any)}
	for _, f := range facts {
		s.Facts[f] = nil
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return string(b)
}

// formTexts reads a cause's title and advice in every language from the
// form fields title_<lang> and advice_<lang>.
func formTexts(c echo.Context) map[string]publish.CauseTexts {
	texts := make(map[string]publish.CauseTexts)
	for _, lang := range locales.Languages {
		texts[lang] = publish.CauseTexts{
			Title:  publish.NormalizeText(strings.TrimSpace(c.FormValue("title_" + lang))),
			Advice: publish.NormalizeText(strings.TrimSpace(c.FormValue("advice_" + lang))),
		}
	}
	return texts
}

func langTexts(texts map[string]publish.CauseTexts) []templates.AdminLangTexts {
	var out []templates.AdminLangTexts
	for _, lang := range locales.Languages {
		out = append(out, templates.AdminLangTexts{Lang: lang, Title: texts[lang].Title, Advice: texts[lang].Advice})
	}
	return out
}

// handleRevisions lists the published revisions, newest first, each with
// a rollback button.
func (a *Area) handleRevisions(c echo.Context) error {
	return a.renderRevisions(c, http.StatusOK, nil)
}

func (a *Area) renderRevisions(c echo.Context, status int, check *templates.AdminCheck) error {
	revs, err := a.store.Revisions(c.Request().Context(), revisionsShown)
	if err != nil {
		return err
	}
	page := templates.AdminRevisions{
		Shell:   a.shell(c, "AdminRevisionsTitle", "revisions"),
		Current: a.engine.Current().Revision,
	}
	if check != nil {
		page.Check = *check
	}
	if seq, err := strconv.ParseInt(c.QueryParam("published"), 10, 64); err == nil {
		page.Published = seq
	}
	for _, r := range revs {
		page.Revisions = append(page.Revisions, revisionRow(r))
	}
	return web.Render(c, status, templates.AdminRevisionsPage(page))
}

func revisionRow(r store.Revision) templates.AdminRevisionRow {
	return templates.AdminRevisionRow{
		Seq: r.Seq, ID: r.ID, Admin: r.Admin, When: r.PublishedAt.Format(time.RFC3339), Note: r.Note,
	}
}

// handleRevision shows one revision and its diff.
func (a *Area) handleRevision(c echo.Context) error {
	seq, err := strconv.ParseInt(c.Param("seq"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	r, err := a.store.Revision(c.Request().Context(), seq)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	shell := a.shell(c, "AdminRevisionTitle", "revisions")
	shell.Title += " #" + strconv.FormatInt(seq, 10)
	page := templates.AdminRevision{Shell: shell, Row: revisionRow(r), Current: a.engine.Current().Revision, Diff: diffLines(r.Diff)}
	return web.Render(c, http.StatusOK, templates.AdminRevisionPage(page))
}

// diffLines are a unified diff's lines, each with its kind.
func diffLines(diff string) []templates.AdminDiffLine {
	var lines []templates.AdminDiffLine
	for _, line := range splitLines(diff) {
		lines = append(lines, templates.AdminDiffLine{Kind: diffKind(line), Text: line})
	}
	return lines
}

func diffKind(line string) string {
	switch {
	case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
		return "file"
	case strings.HasPrefix(line, "@@"):
		return "hunk"
	case strings.HasPrefix(line, "+"):
		return "add"
	case strings.HasPrefix(line, "-"):
		return "del"
	}
	return ""
}

// handleRollback publishes a stored revision's source again.
func (a *Area) handleRollback(c echo.Context) error {
	seq, err := strconv.ParseInt(c.Param("seq"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	done, busy := a.checks.start(SignedIn(c))
	if busy != nil {
		check := &templates.AdminCheck{Done: true, Problems: []templates.AdminProblem{{Where: "rules", Message: busy.Error()}}}
		return a.renderRevisions(c, http.StatusTooManyRequests, check)
	}
	rev, err := a.publisher.Rollback(c.Request().Context(), seq, SignedIn(c))
	done()
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		check := &templates.AdminCheck{Done: true}
		if err := a.showProblems(check, err, knowledge.Source{}); err != nil {
			return err
		}
		return a.renderRevisions(c, http.StatusUnprocessableEntity, check)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/revisions?published="+strconv.FormatInt(rev.Seq, 10))
}

// handleFeedback shows the help site's feedback counted per page, per
// cause and per revision.
func (a *Area) handleFeedback(c echo.Context) error {
	counts, err := a.store.FeedbackCounts(c.Request().Context())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := a.engine.Current()
	l := locales.NewLocalizer(p.Texts, locales.Lang(ctx))
	page := templates.AdminFeedback{Shell: a.shell(c, "AdminFeedbackTitle", "feedback")}
	for _, fc := range counts.ByPage {
		page.ByPage = append(page.ByPage, countRow(fc, locales.T(ctx, locales.ID("AdminFeedbackPage", fc.Key, ""))))
	}
	for _, fc := range counts.ByCause {
		label := fc.Key
		if _, ok := p.Catalog.Cause(fc.Key); ok {
			label = l.T(locales.CauseTitle(fc.Key))
		}
		page.ByCause = append(page.ByCause, countRow(fc, label))
	}
	for _, fc := range counts.ByRevision {
		page.ByRevision = append(page.ByRevision, countRow(fc, ""))
	}
	return web.Render(c, http.StatusOK, templates.AdminFeedbackPage(page))
}

func countRow(fc store.FeedbackCount, label string) templates.AdminCountRow {
	return templates.AdminCountRow{Key: fc.Key, Label: label, Yes: fc.Yes, Partly: fc.Partly, No: fc.No, Total: fc.Total()}
}

// sortedFiles lists every file of a source as Files names them: modules,
// policies before their tests, then message files.
func sortedFiles(src knowledge.Source) []string {
	var out []string
	for _, file := range publish.PolicyModules(src) {
		out = append(out, file)
		if _, ok := src.Modules[strings.TrimSuffix(file, ".rego")+"_test.rego"]; ok {
			out = append(out, strings.TrimSuffix(file, ".rego")+"_test.rego")
		}
	}
	for _, file := range slices.Sorted(maps.Keys(src.Modules)) {
		if !slices.Contains(out, file) {
			out = append(out, file)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(src.Messages)) {
		out = append(out, path.Join("locales", name))
	}
	return out
}

// isMessageFile reports whether a file, named as publish.Files names it,
// is a message file rather than a Rego module.
func isMessageFile(file string) bool { return strings.HasPrefix(file, "locales/") }

// splitLines splits a text into its lines, without their line ends.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// impactRows bounds the states an impact lists; all are counted.
const impactRows = 50

// keptForImpact is how many of the latest kept decisions a check decides
// again with the draft.
const keptForImpact = 1000

// impact is what a verified draft would change, for the check's page,
// from what the draft answered in the sandbox (pv) on the kept decisions.
func (a *Area) impact(ctx context.Context, pv *publish.Preview, kept []store.Kept) (*templates.AdminImpact, error) {
	im, err := publish.ImpactOf(ctx, a.engine.Current(), pv, kept)
	if err != nil {
		return nil, err
	}
	view := &templates.AdminImpact{StatesChanged: len(im.States), Decisions: im.Decisions, Changed: im.Changed}
	for i, st := range im.States {
		if i == impactRows {
			break
		}
		view.States = append(view.States, templates.AdminStateChange{Where: st.Path, Before: verdictText(st.Before), After: verdictText(st.After)})
	}
	for _, ex := range im.Examples {
		view.Examples = append(view.Examples, templates.AdminStateChange{Where: ex.Reference, Before: verdictText(ex.Before), After: verdictText(ex.After)})
	}
	return view, nil
}

// verdictText is an outcome and its findings, as ids: "—" for a state the
// rules do not reach.
func verdictText(v publish.Verdict) string {
	if v.Outcome == "" {
		return "—"
	}
	if len(v.Findings) == 0 {
		return v.Outcome
	}
	return v.Outcome + ": " + strings.Join(v.Findings, ", ")
}
