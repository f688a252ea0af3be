package rules

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"acceso/knowledge"
	"acceso/locales"
)

// The rules under a topic's package: the one that gives each cause its
// verdict (cause.<symptom>.<id>), the causes a contact can try, and the
// symptoms in scope.
const (
	causeRule  = "cause"
	canTryRule = "contact_can_try"
	scopeRule  = "scope"
)

// readCatalog reads topic t's causes from their rules and metadata, and
// its symptoms and facts from the data its rules define. Every problem
// found names the rule's file and line.
func readCatalog(ctx context.Context, compiler *ast.Compiler, t *Topic) (knowledge.Catalog, knowledge.Problems) {
	var c knowledge.Catalog
	var problems knowledge.Problems
	symptoms, facts := t.queryOf("symptoms"), t.queryOf("facts")
	rs, err := rego.New(
		rego.Query("symptoms := "+symptoms+"; facts := "+facts),
		rego.Compiler(compiler),
	).Eval(ctx)
	if err != nil || len(rs) != 1 {
		return c, knowledge.Problems{{File: t.Dir, Message: fmt.Sprintf("topic %s: reading %s and %s: %v (a topic declares both)", t.Name, symptoms, facts, err)}}
	}
	c.Symptoms = stringList(rs[0].Bindings["symptoms"])
	keys, decl := factPositions(compiler.Modules, t.pkg)
	c.Facts, problems = readFacts(rs[0].Bindings["facts"], keys, decl, facts)

	var verdicts []declaredCause
	var canTry []namedCause
	for _, name := range slices.Sorted(maps.Keys(compiler.Modules)) {
		m := compiler.Modules[name]
		if !m.Package.Path.Equal(t.pkg) {
			continue
		}
		for _, rule := range m.Rules {
			if id, ok, p := canTryOf(rule); ok {
				if p != nil {
					problems = append(problems, *p)
				} else {
					canTry = append(canTry, id)
				}
				continue
			}
			cause, ok := causeOf(rule)
			if !ok {
				continue
			}
			if cause.verdict {
				verdicts = append(verdicts, cause)
				continue
			}
			for _, e := range cause.errs {
				problems = append(problems, knowledge.Problem{File: cause.File, Line: cause.Line, Message: e})
			}
			if len(cause.errs) > 0 {
				continue
			}
			if !slices.Contains(c.Symptoms, cause.Symptom) {
				problems = append(problems, knowledge.Problem{File: cause.File, Line: cause.Line, Message: fmt.Sprintf("cause %s: unknown symptom %q (the rule is cause.<symptom>.<id>)", cause.ID, cause.Symptom)})
			}
			cause.Facts, cause.errs = restsOn(c, compiler, t, cause.Cause)
			for _, e := range cause.errs {
				problems = append(problems, knowledge.Problem{File: cause.File, Line: cause.Line, Message: e})
			}
			if prev, dup := c.Cause(cause.ID); dup {
				problems = append(problems, knowledge.Problem{File: cause.File, Line: cause.Line, Message: fmt.Sprintf("cause %s is declared twice (also at %s:%d)", cause.ID, prev.File, prev.Line)})
			}
			c.Causes = append(c.Causes, cause.Cause)
		}
	}
	for _, v := range verdicts {
		if declared, ok := c.Cause(v.ID); !ok || declared.Symptom != v.Symptom {
			problems = append(problems, knowledge.Problem{File: v.File, Line: v.Line, Message: fmt.Sprintf(
				"cause.%s.%s has no declaration: add `default cause.%s.%s := \"open\"` with its # METADATA", v.Symptom, v.ID, v.Symptom, v.ID)})
		}
	}
	for _, t := range canTry {
		i := slices.IndexFunc(c.Causes, func(x knowledge.Cause) bool { return x.ID == t.id })
		if i < 0 {
			problems = append(problems, knowledge.Problem{File: t.file, Line: t.line, Message: fmt.Sprintf("contact_can_try names %q, which no cause declares", t.id)})
			continue
		}
		c.Causes[i].ContactCanTry = true
	}
	if len(c.Causes) == 0 {
		problems = append(problems, knowledge.Problem{File: t.Dir, Message: "topic " + t.Name + " has no causes: a cause is declared by a rule default cause.<symptom>.<id> := \"open\" with # METADATA"})
	}
	var orderProblems knowledge.Problems
	c.Causes, orderProblems = articleOrder(c.Causes)
	return c, append(problems, orderProblems...)
}

