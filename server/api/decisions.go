package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/web"
	"acceso/store"
)

// KeptDecision is the body of GET /api/v1/decisions/{reference} and of its
// continue: a kept decision worded in one language, for a support desk's
// ticket app. Reference, DecidedAt, Source, PolicyRevision and Symptom are
// the kept decision's; Answers are the facts it was made on (never a
// personal one) and, after a continue, the support agent's answers;
// Outcome and Findings are the kept decision's, or after a continue the
// continued decision's; ToTry is what the contact can still try, as the
// rules decide it now; Questions are those only an admin can answer that
// are still open, with how to check them.
type KeptDecision struct {
	Reference      string            `json:"reference"`
	DecidedAt      time.Time         `json:"decided_at"`
	Source         string            `json:"source"`
	PolicyRevision string            `json:"policy_revision"`
	Lang           string            `json:"lang"`
	Symptom        *DecisionSymptom  `json:"symptom"`
	Answers        []DecisionAnswer  `json:"answers"`
	Outcome        string            `json:"outcome"`
	Findings       []DecisionCause   `json:"findings"`
	ToTry          []answer.ToTry    `json:"to_try"`
	Questions      []answer.Question `json:"questions"`
	// ContinuedRevision is the revision of the rules that continued the
	// decision (a continue only).
	ContinuedRevision string `json:"continued_revision,omitempty"`
}

// DecisionSymptom is the symptom the contact chose, with its title; a
// decision about every symptom has none.
type DecisionSymptom struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// DecisionAnswer is one fact a decision was made on: its question, who
// answered it, its value and that value in words.
type DecisionAnswer struct {
	Fact     string `json:"fact"`
	Question string `json:"question"`
	AskedOf  string `json:"asked_of"`
	Value    any    `json:"value"`
	Answer   string `json:"answer"`
}

// DecisionCause is a cause of a decision, worded: what it is, what to do
// and the article section that explains it.
type DecisionCause struct {
	ID         string `json:"id"`
	Symptom    string `json:"symptom"`
	Title      string `json:"title"`
	Advice     string `json:"advice"`
	ArticleURL string `json:"article_url"`
}

