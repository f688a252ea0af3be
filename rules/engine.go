package rules

import (
	"acceso/knowledge"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
)

// Engine serves the current policy. Swapping in a new one is a single atomic
// store: an evaluation that already holds the old policy finishes on it.
type Engine struct {
	current atomic.Pointer[Policy]
}

// NewEngine returns an engine serving p.
func NewEngine(p *Policy) *Engine {
	e := &Engine{}
	e.current.Store(p)
	return e
}

// Current returns the policy being served. Callers evaluate and localize
// against the same *Policy so that an answer never mixes two revisions.
func (e *Engine) Current() *Policy { return e.current.Load() }

// Swap makes p the policy being served and returns the previous one.
func (e *Engine) Swap(p *Policy) *Policy { return e.current.Swap(p) }

// Evaluate decides req under p, in the topic it goes to (TopicOf), within
// the caller's deadline or the policy's, whichever comes first. Failures
// wrap ErrEvaluation. A decision the topic has already made for the same
// key (see decisionCache) is reused.
func (p *Policy) Evaluate(ctx context.Context, req knowledge.Request) (knowledge.Decision, error) {
	t := p.TopicOf(req)
	// OPA notices a cancelled context only while it evaluates, and a quick
	// evaluation can finish first: a caller already gone gets no answer.
	if err := ctx.Err(); err != nil {
		return knowledge.Decision{}, fmt.Errorf("%w: %w", ErrEvaluation, err)
	}
	// The policy's deadline counts from here, but its context (and timer)
	// is made only for the rules to run under: a decision reused for a
	// request without personal facts runs none, and nothing after the
	// look-up reads the deadline.
	deadline, bounded := time.Now().Add(p.deadline), false
	if t.cache == nil || t.cache.derives(req) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
		if t.cache == nil {
			return p.evaluate(ctx, t, p.input(req))
		}
		bounded = true
	}
	// The rules' input is built once, and only when the rules run: a
	// decision reused for a request without personal facts needs none.
	var input ast.Value
	inputOf := func() ast.Value {
		if input == nil {
			input = p.input(req)
		}
		return input
	}
	key, reusable, err := t.cache.key(ctx, req, inputOf, p.evalOptions)
	if err != nil {
		return knowledge.Decision{}, p.evaluationError(ctx, err)
	}
	if reusable {
		if d, ok := t.cache.lru.Get(key); ok {
			t.cache.hits.Add(1)
			return d.Clone(), nil
		}
	}
	if !bounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if !reusable {
		return p.evaluate(ctx, t, inputOf())
	}
	d, err := p.evaluate(ctx, t, inputOf())
	if err != nil {
		return knowledge.Decision{}, err
	}
	t.cache.misses.Add(1)
	t.cache.lru.Add(key, d.Clone())
	return d, nil
}

// evaluate runs topic t's decision query on input.
func (p *Policy) evaluate(ctx context.Context, t *Topic, input ast.Value) (knowledge.Decision, error) {
	rs, err := t.query.Eval(ctx, p.evalOptions(ctx, input)...)
	if err != nil {
		return knowledge.Decision{}, p.evaluationError(ctx, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return knowledge.Decision{}, fmt.Errorf("%w: %s is undefined", ErrEvaluation, t.queryOf(decisionRule))
	}
	d, ok := decisionFrom(t.Catalog, rs[0].Expressions[0].Value)
	if !ok {
		return knowledge.Decision{}, fmt.Errorf("%w: %s has an unexpected shape", ErrEvaluation, t.queryOf(decisionRule))
	}
	d.Revision = p.Revision
	d.Topic = t.Name
	return d, nil
}

// evalOptions are the options of an evaluation of p's queries on input
// under ctx: p.evalConst, with the input and a cancellation that asks ctx
// (ctxCancel) instead of the goroutine OPA would start to wait on it.
func (p *Policy) evalOptions(ctx context.Context, input ast.Value) []rego.EvalOption {
	return append(p.evalConst[:len(p.evalConst):len(p.evalConst)],
		rego.EvalParsedInput(input),
		rego.EvalExternalCancel(ctxCancel{ctx}))
}

// constEvalOptions are the options every evaluation of a policy's queries
// shares: its result as OPA's own value (asValue), and none of what OPA's
// prepared query would otherwise make for each evaluation and Acceso does
// not use: a storage transaction (txn is shared, see Policy.txn) and a set
// of metrics (none are read).
func constEvalOptions(txn storage.Transaction) []rego.EvalOption {
	return []rego.EvalOption{
		rego.EvalGenerateJSON(asValue),
		rego.EvalTransaction(txn),
		rego.EvalMetrics(metrics.NoOp()),
	}
}

// ctxCancel stops an evaluation when its context is done (its deadline
// passed, or its caller left): OPA asks Cancelled between its steps.
type ctxCancel struct{ ctx context.Context }

func (c ctxCancel) Cancel()         {}
func (c ctxCancel) Cancelled() bool { return c.ctx.Err() != nil }

// asValue gives a query's result as OPA's own value, read by decisionFrom
// and the cache, instead of converting it to Go maps and slices first.
func asValue(t *ast.Term, _ *rego.EvalContext) (any, error) { return t.Value, nil }

// evaluationError wraps an error of OPA's in ErrEvaluation, as the
// context's error when the deadline passed or the caller left.
func (p *Policy) evaluationError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrEvaluation, ctx.Err())
	}
	// %w, not %v: the server logs the failing rule's location from the
	// *topdown.Error underneath.
	return fmt.Errorf("%w: %w", ErrEvaluation, err)
}

