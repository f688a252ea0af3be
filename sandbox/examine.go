package sandbox

import (
	"context"
	"encoding/json"
	"slices"

	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
)

// Exam is what a check asks of a draft once it is built: every evaluation
// of rules that are not published yet. In a server it is answered by the
// child (see Run), so that a draft whose branch only a personal value
// reaches (the admin's sample) never runs in the serving process.
type Exam struct {
	// Sample is a request, as the API takes it, to answer in every
	// language; empty for none.
	Sample []byte `json:"sample,omitempty"`
	// Explore explores the draft's self-diagnosis and checks it
	// (flow.Check: every cause reachable, no question twice, every path to
	// an outcome), answering each state's verdict.
	Explore bool `json:"explore,omitempty"`
	// Kept are the symptoms and facts of kept decisions to decide again,
	// for a check's impact.
	Kept []Kept `json:"kept,omitempty"`
}

// Kept is a kept decision's symptom and facts, typed as the store gives
// them (see knowledge.DecodeFacts).
type Kept struct {
	Topic   string         `json:"topic,omitempty"`
	Symptom string         `json:"symptom,omitempty"`
	Facts   map[string]any `json:"facts"`
}

// UnmarshalJSON reads k as the child receives it, its facts typed again:
// JSON is only how an exam crosses to the child.
func (k *Kept) UnmarshalJSON(b []byte) error {
	var raw struct {
		Topic   string          `json:"topic"`
		Symptom string          `json:"symptom"`
		Facts   json.RawMessage `json:"facts"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	k.Topic, k.Symptom, k.Facts = raw.Topic, raw.Symptom, map[string]any{}
	if len(raw.Facts) == 0 || string(raw.Facts) == "null" {
		return nil
	}
	facts, err := knowledge.DecodeFacts(raw.Facts)
	if err != nil {
		return err
	}
	k.Facts = facts
	return nil
}

// Verdict is an outcome and the causes found.
type Verdict struct {
	Outcome  string   `json:"outcome"`
	Findings []string `json:"findings,omitempty"`
}

// Same reports whether two verdicts agree.
func (v Verdict) Same(w Verdict) bool {
	return v.Outcome == w.Outcome && slices.Equal(v.Findings, w.Findings)
}

// Result is the draft's answers to an Exam.
type Result struct {
	// Answers are the draft's answers to the sample, by language; nil
	// when there was no sample.
	Answers map[string]answer.Response `json:"answers,omitempty"`
	// States are the verdicts of the self-diagnosis's states, by path in
	// the source language; nil unless Explore.
	States map[string]Verdict `json:"states,omitempty"`
	// Decided holds one verdict per kept decision of the exam, nil for one
	// the draft cannot read (a symptom or fact it no longer declares).
	Decided []*Verdict `json:"decided,omitempty"`
}

// Examine answers exam with the built draft. A sample the draft cannot
// read, a self-diagnosis that does not hold together and an evaluation that
// fails are knowledge.Problems. The child runs it on a draft it verified; a
// publisher that does not isolate runs it in its own process.
func Examine(ctx context.Context, draft *rules.Policy, exam Exam) (Result, error) {
	var res Result
	if exam.Explore {
		m, err := flow.Explore(ctx, draft, 0)
		if err != nil {
			return Result{}, knowledge.Problems{{File: "rules", Message: err.Error()}}
		}
		if problems := m.Check(draft.Catalog); len(problems) > 0 {
			return Result{}, problems
		}
		res.States = make(map[string]Verdict)
		for _, t := range m.Trees {
			for _, n := range t.Nodes {
				res.States[n.Diagnosis.Path(locales.Source)] = Verdict{Outcome: n.Outcome, Findings: n.Findings}
			}
		}
	}
	if len(exam.Sample) > 0 {
		req, err := answer.Decode(draft.Catalog, exam.Sample)
		if err != nil {
			e := answer.As(err)
			problems := knowledge.Problems{{File: "sample", Message: e.Message}}
			for _, d := range e.Details {
				problems = append(problems, knowledge.Problem{File: "sample", Message: d.Field + ": " + d.Problem})
			}
			return Result{}, problems
		}
		res.Answers = make(map[string]answer.Response)
		for _, lang := range locales.Languages {
			if res.Answers[lang], err = answer.Evaluate(ctx, draft, req, lang); err != nil {
				return Result{}, knowledge.Problems{{File: "sample", Message: "the draft could not answer the sample: " + answer.As(err).Message}}
			}
		}
	}
	for _, k := range exam.Kept {
		req, left := draft.Catalog.RequestOf(k.Topic, k.Symptom, k.Facts)
		if len(left) > 0 {
			res.Decided = append(res.Decided, nil) // a fact the draft no longer declares
			continue
		}
		d, err := draft.Evaluate(ctx, req)
		if err != nil {
			return Result{}, knowledge.Problems{{File: "rules", Message: "deciding a kept decision again: " + answer.As(err).Message}}
		}
		v := Verdict{Outcome: d.Outcome}
		for _, f := range d.Findings {
			v.Findings = append(v.Findings, f.ID)
		}
		res.Decided = append(res.Decided, &v)
	}
	return res, nil
}
