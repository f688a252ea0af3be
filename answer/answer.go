// Package answer is Acceso's domain core: from a request to an answer. It
// reads a request strictly, asks the rules of one policy for a decision and
// words that decision in the contact's language, and says what went wrong
// with error codes every surface shares. Service is the one path to an
// answer: the API, the help site, the admin look-up, the decisions API and
// the command line all answer through it, so they can never disagree and
// are bounded, counted and kept alike; none of them decides a cause (the
// rules do) and none of them speaks HTTP here (the server maps codes to
// statuses).
package answer

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
)

// MaxBody is the largest request body read (64 KiB).
const MaxBody = 64 << 10

// Response is a decision made readable in one language: the body of a
// successful POST /api/v1/evaluate, and what `acceso diagnose` prints.
type Response struct {
	DecisionID     string `json:"decision_id"`
	Reference      string `json:"reference"`
	PolicyRevision string `json:"policy_revision"`
	Lang           string `json:"lang"`
	// Topic is the topic that answered, left out for the default topic,
	// whose answers are word for word those of before there were topics.
	Topic     string     `json:"topic,omitempty"`
	Symptoms  []string   `json:"symptoms"`
	Outcome   string     `json:"outcome"`
	Findings  []Finding  `json:"findings"`
	RuledOut  []string   `json:"ruled_out"`
	ToTry     []ToTry    `json:"to_try"`
	Questions []Question `json:"questions"`
}

// ToTry is an open cause whose advice a contact can follow without knowing
// whether it applies (look in the spam folder, turn off the VPN), with its
// title and advice worded as a thing to try and the article section that
// explains it.
type ToTry struct {
	ID         string `json:"id"`
	Symptom    string `json:"symptom"`
	Title      string `json:"title"`
	Advice     string `json:"advice"`
	ArticleURL string `json:"article_url"`
}

// Finding is a likely cause with its texts and the article section that
// explains it.
type Finding struct {
	ID         string   `json:"id"`
	Symptom    string   `json:"symptom"`
	Title      string   `json:"title"`
	Advice     string   `json:"advice"`
	Because    []string `json:"because"`
	ArticleURL string   `json:"article_url"`
}

// Question is a fact still worth asking about, in the answer's language:
// the question, the kind of answer, who can answer it (contact or admin)
// and how they check.
type Question struct {
	Fact    string `json:"fact"`
	Text    string `json:"text"`
	Type    string `json:"type"`
	AskedOf string `json:"asked_of"`
	Help    string `json:"help"`
}

// TryAdvice is a cause's advice as a thing to try, worded for a contact
// who does not know whether the cause applies; a cause without that text
// (added by an admin who wrote only its advice) offers its advice.
func TryAdvice(l locales.Localizer, cause string) string {
	if s := l.T(locales.CauseTryAdvice(cause)); s != locales.CauseTryAdvice(cause) {
		return s
	}
	return l.T(locales.CauseAdvice(cause))
}

// TryTitle is a cause's title as a thing to try ("Look in your spam
// folder"), or its title when it has none.
func TryTitle(l locales.Localizer, cause string) string {
	if s := l.T(locales.CauseTryTitle(cause)); s != locales.CauseTryTitle(cause) {
		return s
	}
	return l.T(locales.CauseTitle(cause))
}

// TopicPath is where a topic's pages are under /{lang}: the default
// topic's at the addresses of before there were topics (/es/article), ""
// here; any other's under its name (/es/notifications/article), here
// "/notifications".
func TopicPath(c knowledge.Catalog, topic string) string {
	if topic == "" || topic == c.Default() {
		return ""
	}
	return "/" + topic
}

// ArticleURL is the address of the article section that explains a cause,
// in the article of its topic.
func ArticleURL(c knowledge.Catalog, lang, cause string) string {
	return "/" + lang + TopicPath(c, c.TopicOfCause(cause)) + "/article#" + cause
}

// Evaluate decides a validated request under p and answers in lang, with
// no slot, deadline, reference, keeping or counting: for rules that are
// not served (a draft's preview, a publish's impact). An answer to a
// contact or a support agent goes through Service instead.
func Evaluate(ctx context.Context, p *rules.Policy, req knowledge.Request, lang string) (Response, error) {
	d, err := p.Evaluate(ctx, req)
	if err != nil {
		return Response{}, As(err)
	}
	return NewResponse(p, d, lang), nil
}

// NewResponse words a decision with the texts of the policy that made it.
// It gives it no reference: Service.Answer and Turn.Finish draw one, once
// (kept, shown before, or random).
func NewResponse(p *rules.Policy, d knowledge.Decision, lang string) Response {
	l := locales.NewLocalizer(p.Texts, lang)
	r := Response{
		DecisionID:     newDecisionID(),
		PolicyRevision: d.Revision,
		Lang:           lang,
		Topic:          strings.TrimPrefix(TopicPath(p.Catalog, d.Topic), "/"),
		Symptoms:       d.Symptoms,
		Outcome:        d.Outcome,
		Findings:       make([]Finding, 0, len(d.Findings)),
		RuledOut:       d.RuledOut,
		ToTry:          make([]ToTry, 0, len(d.ToTry)),
		Questions:      make([]Question, 0, len(d.Questions)),
	}
	for _, f := range d.Findings {
		r.Findings = append(r.Findings, Finding{
			ID:         f.ID,
			Symptom:    f.Symptom,
			Title:      l.T(locales.CauseTitle(f.ID)),
			Advice:     l.T(locales.CauseAdvice(f.ID)),
			Because:    f.Because,
			ArticleURL: ArticleURL(p.Catalog, lang, f.ID),
		})
	}
	for _, id := range d.ToTry {
		cause, _ := p.Catalog.Cause(id)
		r.ToTry = append(r.ToTry, ToTry{
			ID:         id,
			Symptom:    cause.Symptom,
			Title:      TryTitle(l, id),
			Advice:     TryAdvice(l, id),
			ArticleURL: ArticleURL(p.Catalog, lang, id),
		})
	}
	for _, q := range d.Questions {
		r.Questions = append(r.Questions, Question{
			Fact:    q.Fact,
			Text:    l.T(locales.Question(q.Fact)),
			Type:    q.Type,
			AskedOf: q.AskedOf,
			Help:    l.T(locales.QuestionHelp(q.Fact)),
		})
	}
	return r
}

// newDecisionID returns a time-ordered unique id (UUIDv7), so that decision
// log lines sort by time.
func newDecisionID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// ErrorBody is the JSON body of every API error, and what `acceso
// diagnose` prints on bad input.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's code, message and the fields at fault.
type ErrorDetail struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details []FieldError `json:"details,omitempty"`
}

// Body is err as the API's error body. A defect says no more than
// "internal error"; its text is for the log.
func Body(err error) ErrorBody {
	e := As(err)
	return ErrorBody{ErrorDetail{Code: e.Code, Message: e.Message, Details: e.Details}}
}