// decisionFrom reads the decision document the rules produce and puts it
// in the order the catalog declares: findings, causes ruled out and
// causes to try in article order, questions in asking order (the
// contact's first). Which causes and questions there are is the rules'
// say alone; a finding's Because is the known facts (the rules' known)
// its rule reads (Cause.Facts), in asking order.
func decisionFrom(c knowledge.Catalog, v any) (knowledge.Decision, bool) {
	doc, ok := v.(ast.Object)
	if !ok {
		return knowledge.Decision{}, false
	}
	var d knowledge.Decision
	outcome, ok := field(doc, "outcome").(ast.String)
	d.Outcome = string(outcome)
	d.Symptoms = stringsOf(field(doc, "symptoms"))
	findings := stringsOf(field(doc, "findings"))
	ruledOut := stringsOf(field(doc, "ruled_out"))
	// to_try is optional: rules written before it was added give none.
	toTry := stringsOf(field(doc, "to_try"))
	questions := stringsOf(field(doc, "questions"))
	known := stringsOf(field(doc, "known"))
	d.Findings = make([]knowledge.Finding, 0, len(findings))
	d.RuledOut = make([]string, 0, len(ruledOut))
	d.ToTry = make([]string, 0, len(toTry))
	for _, cause := range c.Causes {
		if slices.Contains(findings, cause.ID) {
			because := make([]string, 0, len(cause.Facts))
			for _, f := range c.Facts {
				if slices.Contains(cause.Facts, f.Name) && slices.Contains(known, f.Name) {
					because = append(because, f.Name)
				}
			}
			d.Findings = append(d.Findings, knowledge.Finding{ID: cause.ID, Symptom: cause.Symptom, Because: because})
		}
		if slices.Contains(ruledOut, cause.ID) {
			d.RuledOut = append(d.RuledOut, cause.ID)
		}
		if slices.Contains(toTry, cause.ID) {
			d.ToTry = append(d.ToTry, cause.ID)
		}
	}
	d.Questions = make([]knowledge.Question, 0, len(questions))
	for _, f := range c.Facts {
		if slices.Contains(questions, f.Name) {
			d.Questions = append(d.Questions, knowledge.Question{Fact: f.Name, Type: knowledge.QuestionType(f.Type), AskedOf: f.AskedOf})
		}
	}
	return d, ok && len(d.Findings) == len(findings) && len(d.RuledOut) == len(ruledOut) && len(d.ToTry) == len(toTry) && len(d.Questions) == len(questions)
}

// field is the value of an object's key, or nil.
func field(o ast.Object, key string) ast.Value {
	if t := o.Get(ast.InternedTerm(key)); t != nil {
		return t.Value
	}
	return nil
}

// stringsOf reads an array or a set of strings; other elements are left out.
func stringsOf(v ast.Value) []string {
	var terms []*ast.Term
	switch v := v.(type) {
	case *ast.Array:
		terms = make([]*ast.Term, 0, v.Len())
		for i := range v.Len() {
			terms = append(terms, v.Elem(i))
		}
	case ast.Set:
		terms = v.Slice()
	}
	out := make([]string, 0, len(terms))
	for _, t := range terms {
		if s, ok := t.Value.(ast.String); ok {
			out = append(out, string(s))
		}
	}
	return out
}
