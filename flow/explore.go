package flow

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/rules"
)

// DefaultLimit bounds the states Explore visits for one symptom.
const DefaultLimit = 5000

// Node is one reachable state of a symptom's self-diagnosis, as the engine
// settles it: the answers so far, the next question's fact and the state
// each of its answers leads to, or, at an outcome, the causes found, the
// outcome and what only an admin can check.
type Node struct {
	Diagnosis Diagnosis
	// Question is the fact the contact is asked next; "" at an outcome.
	Question string
	// Edges lead from each answer to the question to the node it gives.
	Edges []Edge
	// Findings are the likely causes, in article order.
	Findings []string
	// Outcome is the engine's outcome.
	Outcome string
	// AdminChecks are the facts only an admin can check that the engine
	// still asks about: the handoff lists them.
	AdminChecks []string
}

// Edge is one answer to a node's question and the node it leads to.
type Edge struct {
	Reply Reply
	To    int
}

// Tree is the flow of one symptom: Nodes[0] is its first state.
type Tree struct {
	Symptom string
	Nodes   []Node
}

// Map is every reachable state of the self-diagnosis, symptom by symptom,
// in article order.
type Map struct {
	Trees []Tree
}

// States is how many states the map holds, all symptoms together.
func (m *Map) States() int {
	n := 0
	for _, t := range m.Trees {
		n += len(t.Nodes)
	}
	return n
}

// Explore asks the engine for every state a contact can reach, symptom by
// symptom: from the first state, each answer to each question, until every
// path ends in an outcome. It takes one evaluation per state: a settled
// state plus the answer to its next question is settled too. Past limit
// states for one symptom (DefaultLimit when limit ≤ 0), it stops with an
// error naming the symptom.
func Explore(ctx context.Context, p *rules.Policy, limit int) (*Map, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	m := &Map{}
	for _, symptom := range p.Catalog.Symptoms {
		t := Tree{Symptom: symptom}
		queue := []Diagnosis{Start(p.Catalog, symptom)}
		for i := 0; i < len(queue); i++ {
			if len(queue) > limit {
				return nil, fmt.Errorf("the self-diagnosis of %s has more than %d states: ask fewer questions, or offer fewer choices", symptom, limit)
			}
			d := queue[i]
			decision, err := p.Evaluate(ctx, d.Request())
			if err != nil {
				return nil, fmt.Errorf("the self-diagnosis of %s, at %s: %w", symptom, d.Path("es"), answer.As(err))
			}
			n := Node{Diagnosis: d, Outcome: decision.Outcome}
			for _, f := range decision.Findings {
				n.Findings = append(n.Findings, f.ID)
			}
			q, ok := NextQuestion(d, decision.Questions)
			if !ok {
				for _, q := range decision.Questions {
					if q.AskedOf == knowledge.AskedOfAdmin {
						n.AdminChecks = append(n.AdminChecks, q.Fact)
					}
				}
				t.Nodes = append(t.Nodes, n)
				continue
			}
			n.Question = q.Fact
			f, _ := p.Catalog.Fact(q.Fact)
			for _, o := range Options(f) {
				n.Edges = append(n.Edges, Edge{Reply: o.Reply, To: len(queue)})
				queue = append(queue, d.With(o.Reply))
			}
			t.Nodes = append(t.Nodes, n)
		}
		m.Trees = append(m.Trees, t)
	}
	return m, nil
}

// Check says what is wrong with the flow of a set of rules, each problem
// naming the cause or the fact: a cause the self-diagnosis never finds and
// whose facts no handoff asks an administrator to check; a question asked
// twice on one path; a state whose question leads nowhere. Exploring past
// the bound is a problem too.
func Check(ctx context.Context, p *rules.Policy) knowledge.Problems {
	m, err := Explore(ctx, p, 0)
	if err != nil {
		return knowledge.Problems{{File: "rules", Message: err.Error()}}
	}
	return m.Check(p.Catalog)
}

// Check is Check on a flow already explored, whose rules' catalog is cat.
func (m *Map) Check(cat knowledge.Catalog) knowledge.Problems {
	var problems knowledge.Problems
	reached := make(map[string]bool)
	for _, t := range m.Trees {
		for _, n := range t.Nodes {
			for _, id := range n.Findings {
				reached[id] = true
			}
			for _, c := range cat.Causes {
				if c.Symptom == t.Symptom && slices.ContainsFunc(n.AdminChecks, func(f string) bool { return slices.Contains(c.Facts, f) }) {
					reached[c.ID] = true
				}
			}
			if n.Question != "" && len(n.Edges) == 0 {
				problems = append(problems, knowledge.Problem{File: "rules", Message: fmt.Sprintf(
					"the question about %s, at %s, has no answer to give", n.Question, n.Diagnosis.Path("es"))})
			}
		}
		problems = append(problems, t.repeats(0, nil)...)
	}
	for _, c := range cat.Causes {
		if !reached[c.ID] {
			problems = append(problems, knowledge.Problem{File: c.File, Line: c.Line, Message: fmt.Sprintf(
				"cause %s is unreachable: no answers a contact can give find it, and no end of the self-diagnosis asks an administrator to check its facts (%v)", c.ID, c.Facts)})
		}
	}
	return problems
}

// repeats reports a question asked twice on a path from node i, given the
// facts asked before it.
func (t Tree) repeats(i int, asked []string) knowledge.Problems {
	n := t.Nodes[i]
	if n.Question == "" {
		return nil
	}
	if slices.Contains(asked, n.Question) {
		return knowledge.Problems{{File: "rules", Message: fmt.Sprintf("the question about %s is asked twice, at %s", n.Question, n.Diagnosis.Path("es"))}}
	}
	asked = append(slices.Clone(asked), n.Question)
	for _, e := range n.Edges {
		if problems := t.repeats(e.To, asked); len(problems) > 0 {
			return problems
		}
	}
	return nil
}

// StateReference is the reference an outcome of the static export shows:
// the same code for every contact who reaches that state under that
// revision, since a static page cannot tell two contacts apart. The admin
// look-up finds the state again by exploring the revision (Find).
func StateReference(revision string, d Diagnosis) string {
	sum := sha256.Sum256([]byte(revision + "\x00" + d.Path("es")))
	return knowledge.ReferenceOf(sum[:])
}

// Find is the outcome state of m whose StateReference under revision is
// ref.
func (m *Map) Find(revision, ref string) (Node, bool) {
	for _, t := range m.Trees {
		for _, n := range t.Nodes {
			if n.Question == "" && StateReference(revision, n.Diagnosis) == ref {
				return n, true
			}
		}
	}
	return Node{}, false
}
