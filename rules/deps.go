package rules

import (
	"acceso/knowledge"
	"fmt"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/dependencies"
)

// derivedRule is the rule that derives facts from personal facts
// (decision.rego's derived): the one rule allowed to read them.
const derivedRule = "derived"

// reads is what some rules read of a request, found by OPA's dependency
// analysis (dependencies.All) of each rule and of every rule it refers to,
// transitively, except the derivation (derivedRule), which is recorded as
// read but not followed.
type reads struct {
	// facts are the facts read by name (input.facts.<name>), each at the
	// first place found.
	facts map[string]readAt
	// dynamic are the reads of input.facts that name no fact: the whole
	// object, or a key computed at evaluation (input.facts[x]).
	dynamic []readAt
	// derived is set when the derivation is read.
	derived bool
}

// readAt is a read and the rule that makes it.
type readAt struct {
	ref  ast.Ref
	file string
	line int
}

// readsOf returns what the given rules read, following the rules they
// refer to in compiler, but not into the derivation.
func readsOf(compiler *ast.Compiler, roots []*ast.Rule) reads {
	r := reads{facts: make(map[string]readAt)}
	for _, rule := range reach(compiler, roots, true, &r.derived) {
		facts, dynamic := directReads(rule)
		for name, at := range facts {
			if _, dup := r.facts[name]; !dup {
				r.facts[name] = at
			}
		}
		r.dynamic = append(r.dynamic, dynamic...)
	}
	return r
}

// isDerivation reports whether a rule's path is a topic's derivation,
// data.<topic>.derived (a topic is a package directly under data).
func isDerivation(ref ast.Ref) bool {
	return len(ref) >= 3 && ref[0].Equal(ast.DefaultRootDocument) && ref[2].Equal(ast.InternedTerm(derivedRule))
}

// reach returns roots and every rule they refer to, transitively; with
// stopAtDerived, the derivation's rules are left out and *derived is set
// when one is referred to.
func reach(compiler *ast.Compiler, roots []*ast.Rule, stopAtDerived bool, derived *bool) []*ast.Rule {
	seen := make(map[*ast.Rule]bool)
	var out []*ast.Rule
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		rule := queue[0]
		queue = queue[1:]
		if seen[rule] {
			continue
		}
		seen[rule] = true
		out = append(out, rule)
		refs, err := dependencies.All(rule)
		if err != nil {
			continue // not reached: a rule is an AST element
		}
		for _, ref := range refs {
			if !ref[0].Equal(ast.DefaultRootDocument) {
				continue
			}
			for _, next := range compiler.GetRules(ref.ConstantPrefix()) {
				if stopAtDerived && isDerivation(next.Ref()) {
					if derived != nil {
						*derived = true
					}
					continue
				}
				queue = append(queue, next)
			}
		}
	}
	return out
}

// directReads returns what one rule itself reads of input.facts: the facts
// it names, and the reads that name none (the whole object, or a key
// computed at evaluation).
func directReads(rule *ast.Rule) (map[string]readAt, []readAt) {
	refs, err := dependencies.All(rule)
	if err != nil {
		return nil, nil
	}
	facts := make(map[string]readAt)
	var dynamic []readAt
	at := func(ref ast.Ref) readAt {
		a := readAt{ref: ref}
		if loc := ref[0].Location; loc != nil {
			a.file, a.line = loc.File, loc.Row
		} else if rule.Location != nil {
			a.file, a.line = rule.Location.File, rule.Location.Row
		}
		return a
	}
	for _, ref := range refs {
		if !ref[0].Equal(ast.InputRootDocument) {
			continue
		}
		switch {
		case len(ref) == 1:
			dynamic = append(dynamic, at(ref))
		case !ref[1].Equal(ast.InternedTerm("facts")):
			// the symptom, the language
		case len(ref) == 2:
			dynamic = append(dynamic, at(ref))
		default:
			if name, ok := ref[2].Value.(ast.String); ok {
				if _, dup := facts[string(name)]; !dup {
					facts[string(name)] = at(ref)
				}
			} else {
				dynamic = append(dynamic, at(ref))
			}
		}
	}
	return facts, dynamic
}

