package server

import (
	"fmt"
	"net/url"
	"slices"

	"acceso/answer"
	"acceso/locales"
	"acceso/rules"
	"acceso/templates"
)

// The self-diagnosis as its URL carries it. The codec here is pure: it
// reads a query string into a diagnosis and writes one back, and turns a
// diagnosis into the rules' request and into the next question's form.

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
	answers []reply
}

// reply is the answer to the question about one fact: "yes", "no" or
// "unknown" for a yes/no question; for a multiple choice the options
// ticked (maybe none), or "unknown".
type reply struct {
	fact     string
	multiple bool
	values   []string
}

func (a reply) unknown() bool { return len(a.values) == 1 && a.values[0] == answerUnknown }

// labels are the message ids of the answer's labels.
func (a reply) labels(cat rules.Catalog) []string {
	switch {
	case a.unknown():
		return []string{"AnswerUnknown"}
	case a.multiple:
		ids := make([]string, 0, len(a.values))
		for _, opt := range choicesOf(cat, a.fact) {
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
// parameters are ignored. An invalid value is a bad_request naming it.
func parseDiagnosis(cat rules.Catalog, q url.Values) (diagnosis, error) {
	var d diagnosis
	d.symptom = q.Get("symptom")
	if d.symptom == "" {
		return diagnosis{}, nil
	}
	if !slices.Contains(cat.Symptoms, d.symptom) {
		return diagnosis{}, answer.BadField("symptom")
	}
	for _, fact := range askedFacts(cat, d.symptom) {
		values, ok := q[fact]
		if !ok {
			continue
		}
		f, _ := cat.Fact(fact)
		a := reply{fact: fact, multiple: f.Type == rules.TypeChoices}
		switch {
		case slices.Contains(values, answerUnknown):
			a.values = []string{answerUnknown}
		case a.multiple:
			a.values = []string{}
			for _, opt := range choicesOf(cat, fact) {
				if slices.Contains(values, opt.Value) {
					a.values = append(a.values, opt.Value)
				}
			}
			for _, v := range values {
				if v != "" && !slices.Contains(a.values, v) {
					return diagnosis{}, answer.BadField(fact)
				}
			}
		case len(values) == 1 && (values[0] == answerYes || values[0] == answerNo):
			a.values = values
		default:
			return diagnosis{}, answer.BadField(fact)
		}
		d.answers = append(d.answers, a)
	}
	return d, nil
}

// askedFacts are the facts the site asks a contact about a symptom, in the
// declared asking order: those the symptom's causes rest on that a contact
// can answer. What only an admin can check is never asked here.
func askedFacts(cat rules.Catalog, symptom string) []string {
	var facts []string
	for _, f := range cat.Facts {
		if f.AskedOf != rules.AskedOfContact {
			continue
		}
		if slices.ContainsFunc(cat.Causes, func(c rules.Cause) bool {
			return c.Symptom == symptom && slices.Contains(c.Facts, f.Name)
		}) {
			facts = append(facts, f.Name)
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
	return slices.ContainsFunc(d.answers, func(a reply) bool { return a.fact == fact })
}

// next is the first of the engine's questions that a contact can answer
// and has not answered yet: the engine asks again about facts answered "I
// don't know", the page does not.
func (d diagnosis) next(cat rules.Catalog, questions []answer.Question) (answer.Question, bool) {
	for _, q := range questions {
		if f, _ := cat.Fact(q.Fact); f.AskedOf == rules.AskedOfContact && !d.answered(q.Fact) {
			return q, true
		}
	}
	return answer.Question{}, false
}

// form is the question about q as a form that sends the answer to action
// along with the answers so far.
func (d diagnosis) form(cat rules.Catalog, q answer.Question, action string) (*templates.DiagnoseQuestion, error) {
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
	if q.Type == rules.QuestionMultipleChoice {
		f.Choices = choicesOf(cat, q.Fact)
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
// message id of its label, as the fact's declaration lists them.
func choicesOf(cat rules.Catalog, fact string) []templates.Option {
	f, _ := cat.Fact(fact)
	opts := make([]templates.Option, len(f.Choices))
	for i, v := range f.Choices {
		opts[i] = templates.Option{Value: v, Label: locales.Choice(fact, v)}
	}
	return opts
}
