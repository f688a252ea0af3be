package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/flow"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/store"
	"acceso/templates"
)

// handleDiagnoseQuery answers part 1's URLs of the self-diagnosis
// (/{lang}/diagnose?symptom=…&fact=value): 301 to the canonical path of the
// same state.
func (s *Server) handleDiagnoseQuery(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	d, err := flow.ParseQuery(p.Catalog, c.QueryParams())
	if err != nil {
		return err
	}
	target := d.Path(lang)
	if d.Symptom != "" {
		st, err := s.settle(ctx, p, d, lang)
		if err != nil {
			return err
		}
		target = st.Diagnosis.Path(lang)
	}
	if c.QueryParam("thanks") == "1" {
		target += "?thanks=1"
	}
	return c.Redirect(http.StatusMovedPermanently, target)
}

// handleDiagnose is one state of the self-diagnosis, at its canonical path
// (see flow/diagnosis.go). The engine, as for the API,
// says what is likely and what to ask next; the page asks the contact only
// what a contact can answer, one question at a time, each answer a link to
// the next state. Answers that no longer apply, or that come in another
// order, lead (301) to the canonical path of the state they amount to. When
// no question is left for the contact, the page shows the outcome and the
// handoff: the reference, what the administrator should check and whom to
// ask.
func (s *Server) handleDiagnose(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	d, err := flow.ParsePath(p.Catalog, strings.Split(c.Param("*"), "/"))
	if err != nil {
		return err
	}
	thanks := c.QueryParam("thanks") == "1"
	if d.Symptom == "" {
		if c.Request().URL.Path != d.Path(lang) {
			return c.Redirect(http.StatusMovedPermanently, d.Path(lang))
		}
		return render(c, http.StatusOK, templates.Diagnose(templates.DiagnosePage{
			Shell:        s.shell(ctx, p, locales.T(ctx, "DiagnoseTitle"), "diagnose/", "diagnose"),
			StartOverURL: d.Path(lang),
			Symptoms:     symptomLinks(p.Catalog, lang),
		}))
	}
	start := time.Now()
	st, err := s.settle(ctx, p, d, lang)
	if err != nil {
		return err
	}
	if want := st.Diagnosis.Path(lang); c.Request().URL.Path != want {
		if thanks {
			want += "?thanks=1"
		}
		return c.Redirect(http.StatusMovedPermanently, want)
	}
	s.recordDecision(ctx, "site", st.Response, time.Since(start))
	if !thanks {
		s.countStep(st)
	}
	if st.Next == nil {
		s.keepDecision(ctx, "site", p, st.Diagnosis.Request(), st.Response)
	}
	page := s.diagnosePage(ctx, p, st, CSRFToken(c), thanks)
	return render(c, http.StatusOK, templates.Diagnose(page))
}

// settle is flow.Settle with the server's evaluation (counted, logged),
// all in one of the bounded evaluation slots (shed.go).
func (s *Server) settle(ctx context.Context, p *rules.Policy, d flow.Diagnosis, lang string) (flow.State, error) {
	release, err := s.acquireEvaluation(ctx)
	if err != nil {
		return flow.State{}, err
	}
	defer release()
	return flow.Settle(ctx, s.evaluate, p, d, lang)
}

// evaluate decides a request under p, as the API does. An evaluation that
// fails is counted and logged.
func (s *Server) evaluate(ctx context.Context, p *rules.Policy, req rules.Request) (rules.Decision, error) {
	start := time.Now()
	d, err := p.Evaluate(ctx, req)
	if err != nil {
		s.evaluationFailed(ctx, p.Revision, err, time.Since(start))
		return rules.Decision{}, answer.As(err)
	}
	return d, nil
}

