package server

import (
	"net/url"
	"slices"
	"strings"

	"acceso/answer"
	"acceso/locales"
	"acceso/rules"
)

// The self-diagnosis as its URL carries it. Each state has one canonical
// path, the same on the server and in the static export:
//
//	/{lang}/diagnose/                          the choice of symptom
//	/{lang}/diagnose/{symptom}/                the first question
//	/{lang}/diagnose/{symptom}/{fact}={value}/…/  each answer so far
//
// A value is yes, no or unknown, or for a choices fact the options chosen,
// joined by "-" in their declared order (choice names are snake_case).
// Only characters that need no escaping in a path are used, so the path is
// also the export's folder name. Answers come in the order they
// were asked. The codec here is pure: it reads a path (or the query string
// of part 1's URLs) into a diagnosis and writes one back, and turns a
// diagnosis into the rules' request. Which answers still apply is the
// engine's say (see Server.settle).

// Answers a contact can give to a yes/no question, and "I don't know" to
// any question.
const (
	answerYes     = "yes"
	answerNo      = "no"
	answerUnknown = "unknown"
)

// diagnosis is a self-diagnosis: the symptom and the answers given so far,
// in the order they were asked.
type diagnosis struct {
	symptom string
	answers []reply
}

// reply is the answer to the question about one fact: "yes", "no" or
// "unknown" for a yes/no question; for a choices fact the options chosen
// (at least one), or "unknown".
type reply struct {
	fact   string
	values []string
}

func (a reply) unknown() bool { return len(a.values) == 1 && a.values[0] == answerUnknown }

// segment is the reply as one path segment: fact=value[-value].
func (a reply) segment() string { return a.fact + "=" + strings.Join(a.values, choiceSep) }

// choiceSep joins the choices of one answer in a path segment.
const choiceSep = "-"

// labels are the message ids of the answer's labels.
func (a reply) labels() []string {
	switch {
	case a.unknown():
		return []string{"AnswerUnknown"}
	case len(a.values) == 1 && a.values[0] == answerYes:
		return []string{"AnswerYes"}
	case len(a.values) == 1 && a.values[0] == answerNo:
		return []string{"AnswerNo"}
	}
	ids := make([]string, len(a.values))
	for i, v := range a.values {
		ids[i] = locales.Choice(a.fact, v)
	}
	return ids
}

// askable is the declaration of a fact the site may ask a contact about
// symptom: one its causes rest on that a contact can answer.
func askable(cat rules.Catalog, symptom, fact string) (rules.Fact, bool) {
	f, ok := cat.Fact(fact)
	if !ok || f.AskedOf != rules.AskedOfContact {
		return rules.Fact{}, false
	}
	used := slices.ContainsFunc(cat.Causes, func(c rules.Cause) bool {
		return c.Symptom == symptom && slices.Contains(c.Facts, fact)
	})
	return f, used
}

// parseReply reads the values given for a fact the contact was asked
// about: yes, no or unknown for a yes/no question; unknown, or one or more
// distinct choices, for a choices fact (put in their declared order). ok is
// false for anything else.
func parseReply(f rules.Fact, values []string) (reply, bool) {
	a := reply{fact: f.Name}
	switch {
	case len(values) == 1 && values[0] == answerUnknown:
		a.values = values
	case f.Type == rules.TypeBoolean:
		if len(values) != 1 || values[0] != answerYes && values[0] != answerNo {
			return reply{}, false
		}
		a.values = values
	case f.Type == rules.TypeChoices:
		for _, c := range f.Choices {
			if slices.Contains(values, c) {
				a.values = append(a.values, c)
			}
		}
		if len(a.values) == 0 || len(a.values) != len(values) {
			return reply{}, false // nothing chosen, a repeat, or not a choice
		}
	default:
		return reply{}, false
	}
	return a, true
}

// parsePath reads a diagnosis from the segments of a path below
// /{lang}/diagnose/: the symptom, then fact=value segments. An empty
// segment (a trailing slash) is ignored. A symptom, fact or value that is
// not one of the catalog's, a fact the contact is not asked about that
// symptom, or a fact answered twice is a bad_request naming it.
func parsePath(cat rules.Catalog, segments []string) (diagnosis, error) {
	segments = slices.DeleteFunc(slices.Clone(segments), func(s string) bool { return s == "" })
	if len(segments) == 0 {
		return diagnosis{}, nil
	}
	d := diagnosis{symptom: segments[0]}
	if !slices.Contains(cat.Symptoms, d.symptom) {
		return diagnosis{}, answer.BadField("symptom")
	}
	for _, seg := range segments[1:] {
		fact, value, found := strings.Cut(seg, "=")
		f, ok := askable(cat, d.symptom, fact)
		if !found || !ok {
			return diagnosis{}, answer.BadField(fieldOf(fact))
		}
		a, ok := parseReply(f, strings.Split(value, choiceSep))
		if !ok || d.answered(fact) {
			return diagnosis{}, answer.BadField(fact)
		}
		d.answers = append(d.answers, a)
	}
	return d, nil
}

