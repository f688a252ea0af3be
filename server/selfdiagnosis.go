package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/answer"
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
	d, err := parseQuery(p.Catalog, c.QueryParams())
	if err != nil {
		return err
	}
	target := d.path(lang)
	if d.symptom != "" {
		st, err := s.settle(ctx, p, d, lang)
		if err != nil {
			return err
		}
		target = st.d.path(lang)
	}
	if c.QueryParam("thanks") == "1" {
		target += "?thanks=1"
	}
	return c.Redirect(http.StatusMovedPermanently, target)
}

// handleDiagnose is one state of the self-diagnosis, at its canonical path
// (see diagnosis.go). The engine, through answer.Evaluate as for the API,
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
	d, err := parsePath(p.Catalog, strings.Split(c.Param("*"), "/"))
	if err != nil {
		return err
	}
	thanks := c.QueryParam("thanks") == "1"
	if d.symptom == "" {
		if c.Request().URL.Path != d.path(lang) {
			return c.Redirect(http.StatusMovedPermanently, d.path(lang))
		}
		return render(c, http.StatusOK, templates.Diagnose(templates.DiagnosePage{
			Shell:        s.shell(ctx, p, locales.T(ctx, "DiagnoseTitle"), "diagnose/", "diagnose"),
			StartOverURL: d.path(lang),
			Symptoms:     symptomLinks(p.Catalog, lang),
		}))
	}
	start := time.Now()
	st, err := s.settle(ctx, p, d, lang)
	if err != nil {
		return err
	}
	if want := st.d.path(lang); c.Request().URL.Path != want {
		if thanks {
			want += "?thanks=1"
		}
		return c.Redirect(http.StatusMovedPermanently, want)
	}
	s.recordDecision(ctx, "site", st.resp, time.Since(start))
	if st.next == nil {
		s.keepDecision(ctx, "site", p, st.d.request(), st.resp)
	}
	page := s.diagnosePage(ctx, p, st, CSRFToken(c), thanks)
	return render(c, http.StatusOK, templates.Diagnose(page))
}

// state is a settled self-diagnosis: the answers that apply, the engine's
// answer for them, and the next question for the contact (nil at the end).
type state struct {
	d    diagnosis
	resp answer.Response
	next *answer.Question
}

// settle replays a diagnosis through the engine: from no answer, it takes
// the engine's first question that a contact can answer and that has no
// answer yet; while the diagnosis answers it, the answer is kept and the
// engine asked again. Answers to questions the engine no longer asks are
// dropped. Each step is one evaluation, as many as there are answers kept,
// plus one, all in one of the bounded evaluation slots (shed.go).
func (s *Server) settle(ctx context.Context, p *rules.Policy, d diagnosis, lang string) (state, error) {
	release, err := s.acquireEvaluation(ctx)
	if err != nil {
		return state{}, err
	}
	defer release()
	kept := diagnosis{symptom: d.symptom}
	for {
		resp, err := s.evaluate(ctx, p, kept, lang)
		if err != nil {
			return state{}, err
		}
		q, ok := nextQuestion(p.Catalog, kept, resp.Questions)
		if !ok {
			return state{d: kept, resp: resp}, nil
		}
		a, answered := d.replyTo(q.Fact)
		if !answered {
			return state{d: kept, resp: resp, next: &q}, nil
		}
		kept = kept.with(a)
	}
}

// nextQuestion is the first of the engine's questions that a contact can
// answer and that d has no answer to: the engine asks again about facts
// answered "I don't know", the site does not.
func nextQuestion(cat rules.Catalog, d diagnosis, questions []answer.Question) (answer.Question, bool) {
	for _, q := range questions {
		if f, _ := cat.Fact(q.Fact); f.AskedOf == rules.AskedOfContact && !d.answered(q.Fact) {
			return q, true
		}
	}
	return answer.Question{}, false
}

// evaluate runs p's rules on a diagnosis, in lang, as the API does. An
// evaluation that fails is counted and logged.
func (s *Server) evaluate(ctx context.Context, p *rules.Policy, d diagnosis, lang string) (answer.Response, error) {
	start := time.Now()
	resp, err := answer.Evaluate(ctx, p, d.request(), lang)
	if err != nil {
		s.evaluationFailed(ctx, err, time.Since(start))
		return answer.Response{}, err
	}
	return resp, nil
}