// checkPersonalReads refuses, at file and line, any rule of topic t other
// than the derivation (data.<topic>.derived and the helpers only it uses)
// that reads a
// personal fact, and any read of input.facts that names no fact in the
// rules that decide the verdicts and the scope (the cause rules, the scope
// and their helpers): with them, an answer could depend on a contact's
// personal data other than through what is derived from it, and the
// decision cache, which keys on the derived values only, could hand one
// contact's answer to another. It returns the facts every decision may
// depend on beside its causes': those the scope and the derivation read.
func checkPersonalReads(compiler *ast.Compiler, t *Topic) (always []string, problems knowledge.Problems) {
	c := t.Catalog
	personal := make(map[string]bool)
	for _, f := range c.Facts {
		if f.Personal {
			personal[f.Name] = true
		}
	}
	derivation := reach(compiler, compiler.GetRulesExact(t.ref(derivedRule)), false, nil)
	inDerivation := make(map[*ast.Rule]bool, len(derivation))
	for _, r := range derivation {
		inDerivation[r] = true
	}
	pkg := t.pkg
	var deciding, scope []*ast.Rule
	for _, name := range slices.Sorted(maps.Keys(compiler.Modules)) {
		m := compiler.Modules[name]
		if !m.Package.Path.Equal(pkg) {
			continue
		}
		for _, rule := range m.Rules {
			if inDerivation[rule] {
				continue
			}
			head := rule.Head.Ref()[0]
			switch {
			case head.Equal(ast.VarTerm(causeRule)):
				deciding = append(deciding, rule)
			case head.Equal(ast.VarTerm(scopeRule)):
				deciding = append(deciding, rule)
				scope = append(scope, rule)
			}
			r := readsOf(compiler, []*ast.Rule{rule})
			for _, name := range r.names() {
				if !personal[name] {
					continue
				}
				at := r.facts[name]
				p := knowledge.Problem{File: at.file, Line: at.line, Message: fmt.Sprintf(
					"%s reads the personal fact %s: only the derivation (%s) may read personal facts; derive what the rule needs there, so that an answer kept for reuse can never pass from one contact to another",
					ruleName(rule), name, derivedRule)}
				if own, _ := directReads(rule); own[name].ref == nil && rule.Location != nil {
					p = knowledge.Problem{File: rule.Location.File, Line: rule.Location.Row, Message: fmt.Sprintf(
						"%s reads the personal fact %s (at %s:%d): only the derivation (%s) may read personal facts; derive what the rule needs there, so that an answer kept for reuse can never pass from one contact to another",
						ruleName(rule), name, at.file, at.line, derivedRule)}
				}
				if !slices.Contains(problems, p) {
					problems = append(problems, p)
				}
			}
		}
	}
	for _, rule := range reach(compiler, deciding, true, nil) {
		_, dynamic := directReads(rule)
		for _, at := range dynamic {
			p := knowledge.Problem{File: at.file, Line: at.line, Message: fmt.Sprintf(
				"%s reads %s, which names no fact: a rule that decides a verdict or the scope names each fact it reads (input.facts.<name>), so that what it rests on is known and no personal fact is read",
				ruleName(rule), shown(at.ref))}
			if !slices.Contains(problems, p) {
				problems = append(problems, p)
			}
		}
	}
	always = readsOf(compiler, scope).names()
	for _, rule := range derivation {
		facts, _ := directReads(rule)
		for name := range facts {
			if !personal[name] {
				always = append(always, name)
			}
		}
	}
	return always, problems
}

// shown writes a read of the input as an author would: a key computed at
// evaluation is _.
func shown(ref ast.Ref) string {
	out := make(ast.Ref, len(ref))
	for i, t := range ref {
		if _, isVar := t.Value.(ast.Var); isVar && i > 0 {
			t = ast.VarTerm("_")
		}
		out[i] = t
	}
	return out.String()
}

// ruleName names a rule as written: its head's ref.
func ruleName(rule *ast.Rule) string {
	return "rule " + rule.Head.Ref().String()
}

// names returns the facts read, sorted.
func (r reads) names() []string { return slices.Sorted(maps.Keys(r.facts)) }
