package flow

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"acceso/locales"
)

// Texts word a flow for people: a symptom, a question, an answer and a
// cause in one language.
type Texts struct {
	l locales.Localizer
}

// NewTexts words a flow with the texts of l.
func NewTexts(l locales.Localizer) Texts { return Texts{l: l} }

// Symptom is a symptom's title.
func (t Texts) Symptom(id string) string { return t.l.T(locales.SymptomTitle(id)) }

// Question is the question about a fact.
func (t Texts) Question(fact string) string { return t.l.T(locales.Question(fact)) }

// Answer is an answer's labels, joined.
func (t Texts) Answer(r Reply) string {
	labels := r.Labels()
	for i, id := range labels {
		labels[i] = t.l.T(id)
	}
	return strings.Join(labels, t.l.T("AnswerJoin"))
}

// Cause is a cause's title.
func (t Texts) Cause(id string) string { return t.l.T(locales.CauseTitle(id)) }

// WriteText writes the map as an indented tree a terminal shows: per
// symptom, each question, each answer and where it leads, down to the
// outcomes with their findings and what the handoff asks an admin to
// check.
func (m *Map) WriteText(w io.Writer, t Texts) error {
	for _, tr := range m.Trees {
		if _, err := fmt.Fprintf(w, "%s (%s): %d states\n", t.Symptom(tr.Symptom), tr.Symptom, len(tr.Nodes)); err != nil {
			return err
		}
		if err := tr.writeNode(w, t, 0, nil, "  "); err != nil {
			return err
		}
	}
	return nil
}

// writeNode writes node i: the causes its answer added to those found
// before (found), then its question and answers, or its outcome.
func (tr Tree) writeNode(w io.Writer, t Texts, i int, found []string, indent string) error {
	n := tr.Nodes[i]
	var err error
	put := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, indent+format+"\n", args...)
		}
	}
	for _, id := range n.Findings {
		if !slices.Contains(found, id) {
			put("✓ %s (%s)", t.Cause(id), id)
		}
	}
	if n.Question == "" {
		put("■ %s: %s", n.Outcome, strings.Join(n.Findings, ", "))
		for _, f := range n.AdminChecks {
			put("  → admin checks %s: %s", f, t.Question(f))
		}
		return err
	}
	put("? %s (%s)", t.Question(n.Question), n.Question)
	for _, e := range n.Edges {
		put("  %s:", t.Answer(e.Reply))
		if err != nil {
			return err
		}
		if err = tr.writeNode(w, t, e.To, n.Findings, indent+"    "); err != nil {
			return err
		}
	}
	return err
}