// parseQuery reads a diagnosis from the query string of part 1's URLs
// (?symptom=…&fact=value&fact=value), which redirect to the path form.
// Answers are taken in the declared asking order; parameters that are not
// a fact the contact is asked about are ignored, as they were; an empty
// value of a choices fact (the old "continue" button) counts for nothing.
func parseQuery(cat rules.Catalog, q url.Values) (diagnosis, error) {
	d := diagnosis{symptom: q.Get("symptom")}
	if d.symptom == "" {
		return diagnosis{}, nil
	}
	if !slices.Contains(cat.Symptoms, d.symptom) {
		return diagnosis{}, answer.BadField("symptom")
	}
	for _, f := range cat.Facts {
		values, given := q[f.Name]
		if _, ok := askable(cat, d.symptom, f.Name); !ok || !given {
			continue
		}
		values = slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == "" })
		if len(values) == 0 && f.Type == rules.TypeChoices {
			continue
		}
		a, ok := parseReply(f, values)
		if !ok {
			return diagnosis{}, answer.BadField(f.Name)
		}
		d.answers = append(d.answers, a)
	}
	return d, nil
}

// fieldOf is how a path segment's field is named in an error: as given
// when it is a plain name, else "answer".
func fieldOf(fact string) string {
	if fact == "" || strings.ContainsFunc(fact, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
		return "answer"
	}
	return fact
}

// path is the diagnosis's canonical path in lang.
func (d diagnosis) path(lang string) string {
	var b strings.Builder
	b.WriteString("/" + lang + "/diagnose/")
	if d.symptom == "" {
		return b.String()
	}
	b.WriteString(d.symptom + "/")
	for _, a := range d.answers {
		b.WriteString(a.segment() + "/")
	}
	return b.String()
}

// answered reports whether the diagnosis has an answer about fact.
func (d diagnosis) answered(fact string) bool {
	return slices.ContainsFunc(d.answers, func(a reply) bool { return a.fact == fact })
}

// replyTo is the diagnosis's answer about fact, if any.
func (d diagnosis) replyTo(fact string) (reply, bool) {
	i := slices.IndexFunc(d.answers, func(a reply) bool { return a.fact == fact })
	if i < 0 {
		return reply{}, false
	}
	return d.answers[i], true
}

// with is the diagnosis with one more answer, at the end.
func (d diagnosis) with(a reply) diagnosis {
	return diagnosis{symptom: d.symptom, answers: append(slices.Clone(d.answers), a)}
}

// upTo is the diagnosis with the answers given before the one about fact:
// the state in which fact is asked again.
func (d diagnosis) upTo(fact string) diagnosis {
	i := slices.IndexFunc(d.answers, func(a reply) bool { return a.fact == fact })
	if i < 0 {
		return d
	}
	return diagnosis{symptom: d.symptom, answers: slices.Clone(d.answers[:i])}
}

// request is the rules' request for the answers known: "yes" and "no" are
// true and false, chosen options a list, and "unknown" leaves the fact out.
func (d diagnosis) request() rules.Request {
	req := rules.Request{Symptom: d.symptom, Facts: make(map[string]any, len(d.answers))}
	for _, a := range d.answers {
		switch {
		case a.unknown():
		case len(a.values) == 1 && (a.values[0] == answerYes || a.values[0] == answerNo):
			req.Facts[a.fact] = a.values[0] == answerYes
		default:
			req.Facts[a.fact] = slices.Clone(a.values)
		}
	}
	return req
}

// option is one way to answer a question: the reply it gives and the
// message ids of its label.
type option struct {
	reply  reply
	labels []string
}

// options are the ways to answer the question about fact f, each a link to
// its own state: yes, no, I don't know; or, for a choices fact, every
// non-empty combination of its choices (in declared order, single choices
// first), then I don't know.
func options(f rules.Fact) []option {
	var out []option
	add := func(values ...string) {
		a := reply{fact: f.Name, values: values}
		out = append(out, option{reply: a, labels: a.labels()})
	}
	if f.Type == rules.TypeChoices {
		n := len(f.Choices)
		var subsets [][]string
		for mask := 1; mask < 1<<n; mask++ {
			var s []string
			for i, c := range f.Choices {
				if mask&(1<<i) != 0 {
					s = append(s, c)
				}
			}
			subsets = append(subsets, s)
		}
		slices.SortStableFunc(subsets, func(a, b []string) int { return len(a) - len(b) })
		for _, s := range subsets {
			add(s...)
		}
	} else {
		add(answerYes)
		add(answerNo)
	}
	add(answerUnknown)
	return out
}
