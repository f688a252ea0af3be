// Package flow is the self-diagnosis as a flow of states: each state is a
// symptom and the answers a contact gave so far, with one canonical path,
// the same on the server and in the static export. It reads and writes
// those paths, settles a Diagnosis with the engine (answers the engine no
// longer asks for are dropped), explores every reachable state, and checks
// the flow a set of rules gives (every cause reachable, every path ending
// in an outcome, no question asked twice). It asks the engine at every
// step and never decides a cause itself.
package flow

import (
	"net/url"
	"slices"
	"strings"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/locales"
)

// The self-diagnosis as its URL carries it. Each state has one canonical
// path, the same on the server and in the static export:
//
//	/{lang}/diagnose/                          the choice of symptom
//	/{lang}/diagnose/{symptom}/                the first question
//	/{lang}/diagnose/{symptom}/{fact}={value}/…/  each answer so far
//
// for the default topic, as before there were topics; a symptom of any
// other topic has the same paths below /{lang}/{topic}/ (TopicSegment).
//
// A value is yes, no or unknown, or for a choices fact the options chosen,
// joined by "-" in their declared order (choice names are snake_case).
// Only characters that need no escaping in a path are used, so the path is
// also the export's folder name. Answers come in the order they
// were asked. The codec here is pure: it reads a path (or the query string
// of part 1's URLs) into a Diagnosis and writes one back, and turns a
// diagnosis into the rules' request. Which answers still apply is the
// engine's say (see Settle).

// Answers a contact can give to a yes/no question, and "I don't know" to
// any question.
const (
	Yes     = "yes"
	No      = "no"
	Unknown = "unknown"
)

// Diagnosis is a self-diagnosis: the symptom and the answers given so far,
// in the order they were asked, and the topic segment of its paths.
type Diagnosis struct {
	// Topic is the segment of the topic in the paths (TopicSegment): ""
	// for the default topic, else the topic's name.
	Topic   string
	Symptom string
	Answers []Reply
}

// Reply is the answer to the question about one fact: "yes", "no" or
// "unknown" for a yes/no question; for a choices fact the options chosen
// (at least one), or "unknown".
type Reply struct {
	Fact   string
	Values []string
}

// Unknown reports whether the Reply is "I don't know".
func (a Reply) Unknown() bool { return len(a.Values) == 1 && a.Values[0] == Unknown }

// Segment is the Reply as one path segment: fact=value[-value].
func (a Reply) Segment() string { return a.Fact + "=" + strings.Join(a.Values, ChoiceSep) }

// ChoiceSep joins the choices of one answer in a path segment.
const ChoiceSep = "-"

// Labels are the message ids of the answer's labels.
func (a Reply) Labels() []string {
	switch {
	case a.Unknown():
		return []string{"AnswerUnknown"}
	case len(a.Values) == 1 && a.Values[0] == Yes:
		return []string{"AnswerYes"}
	case len(a.Values) == 1 && a.Values[0] == No:
		return []string{"AnswerNo"}
	}
	ids := make([]string, len(a.Values))
	for i, v := range a.Values {
		ids[i] = locales.Choice(a.Fact, v)
	}
	return ids
}

// askable is the declaration of a fact the site may ask a contact about
// symptom: one its causes rest on that a contact can answer.
func askable(cat knowledge.Catalog, symptom, fact string) (knowledge.Fact, bool) {
	f, ok := cat.Fact(fact)
	if !ok || f.AskedOf != knowledge.AskedOfContact {
		return knowledge.Fact{}, false
	}
	used := slices.ContainsFunc(cat.Causes, func(c knowledge.Cause) bool {
		return c.Symptom == symptom && slices.Contains(c.Facts, fact)
	})
	return f, used
}