// diagnosePage is the view of a settled diagnosis: the findings so far,
// the next question with its progress and its answers as links, or, at the
// end, the outcome, the handoff and the feedback form; and the answers so
// far, each with a link to the state where it is asked again.
func (s *Server) diagnosePage(ctx context.Context, p *rules.Policy, st flow.State, csrfToken string, thanks bool) templates.DiagnosePage {
	lang := locales.Lang(ctx)
	here := st.Diagnosis.Path(lang)
	shell := s.shell(ctx, p, locales.T(ctx, locales.SymptomTitle(st.Diagnosis.Symptom))+" · "+locales.T(ctx, "DiagnoseTitle"), strings.TrimPrefix(here, "/"+lang+"/"), "diagnose")
	shell.Description = locales.T(ctx, locales.SymptomDescription(st.Diagnosis.Symptom))
	page := templates.DiagnosePage{
		Shell:        shell,
		StartOverURL: flow.Diagnosis{}.Path(lang),
		Symptom:      st.Diagnosis.Symptom,
	}
	causes := make([]string, 0, len(st.Response.Findings))
	for _, f := range st.Response.Findings {
		page.Findings = append(page.Findings, templates.DiagnoseFinding{Title: f.Title, Advice: f.Advice, URL: f.ArticleURL})
		causes = append(causes, f.ID)
	}
	for _, a := range st.Diagnosis.Answers {
		page.Answers = append(page.Answers, templates.DiagnoseAnswer{Fact: a.Fact, Labels: a.Labels(), ChangeURL: st.Diagnosis.UpTo(a.Fact).Path(lang)})
	}
	if st.Next != nil {
		page.Question = s.questionView(p.Catalog, st, lang)
		return page
	}
	page.Outcome = &templates.DiagnoseOutcome{Title: "DiagnoseEndedTitle", Advice: "DiagnoseEndedAdvice"}
	switch {
	case len(st.Response.Findings) > 0:
		page.Outcome.Title, page.Outcome.Advice = "DiagnoseDoneTitle", "DiagnoseDoneAdvice"
	case st.Response.Outcome == rules.OutcomeNoKnownCause:
		page.Outcome.Title, page.Outcome.Advice = "OutcomeNoKnownCauseTitle", "OutcomeNoKnownCauseAdvice"
	}
	ref := st.Response.Reference
	if s.cfg.Static {
		ref = flow.StateReference(st.Response.PolicyRevision, st.Diagnosis)
	}
	page.Handoff = &templates.Handoff{Reference: ref, SupportURL: s.cfg.SupportURL, SupportEmail: s.cfg.SupportEmail}
	for _, q := range st.Response.Questions {
		if q.AskedOf == rules.AskedOfAdmin {
			page.Handoff.AdminChecks = append(page.Handoff.AdminChecks, templates.AdminCheckItem{Text: q.Text, Help: q.Help})
		}
	}
	page.Feedback = s.feedbackForm(here, templates.FeedbackForm{
		Action:    "/" + lang + "/feedback",
		CSRFToken: csrfToken,
		Page:      store.PageDiagnose,
		Causes:    strings.Join(causes, " "),
		Revision:  st.Response.PolicyRevision,
		Back:      here,
		Reference: ref,
		Reactions: store.Reactions,
		Thanks:    thanks,
	})
	return page
}

// questionView is the next question of a settled diagnosis: its texts,
// its answers as links to the states they lead to, and its progress (its
// number, and the most there can be: the answers so far, this question and
// the contact's questions the engine still has).
func (s *Server) questionView(cat rules.Catalog, st flow.State, lang string) *templates.DiagnoseQuestion {
	q := st.Next
	f, _ := cat.Fact(q.Fact)
	v := &templates.DiagnoseQuestion{Fact: q.Fact, Text: q.Text, Help: q.Help, Step: len(st.Diagnosis.Answers) + 1}
	v.Of = v.Step
	for _, other := range st.Response.Questions {
		if other.Fact != q.Fact && other.AskedOf == rules.AskedOfContact && !st.Diagnosis.Answered(other.Fact) {
			v.Of++
		}
	}
	for _, o := range flow.Options(f) {
		v.Options = append(v.Options, templates.AnswerLink{URL: st.Diagnosis.With(o.Reply).Path(lang), Labels: o.Labels})
	}
	return v
}

// diagnosisOfPath reads the diagnosis of a canonical path in lang, as a
// feedback form sends it back.
func diagnosisOfPath(cat rules.Catalog, lang, path string) (flow.Diagnosis, error) {
	rest, ok := strings.CutPrefix(path, flow.Diagnosis{}.Path(lang))
	if !ok {
		return flow.Diagnosis{}, answer.BadField("back")
	}
	d, err := flow.ParsePath(cat, strings.Split(rest, "/"))
	if err != nil || d.Symptom == "" {
		return flow.Diagnosis{}, answer.BadField("back")
	}
	return d, nil
}

// keepDecision stores a decision for its reference: source, revision,
// symptom, the non-personal facts, findings and outcome; never a personal
// fact. Writes are batched off the request path (store.DecisionWriter).
func (s *Server) keepDecision(ctx context.Context, source string, p *rules.Policy, req rules.Request, r answer.Response) {
	if s.decisions == nil {
		return
	}
	findings := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		findings[i] = f.ID
	}
	facts := make(map[string]any, len(req.Facts))
	for name, v := range req.Facts {
		if f, ok := p.Catalog.Fact(name); ok && !f.Personal {
			facts[name] = v
		}
	}
	s.decisions.Add(store.Decision{
		Reference: r.Reference,
		At:        s.now().UTC(),
		Source:    source,
		Revision:  r.PolicyRevision,
		Symptom:   req.Symptom,
		Facts:     facts,
		Findings:  findings,
		Outcome:   r.Outcome,
		ToTry:     0, // INSIGHTS PLUG: len(r.ToTry) once the answer has to_try (issue 18)
	})
}

// feedbackForm is the feedback form of the page at path: the form itself
// on the live site; in the static export, a link to the page on the live
// site when its address is known, else nothing.
func (s *Server) feedbackForm(path string, f templates.FeedbackForm) *templates.FeedbackForm {
	if !s.cfg.Static {
		return &f
	}
	if s.cfg.BaseURL == "" {
		return nil
	}
	return &templates.FeedbackForm{Link: strings.TrimSuffix(s.cfg.BaseURL, "/") + path}
}