// handleDecision answers GET /api/v1/decisions/{reference}: the decision
// kept under the reference, as typed, in the language ?lang= or
// Accept-Language asks for, with the questions only an admin can answer
// that are still open. The key and its scope were checked before
// (requireScope), so a caller without the scope never learns whether the
// reference exists.
func (s *Server) handleDecision(c echo.Context) error {
	r := c.Request()
	lang := locales.Negotiate(c.QueryParam("lang"), r.Header.Get("Accept-Language"))
	view, err := s.continueKept(c, nil, lang)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

// handleDecisionContinue answers POST
// /api/v1/decisions/{reference}/continue: the support agent's answers to
// the questions only an admin can answer, in a body read as strictly as
// an evaluate request's ({"lang": …, "facts": {…}}), decide the kept
// decision again, on the admin look-up's own path (web.Kept.Continue).
func (s *Server) handleDecisionContinue(c echo.Context) error {
	body, err := readJSON(c.Request())
	if err != nil {
		return err
	}
	p := s.engine.Current()
	req, err := answer.Decode(p.Catalog, body)
	if err != nil {
		return err
	}
	var problems []answer.FieldError
	if req.Symptom != "" {
		problems = append(problems, answer.FieldError{Field: "symptom", Problem: "the kept decision's symptom stands: leave it out"})
	}
	var admins []string
	for _, f := range p.Catalog.Facts {
		if f.AskedOf == knowledge.AskedOfAdmin {
			admins = append(admins, f.Name)
		}
	}
	for name := range req.Facts {
		if f, _ := p.Catalog.Fact(name); f.AskedOf != knowledge.AskedOfAdmin {
			problems = append(problems, answer.FieldError{Field: "facts." + name,
				Problem: "only what an admin checks can be answered here: " + strings.Join(admins, ", ")})
		}
	}
	if len(problems) > 0 {
		slices.SortFunc(problems, func(a, b answer.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return answer.Invalid(problems...)
	}
	lang := locales.Negotiate(req.Lang, c.QueryParam("lang"), c.Request().Header.Get("Accept-Language"))
	if req.Facts == nil {
		req.Facts = map[string]any{}
	}
	view, err := s.continueKept(c, req.Facts, lang)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

// continueKept finds the decision the path's reference names and words
// it in lang: as kept when answers is nil (a read), else continued with
// answers, even none (a continue).
func (s *Server) continueKept(c echo.Context, answers map[string]any, lang string) (KeptDecision, error) {
	ref, ok := knowledge.NormalizeReference(c.Param("reference"))
	if !ok {
		return KeptDecision{}, &answer.Error{Code: answer.CodeBadRequest,
			Message: "not a reference: want the 8 characters a contact quotes, such as K7M4-QX2P (case, spaces and the dash do not matter)",
			Details: []answer.FieldError{{Field: "reference", Problem: "must be 8 of the characters " + knowledge.ReferenceAlphabet}}}
	}
	ctx := c.Request().Context()
	p := s.engine.Current()
	dec, err := s.kept.Find(ctx, p, ref)
	if errors.Is(err, store.ErrNotFound) {
		return KeptDecision{}, answer.Errorf(answer.CodeNotFound, "no decision is kept under this reference: it was never made, or is older than the retention and was purged")
	}
	if err != nil {
		return KeptDecision{}, err
	}
	// Continuing evaluates the rules, through the answer service as an
	// evaluate request does (slot, deadline, counted).
	now, err := s.kept.Continue(ctx, "decisions", p, dec, answers, lang)
	if err != nil {
		return KeptDecision{}, err
	}
	return decisionView(p, dec, answers, now, lang), nil
}

// decisionView words the kept decision dec in lang with p's texts; now is
// dec continued with answers. With answers nil (a read), the outcome and
// findings are the kept ones; otherwise (a continue, even with no answer)
// they are now's.
func decisionView(p *rules.Policy, dec store.Kept, answers map[string]any, now answer.Response, lang string) KeptDecision {
	l := locales.NewLocalizer(p.Texts, lang)
	view := KeptDecision{
		Reference: dec.Reference, DecidedAt: dec.At.UTC(), Source: dec.Source, PolicyRevision: dec.Revision, Lang: lang,
		Answers: []DecisionAnswer{}, Outcome: dec.Outcome, Questions: []answer.Question{},
	}
	if dec.Symptom != "" {
		view.Symptom = &DecisionSymptom{ID: dec.Symptom, Title: l.T(locales.SymptomTitle(dec.Symptom))}
	}
	for _, f := range p.Catalog.Facts {
		v, ok := answers[f.Name]
		if !ok {
			v, ok = dec.Facts[f.Name]
		}
		if ok && !f.Personal {
			view.Answers = append(view.Answers, DecisionAnswer{Fact: f.Name, Question: l.T(locales.Question(f.Name)),
				AskedOf: f.AskedOf, Value: v, Answer: web.FactText(l, f, v)})
		}
	}
	findings := dec.Findings
	if answers != nil {
		view.Outcome, view.ContinuedRevision = now.Outcome, now.PolicyRevision
		findings = findings[:0:0]
		for _, f := range now.Findings {
			findings = append(findings, f.ID)
		}
	}
	view.Findings = wordCauses(p, l, lang, findings)
	// What the contact can still try is the rules' answer now, with the
	// answers known, already worded in lang.
	view.ToTry = append([]answer.ToTry{}, now.ToTry...)
	for _, q := range now.Questions {
		if q.AskedOf == knowledge.AskedOfAdmin {
			view.Questions = append(view.Questions, q)
		}
	}
	return view
}

// wordCauses words the causes ids in lang with p's texts.
func wordCauses(p *rules.Policy, l locales.Localizer, lang string, ids []string) []DecisionCause {
	out := make([]DecisionCause, 0, len(ids))
	for _, id := range ids {
		symptom := ""
		if cause, ok := p.Catalog.Cause(id); ok {
			symptom = cause.Symptom
		}
		out = append(out, DecisionCause{ID: id, Symptom: symptom,
			Title: l.T(locales.CauseTitle(id)), Advice: l.T(locales.CauseAdvice(id)), ArticleURL: answer.ArticleURL(p.Catalog, lang, id)})
	}
	return out
}