// parseReply reads the values given for a fact the contact was asked
// about: yes, no or unknown for a yes/no question; unknown, or one or more
// distinct choices, for a choices fact (put in their declared order). ok is
// false for anything else.
func parseReply(f knowledge.Fact, values []string) (Reply, bool) {
	a := Reply{Fact: f.Name}
	switch {
	case len(values) == 1 && values[0] == Unknown:
		a.Values = values
	case f.Type == knowledge.TypeBoolean:
		if len(values) != 1 || values[0] != Yes && values[0] != No {
			return Reply{}, false
		}
		a.Values = values
	case f.Type == knowledge.TypeChoices:
		for _, c := range f.Choices {
			if slices.Contains(values, c) {
				a.Values = append(a.Values, c)
			}
		}
		if len(a.Values) == 0 || len(a.Values) != len(values) {
			return Reply{}, false // nothing chosen, a repeat, or not a choice
		}
	default:
		return Reply{}, false
	}
	return a, true
}

// TopicSegment is the segment of a topic's self-diagnosis paths (and its
// other pages) below /{lang}: "" for the default topic, whose paths are
// those of before there were topics; else the topic's name.
func TopicSegment(cat knowledge.Catalog, topic string) string {
	return strings.TrimPrefix(answer.TopicPath(cat, topic), "/")
}

// Start is the first state of the self-diagnosis of symptom, in its topic.
func Start(cat knowledge.Catalog, symptom string) Diagnosis {
	return Diagnosis{Topic: TopicSegment(cat, cat.TopicOfSymptom(symptom)), Symptom: symptom}
}

// ParsePath reads a diagnosis from the segments of a path below
// /{lang}/diagnose/ (or /{lang}/{topic}/diagnose/): the symptom, then
// fact=value segments; its topic is the symptom's. An empty
// segment (a trailing slash) is ignored. A symptom, fact or value that is
// not one of the catalog's, a fact the contact is not asked about that
// symptom, or a fact answered twice is a bad_request naming it.
func ParsePath(cat knowledge.Catalog, segments []string) (Diagnosis, error) {
	segments = slices.DeleteFunc(slices.Clone(segments), func(s string) bool { return s == "" })
	if len(segments) == 0 {
		return Diagnosis{}, nil
	}
	d := Diagnosis{Symptom: segments[0]}
	if !slices.Contains(cat.Symptoms, d.Symptom) {
		return Diagnosis{}, answer.BadField("symptom")
	}
	d.Topic = Start(cat, d.Symptom).Topic
	for _, seg := range segments[1:] {
		fact, value, found := strings.Cut(seg, "=")
		f, ok := askable(cat, d.Symptom, fact)
		if !found || !ok {
			return Diagnosis{}, answer.BadField(fieldOf(fact))
		}
		a, ok := parseReply(f, strings.Split(value, ChoiceSep))
		if !ok || d.Answered(fact) {
			return Diagnosis{}, answer.BadField(fact)
		}
		d.Answers = append(d.Answers, a)
	}
	return d, nil
}

// ParseQuery reads a diagnosis from the query string of part 1's URLs
// (?symptom=…&fact=value&fact=value), which redirect to the path form.
// Answers are taken in the declared asking order; parameters that are not
// a fact the contact is asked about are ignored, as they were; an empty
// value of a choices fact (the old "continue" button) counts for nothing.
func ParseQuery(cat knowledge.Catalog, q url.Values) (Diagnosis, error) {
	d := Diagnosis{Symptom: q.Get("symptom")}
	if d.Symptom == "" {
		return Diagnosis{}, nil
	}
	if !slices.Contains(cat.Symptoms, d.Symptom) {
		return Diagnosis{}, answer.BadField("symptom")
	}
	d.Topic = Start(cat, d.Symptom).Topic
	for _, f := range cat.Facts {
		values, given := q[f.Name]
		if _, ok := askable(cat, d.Symptom, f.Name); !ok || !given {
			continue
		}
		values = slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == "" })
		if len(values) == 0 && f.Type == knowledge.TypeChoices {
			continue
		}
		a, ok := parseReply(f, values)
		if !ok {
			return Diagnosis{}, answer.BadField(f.Name)
		}
		d.Answers = append(d.Answers, a)
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

