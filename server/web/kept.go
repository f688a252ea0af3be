package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"time"

	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/store"
)

// Kept finds the decisions kept for look-up by their reference, and
// continues them. The admin look-up and the decisions API both use one,
// so they can never disagree.
type Kept struct {
	// Store holds the kept decisions.
	Store *store.DB
	// Decisions writes them; nil when nothing is kept.
	Decisions *store.DecisionWriter
	// Answers decides a kept decision again (Continue).
	Answers *answer.Service
	// FlowMap is the self-diagnosis of the rules p, explored: a
	// reference of the static export names one of its states.
	FlowMap func(ctx context.Context, p *rules.Policy) (*flow.Map, error)
	// Now is the clock.
	Now func() time.Time
	// Log is where a decision that no longer fits the rules is noted.
	Log *slog.Logger
}

// Find returns the decision kept under ref, or else the state of
// the static export (under the rules p) whose reference is ref; else
// ErrNotFound. The admin look-up and the decisions API both find a
// reference here.
func (s *Kept) Find(ctx context.Context, p *rules.Policy, ref string) (store.Kept, error) {
	dec, err := s.Store.Decision(ctx, ref)
	if errors.Is(err, store.ErrNotFound) && s.Decisions != nil {
		s.Decisions.Flush() // a decision made a moment ago is found
		dec, err = s.Store.Decision(ctx, ref)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return dec, err
	}
	// A reference of the static export names a state, not a decision:
	// find it among the states of the rules being served.
	if dec, found := s.exportedState(ctx, p, ref); found {
		return dec, nil
	}
	return store.Kept{}, store.ErrNotFound
}

// Continue decides dec again under p, with answers (facts only an
// admin can check, already validated) added to the facts it was made on,
// through the answer service (a slot, the deadline, counted as source's
// answer, not kept: the decision continued is the one kept), and words
// the decision in lang. The admin look-up and the decisions API both
// continue a decision here, so they can never disagree.
func (s *Kept) Continue(ctx context.Context, source string, p *rules.Policy, dec store.Kept, answers map[string]any, lang string) (answer.Response, error) {
	facts := make(map[string]any, len(dec.Facts)+len(answers))
	maps.Copy(facts, dec.Facts)
	maps.Copy(facts, answers)
	req, left := p.Catalog.RequestOf(dec.Topic, dec.Symptom, facts)
	if len(left) > 0 {
		// A symptom or fact the rules no longer declare, or no longer
		// read so: continue without it. Names only, never a value.
		s.Log.Warn("a kept decision no longer fits the rules being served", "reference", dec.Reference, "left_out", left)
	}
	res, err := s.Answers.Answer(ctx, answer.Ask{Source: source, Policy: p, Request: req, Langs: []string{lang}})
	return res.Response, err
}

// exportedState is the state of the static export whose reference is ref
// under the rules p, as a decision: its answers, findings and outcome.
func (s *Kept) exportedState(ctx context.Context, p *rules.Policy, ref string) (store.Kept, bool) {
	m, err := s.FlowMap(ctx, p)
	if err != nil {
		return store.Kept{}, false
	}
	n, ok := m.Find(p.Revision, ref)
	if !ok {
		return store.Kept{}, false
	}
	facts := maps.Clone(n.Diagnosis.Request().Facts)
	return store.Kept{Reference: ref, At: s.Now().UTC(), Source: "export", Revision: p.Revision,
		Topic: p.TopicOf(n.Diagnosis.Request()).Name, Symptom: n.Diagnosis.Symptom, Facts: facts, Findings: n.Findings, Outcome: n.Outcome}, true
}

// FactText is a stored fact's value in words: yes or no, the choices'
// labels, a count.
func FactText(l locales.Localizer, f knowledge.Fact, v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return l.T("AnswerYes")
		}
		return l.T("AnswerNo")
	case []string:
		labels := make([]string, 0, len(v))
		for _, s := range v {
			if f.Type == knowledge.TypeChoices {
				s = l.T(locales.Choice(f.Name, s))
			}
			labels = append(labels, s)
		}
		return strings.Join(labels, l.T("AnswerJoin"))
	}
	b, _ := json.Marshal(v)
	return string(b)
}