// namedCause is a cause id named at a file and line.
type namedCause struct {
	id   string
	file string
	line int
}

// canTryOf reads a rule contact_can_try contains "<id>": ok is set for a
// rule of that name, with a problem when it is not of that form.
func canTryOf(rule *ast.Rule) (namedCause, bool, *knowledge.Problem) {
	ref := rule.Head.Ref()
	if len(ref) == 0 || !ref[0].Equal(ast.VarTerm(canTryRule)) {
		return namedCause{}, false, nil
	}
	var l namedCause
	if rule.Location != nil {
		l.file, l.line = rule.Location.File, rule.Location.Row
	}
	id, isString := ast.String(""), false
	if rule.Head.Key != nil && len(ref) == 1 && len(rule.Body) == 1 && rule.Body[0].IsGround() {
		id, isString = rule.Head.Key.Value.(ast.String)
	}
	if !isString {
		return l, true, &knowledge.Problem{File: l.file, Line: l.line, Message: canTryRule + ` names one cause per rule, as a literal: contact_can_try contains "<cause id>"`}
	}
	l.id = string(id)
	return l, true, nil
}

// articleOrder puts causes in article order: by position (module path,
// then line), each cause with custom.after right after the cause it
// names. A cause after an unknown cause, or a loop of afters, is a
// problem at its declaration.
func articleOrder(causes []knowledge.Cause) ([]knowledge.Cause, knowledge.Problems) {
	slices.SortStableFunc(causes, func(a, b knowledge.Cause) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	var problems knowledge.Problems
	placed := make([]knowledge.Cause, 0, len(causes))
	var pending []knowledge.Cause
	for _, c := range causes {
		if c.After == "" {
			placed = append(placed, c)
			continue
		}
		if !slices.ContainsFunc(causes, func(x knowledge.Cause) bool { return x.ID == c.After }) {
			problems = append(problems, knowledge.Problem{File: c.File, Line: c.Line, Message: fmt.Sprintf("cause %s: custom.after names %q, which no cause declares", c.ID, c.After)})
			placed = append(placed, c)
			continue
		}
		pending = append(pending, c)
	}
	// Each pass places the causes whose predecessor is placed; a pass that
	// places none leaves a loop. Causes after the same one keep their
	// position order.
	for len(pending) > 0 {
		var rest []knowledge.Cause
		for _, c := range slices.Backward(pending) {
			i := slices.IndexFunc(placed, func(x knowledge.Cause) bool { return x.ID == c.After })
			if i < 0 {
				rest = append([]knowledge.Cause{c}, rest...)
				continue
			}
			placed = slices.Insert(placed, i+1, c)
		}
		if len(rest) == len(pending) {
			for _, c := range rest {
				problems = append(problems, knowledge.Problem{File: c.File, Line: c.Line, Message: fmt.Sprintf("cause %s: custom.after %s makes a loop of causes each after another", c.ID, c.After)})
				placed = append(placed, c)
			}
			break
		}
		pending = rest
	}
	return placed, problems
}

// restsOn returns the facts cause rests on, in asking order: those its
// rules read, following the helper rules they refer to (see readsOf), with
// what is wrong with them.
func restsOn(c knowledge.Catalog, compiler *ast.Compiler, t *Topic, cause knowledge.Cause) ([]string, []string) {
	ref := t.ref(causeRule).Append(ast.StringTerm(cause.Symptom)).Append(ast.StringTerm(cause.ID))
	r := readsOf(compiler, compiler.GetRulesExact(ref))
	var facts, errs []string
	for _, f := range c.Facts {
		if _, ok := r.facts[f.Name]; ok {
			facts = append(facts, f.Name)
		}
	}
	for _, name := range r.names() {
		if _, ok := c.Fact(name); !ok {
			at := r.facts[name]
			errs = append(errs, fmt.Sprintf("cause %s reads the undeclared fact %q at %s:%d: declare it in %s", cause.ID, name, at.file, at.line, t.queryOf("facts")))
		}
	}
	if len(facts) == 0 {
		errs = append(errs, fmt.Sprintf("cause %s reads no fact (input.facts.<name>), so nothing can find it or rule it out", cause.ID))
	}
	return facts, errs
}

// declaredCause is a cause read from its rule, and what is wrong with it.
type declaredCause struct {
	knowledge.Cause
	errs []string
	// verdict is set for a rule that gives a verdict, as opposed to the
	// default rule that declares the cause.
	verdict bool
}

// causeOf reads the cause a rule is about: a rule cause.<symptom>.<id>.
// The cause's default rule (default cause.<symptom>.<id> := "open")
// declares it: its # METADATA has a title, a description and, under
// custom, its order in the article, the facts it rests on and, optionally,
// contact_can_try (see Cause.ContactCanTry). Any other
// rule of that name gives a verdict (verdict is set). ok is false for any
// other rule.
func causeOf(rule *ast.Rule) (c declaredCause, ok bool) {
	ref := rule.Head.Ref()
	if len(ref) == 0 || !ref[0].Equal(ast.VarTerm(causeRule)) {
		return c, false
	}
	if rule.Location != nil {
		c.File, c.Line = rule.Location.File, rule.Location.Row
	}
	parts := make([]string, 0, 2)
	for _, t := range ref[1:] {
		if s, isString := t.Value.(ast.String); isString {
			parts = append(parts, string(s))
		}
	}
	if len(ref) != 3 || len(parts) != 2 {
		c.errs = append(c.errs, fmt.Sprintf("a cause rule is %s.<symptom>.<id>, not %s", causeRule, ref))
		return c, true
	}
	c.Symptom, c.ID = parts[0], parts[1]
	if !rule.Default {
		c.verdict = true
		return c, true
	}
	var a *ast.Annotations
	for _, ann := range rule.Annotations {
		if ann.Scope == "rule" {
			a = ann
		}
	}
	if a == nil {
		c.errs = append(c.errs, fmt.Sprintf("cause %s: its default rule has no # METADATA (title, description, custom.facts)", c.ID))
		return c, true
	}
	c.Title, c.Description = a.Title, a.Description
	for key, v := range a.Custom {
		switch key {
		case "facts":
			c.errs = append(c.errs, fmt.Sprintf("cause %s: metadata custom.facts is no longer read: the facts a cause rests on are the ones its rules read", c.ID))
		case "after":
			after, ok := v.(string)
			if !ok || after == "" {
				c.errs = append(c.errs, fmt.Sprintf("cause %s: metadata custom.after must name the cause this one follows in the article, not %v", c.ID, v))
			}
			c.After = after
		case "order":
			c.errs = append(c.errs, fmt.Sprintf("cause %s: metadata custom.order is no longer read: a cause's place in the article is its place in the file, or custom.after: <cause id>", c.ID))
		case "contact_can_try":
			c.errs = append(c.errs, fmt.Sprintf("cause %s: metadata custom.contact_can_try is no longer read: write the rule contact_can_try contains %q", c.ID, c.ID))
		default:
			c.errs = append(c.errs, fmt.Sprintf("cause %s: unknown metadata custom.%s (a cause's custom metadata is after)", c.ID, key))
		}
	}
	return c, true
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// stringList reads a list of strings; other items are left out.
func stringList(v any) []string {
	items := asSlice(v)
	out := make([]string, 0, len(items))
	for _, item := range items {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// checkTexts reports every needed message missing in a language, located at
// the rule that needs it.
func checkTexts(c knowledge.Catalog, texts *locales.Texts) knowledge.Problems {
	var problems knowledge.Problems
	needed := c.Messages()
	for _, lang := range locales.Languages {
		for _, m := range needed {
			if _, ok := texts.Text(lang, m.ID); ok {
				continue
			}
			p := knowledge.Problem{File: m.File, Line: m.Line, Message: fmt.Sprintf("%s has no %s text: add %s to %s", m.For, lang, m.ID, locales.Path(lang))}
			if p.File == "" {
				p.File = locales.Path(lang)
			}
			problems = append(problems, p)
		}
	}
	return problems
}

// DeclaresCause reports whether a rule's text (one or more rules, without a
// package line) declares the cause id: a rule cause.<symptom>.<id> with its
// # METADATA, read as the catalog reads it.
func DeclaresCause(rule, id string) bool {
	m, err := ast.ParseModuleWithOpts("rule.rego", "package draft\n\n"+rule,
		ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err != nil {
		return false
	}
	for _, r := range m.Rules {
		if c, ok := causeOf(r); ok && c.ID == id && !c.verdict && len(c.errs) == 0 {
			return true
		}
	}
	return false
}