// Path is the Diagnosis's canonical path in lang.
func (d Diagnosis) Path(lang string) string {
	var b strings.Builder
	b.WriteString("/" + lang + "/")
	if d.Topic != "" {
		b.WriteString(d.Topic + "/")
	}
	b.WriteString("diagnose/")
	if d.Symptom == "" {
		return b.String()
	}
	b.WriteString(d.Symptom + "/")
	for _, a := range d.Answers {
		b.WriteString(a.Segment() + "/")
	}
	return b.String()
}

// Answered reports whether the Diagnosis has an answer about fact.
func (d Diagnosis) Answered(fact string) bool {
	return slices.ContainsFunc(d.Answers, func(a Reply) bool { return a.Fact == fact })
}

// ReplyTo is the Diagnosis's answer about fact, if any.
func (d Diagnosis) ReplyTo(fact string) (Reply, bool) {
	i := slices.IndexFunc(d.Answers, func(a Reply) bool { return a.Fact == fact })
	if i < 0 {
		return Reply{}, false
	}
	return d.Answers[i], true
}

// With is the Diagnosis with one more answer, at the end.
func (d Diagnosis) With(a Reply) Diagnosis {
	return Diagnosis{Topic: d.Topic, Symptom: d.Symptom, Answers: append(slices.Clone(d.Answers), a)}
}

// Replace is the Diagnosis with the answer about a's fact replaced by a,
// in its place, and the other answers kept; a is added at the end when
// that fact has no answer yet.
func (d Diagnosis) Replace(a Reply) Diagnosis {
	out := Diagnosis{Topic: d.Topic, Symptom: d.Symptom, Answers: slices.Clone(d.Answers)}
	for i, prev := range out.Answers {
		if prev.Fact == a.Fact {
			out.Answers[i] = a
			return out
		}
	}
	out.Answers = append(out.Answers, a)
	return out
}

// UpTo is the Diagnosis with the answers given before the one about fact:
// the state in which fact is asked again.
func (d Diagnosis) UpTo(fact string) Diagnosis {
	i := slices.IndexFunc(d.Answers, func(a Reply) bool { return a.Fact == fact })
	if i < 0 {
		return d
	}
	return Diagnosis{Topic: d.Topic, Symptom: d.Symptom, Answers: slices.Clone(d.Answers[:i])}
}

// Request is the rules' request for the answers known: "yes" and "no" are
// true and false, the choices chosen a list, and "unknown" leaves the fact
// out.
func (d Diagnosis) Request() knowledge.Request {
	req := knowledge.Request{Symptom: d.Symptom, Facts: make(map[string]any, len(d.Answers))}
	for _, a := range d.Answers {
		switch {
		case a.Unknown():
		case len(a.Values) == 1 && (a.Values[0] == Yes || a.Values[0] == No):
			req.Facts[a.Fact] = a.Values[0] == Yes
		default:
			req.Facts[a.Fact] = slices.Clone(a.Values)
		}
	}
	return req
}

// Option is one way to answer a question: the reply it gives and the
// message ids of its label.
type Option struct {
	Reply  Reply
	Labels []string
}

// Options are the ways to answer the question about fact f, each a link to
// its own state: yes, no, I don't know; or, for a choices fact, every
// non-empty combination of its choices (in declared order, single choices
// first), then I don't know.
func Options(f knowledge.Fact) []Option {
	var out []Option
	add := func(values ...string) {
		a := Reply{Fact: f.Name, Values: values}
		out = append(out, Option{Reply: a, Labels: a.Labels()})
	}
	if f.Type == knowledge.TypeChoices {
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
		add(Yes)
		add(No)
	}
	add(Unknown)
	return out
}
