package publish

import (
	"context"
	"slices"

	"acceso/flow"
	"acceso/locales"
	"acceso/rules"
	"acceso/sandbox"
	"acceso/store"
)

// Impact is what a draft would change: every state of the self-diagnosis
// whose outcome or findings differ between the rules being served and the
// draft (exhaustive: both flows explored), and, among the decisions kept,
// how many the draft would decide otherwise, with a few of them.
type Impact struct {
	States []StateChange
	// Decisions is how many kept decisions were decided again, Changed how
	// many of them the draft decides otherwise; Examples are some of those.
	Decisions, Changed int
	Examples           []DecisionChange
}

// StateChange is one state of the self-diagnosis, by its path (in the
// source language), before and after; a state one of them does not reach
// has no outcome there.
type StateChange struct {
	Path          string
	Before, After Verdict
}

// Verdict is a state's or a decision's outcome and findings.
type Verdict = sandbox.Verdict

// DecisionChange is one kept decision the draft decides otherwise.
type DecisionChange struct {
	Reference     string
	Before, After Verdict
}

// maxExamples bounds the decisions an impact quotes.
const maxExamples = 5

// ImpactOf compares what the draft answered (pv, from Verify of a change
// whose Kept were kept) with the rules being served, on every state of the
// self-diagnosis and on the kept decisions. Only the rules being served
// are evaluated here.
func ImpactOf(ctx context.Context, cur *rules.Policy, pv *Preview, kept []store.Kept) (Impact, error) {
	var im Impact
	before, err := flow.Explore(ctx, cur, 0)
	if err != nil {
		return Impact{}, err
	}
	b, a := verdicts(before), pv.States
	var paths []string
	for p := range b {
		paths = append(paths, p)
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		if !b[p].Same(a[p]) {
			im.States = append(im.States, StateChange{Path: p, Before: b[p], After: a[p]})
		}
	}
	for i, dec := range kept {
		if i >= len(pv.Decided) || pv.Decided[i] == nil {
			continue // a fact the draft no longer declares
		}
		im.Decisions++
		now := *pv.Decided[i]
		was := Verdict{Outcome: dec.Outcome, Findings: dec.Findings}
		if !was.Same(now) {
			im.Changed++
			if len(im.Examples) < maxExamples {
				im.Examples = append(im.Examples, DecisionChange{Reference: dec.Reference, Before: was, After: now})
			}
		}
	}
	return im, nil
}

// verdicts are the outcomes of a flow's states, by path.
func verdicts(m *flow.Map) map[string]Verdict {
	out := make(map[string]Verdict)
	for _, t := range m.Trees {
		for _, n := range t.Nodes {
			out[n.Diagnosis.Path(locales.Source)] = Verdict{Outcome: n.Outcome, Findings: n.Findings}
		}
	}
	return out
}