// diagnosePage is the view of a settled diagnosis: the findings so far,
// the next question with its progress and its answers as links, or, at the
// end, the outcome, the handoff and the feedback form; and the answers so
// far, each with a link to the state where it is asked again.
func (s *Server) diagnosePage(ctx context.Context, p *rules.Policy, st state, csrfToken string, thanks bool) templates.DiagnosePage {
	lang := locales.Lang(ctx)
	here := st.d.path(lang)
	page := templates.DiagnosePage{
		Shell:        s.shell(ctx, p, locales.T(ctx, locales.SymptomTitle(st.d.symptom))+" · "+locales.T(ctx, "DiagnoseTitle"), strings.TrimPrefix(here, "/"+lang+"/"), "diagnose"),
		StartOverURL: diagnosis{}.path(lang),
		Symptom:      st.d.symptom,
	}
	causes := make([]string, 0, len(st.resp.Findings))
	for _, f := range st.resp.Findings {
		page.Findings = append(page.Findings, templates.DiagnoseFinding{Title: f.Title, Advice: f.Advice, URL: f.ArticleURL})
		causes = append(causes, f.ID)
	}
	for _, a := range st.d.answers {
		page.Answers = append(page.Answers, templates.DiagnoseAnswer{Fact: a.fact, Labels: a.labels(), ChangeURL: st.d.upTo(a.fact).path(lang)})
	}
	if st.next != nil {
		page.Question = s.questionView(p.Catalog, st, lang)
		return page
	}
	page.Outcome = &templates.DiagnoseOutcome{Title: "DiagnoseEndedTitle", Advice: "DiagnoseEndedAdvice"}
	switch {
	case len(st.resp.Findings) > 0:
		page.Outcome.Title, page.Outcome.Advice = "DiagnoseDoneTitle", "DiagnoseDoneAdvice"
	case st.resp.Outcome == rules.OutcomeNoKnownCause:
		page.Outcome.Title, page.Outcome.Advice = "OutcomeNoKnownCauseTitle", "OutcomeNoKnownCauseAdvice"
	}
	page.Handoff = &templates.Handoff{Reference: st.resp.Reference, SupportURL: s.cfg.SupportURL, SupportEmail: s.cfg.SupportEmail}
	for _, q := range st.resp.Questions {
		if q.AskedOf == rules.AskedOfAdmin {
			page.Handoff.AdminChecks = append(page.Handoff.AdminChecks, templates.AdminCheckItem{Text: q.Text, Help: q.Help})
		}
	}
	page.Feedback = &templates.FeedbackForm{
		Action:    "/" + lang + "/feedback",
		CSRFField: csrfField,
		CSRFToken: csrfToken,
		Page:      store.PageDiagnose,
		Causes:    strings.Join(causes, " "),
		Revision:  st.resp.PolicyRevision,
		Back:      here,
		Reactions: store.Reactions,
		Thanks:    thanks,
	}
	return page
}

// questionView is the next question of a settled diagnosis: its texts,
// its answers as links to the states they lead to, and its progress (its
// number, and the most there can be: the answers so far, this question and
// the contact's questions the engine still has).
func (s *Server) questionView(cat rules.Catalog, st state, lang string) *templates.DiagnoseQuestion {
	q := st.next
	f, _ := cat.Fact(q.Fact)
	v := &templates.DiagnoseQuestion{Fact: q.Fact, Text: q.Text, Help: q.Help, Step: len(st.d.answers) + 1}
	v.Of = v.Step
	for _, other := range st.resp.Questions {
		if other.Fact != q.Fact && other.AskedOf == rules.AskedOfContact && !st.d.answered(other.Fact) {
			v.Of++
		}
	}
	for _, o := range options(f) {
		v.Options = append(v.Options, templates.AnswerLink{URL: st.d.with(o.reply).path(lang), Labels: o.labels})
	}
	return v
}

// diagnosisOfPath reads the diagnosis of a canonical path in lang, as a
// feedback form sends it back.
func diagnosisOfPath(cat rules.Catalog, lang, path string) (diagnosis, error) {
	rest, ok := strings.CutPrefix(path, diagnosis{}.path(lang))
	if !ok {
		return diagnosis{}, answer.BadField("back")
	}
	d, err := parsePath(cat, strings.Split(rest, "/"))
	if err != nil || d.symptom == "" {
		return diagnosis{}, answer.BadField("back")
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
	})
}
