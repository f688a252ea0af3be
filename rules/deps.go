package rules

import (
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
// refer to in compiler.
func readsOf(compiler *ast.Compiler, roots []*ast.Rule) reads {
	r := reads{facts: make(map[string]readAt)}
	derived := ast.MustParseRef(packagePath).Append(ast.StringTerm(derivedRule))
	seen := make(map[*ast.Rule]bool)
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		rule := queue[0]
		queue = queue[1:]
		if seen[rule] {
			continue
		}
		seen[rule] = true
		refs, err := dependencies.All(rule)
		if err != nil {
			continue // not reached: a rule is an AST element
		}
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
			switch {
			case ref[0].Equal(ast.InputRootDocument):
				if len(ref) == 1 {
					r.dynamic = append(r.dynamic, at(ref))
					continue
				}
				if !ref[1].Equal(ast.InternedTerm("facts")) {
					continue // the symptom, the language
				}
				if len(ref) == 2 {
					r.dynamic = append(r.dynamic, at(ref))
					continue
				}
				name, ok := ref[2].Value.(ast.String)
				if !ok {
					r.dynamic = append(r.dynamic, at(ref))
					continue
				}
				if _, dup := r.facts[string(name)]; !dup {
					r.facts[string(name)] = at(ref)
				}
			case ref[0].Equal(ast.DefaultRootDocument):
				if ref.HasPrefix(derived) {
					r.derived = true
					continue
				}
				for _, next := range compiler.GetRules(ref.ConstantPrefix()) {
					if next.Ref().HasPrefix(derived) {
						r.derived = true
						continue
					}
					queue = append(queue, next)
				}
			}
		}
	}
	return r
}

// names returns the facts read, sorted.
func (r reads) names() []string { return slices.Sorted(maps.Keys(r.facts)) }
