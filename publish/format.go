package publish

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"acceso/rules"
)

// The forms that add to the rules (a cause, a fact) write what the rules
// around them write: the rules have been declared two ways, with each
// cause's custom.order and custom.facts and each asked fact's "order", or
// by position with the facts a cause reads derived. What a form writes
// follows what the draft's rules already use, so that either kind of
// rules gets a declaration it accepts.

// CauseFormat is how the causes of a source declare themselves.
type CauseFormat struct {
	// Order is set when a cause's metadata has custom.order; NextOrder is
	// then the first whole number after every one used.
	Order     bool
	NextOrder int
	// Facts is set when a cause's metadata lists custom.facts.
	Facts bool
	// CanTry is set when a cause's metadata has custom.contact_can_try.
	CanTry bool
}

// CauseFormatOf reads how src's causes declare themselves, from the
// metadata of their default rules. A module that does not parse is left
// out: the check names it.
func CauseFormatOf(src rules.Source) CauseFormat {
	f := CauseFormat{NextOrder: 1}
	for _, name := range PolicyModules(src) {
		m, err := ast.ParseModuleWithOpts(name, src.Modules[name], ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			continue
		}
		for _, r := range m.Rules {
			ref := r.Head.Ref()
			if !r.Default || len(ref) == 0 || !ref[0].Equal(ast.VarTerm("cause")) {
				continue
			}
			for _, a := range r.Annotations {
				if order, ok := a.Custom["order"]; ok {
					f.Order = true
					if n, ok := wholeNumber(order); ok && n >= f.NextOrder {
						f.NextOrder = n + 1
					}
				}
				if _, ok := a.Custom["facts"]; ok {
					f.Facts = true
				}
				if _, ok := a.Custom["contact_can_try"]; ok {
					f.CanTry = true
				}
			}
		}
	}
	return f
}

// wholeNumber reads a number of metadata or of a Rego object.
func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case float64:
		return int(n), n == float64(int(n))
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// NewCauseTemplate is the rule the form to add a cause starts with: its
// # METADATA written as the source's causes write theirs, and the shape of
// a cause's rules, with <placeholders> for the admin to fill in.
func NewCauseTemplate(src rules.Source) string {
	f := CauseFormatOf(src)
	var b strings.Builder
	b.WriteString("# METADATA\n# title: <what the cause is, for rule authors>\n# description: <when it applies>\n")
	if f.Order || f.Facts || f.CanTry {
		b.WriteString("# custom:\n")
	}
	if f.Order {
		fmt.Fprintf(&b, "#   order: %d\n", f.NextOrder)
	}
	if f.Facts {
		b.WriteString("#   facts: [<fact>]\n")
	}
	if f.CanTry {
		b.WriteString("#   contact_can_try: false\n")
	}
	b.WriteString(`default cause.<symptom>.<id> := "open"

cause.<symptom>.<id> := "likely" if {
	input.facts.<fact> == true
} else := "ruled_out" if {
	input.facts.<fact> == false
}
`)
	return b.String()
}

// factsDecl is where a source declares its facts: the module, the text of
// the facts object and its offset in the module's text, and the
// declarations read from it.
type factsDecl struct {
	module string
	start  int // offset of the object's opening brace
	end    int // offset of its closing brace
	decls  map[string]map[string]any
}

// findFacts finds the rule facts := {…} among src's policy modules.
func findFacts(src rules.Source) (factsDecl, error) {
	for _, name := range PolicyModules(src) {
		text := src.Modules[name]
		m, err := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			continue
		}
		for _, r := range m.Rules {
			if r.Head.Name != "facts" && !r.Head.Ref().Equal(ast.Ref{ast.VarTerm("facts")}) {
				continue
			}
			if r.Head.Value == nil || r.Head.Value.Location == nil {
				continue
			}
			obj, ok := r.Head.Value.Value.(ast.Object)
			if !ok {
				continue
			}
			loc := r.Head.Value.Location
			start, end := loc.Offset, loc.Offset+len(loc.Text)-1
			if start < 0 || end >= len(text) || text[start] != '{' || text[end] != '}' {
				continue
			}
			d := factsDecl{module: name, start: start, end: end, decls: make(map[string]map[string]any)}
			var v map[string]any
			if raw, err := ast.JSON(obj); err == nil {
				v, _ = raw.(map[string]any)
			}
			for k, decl := range v {
				if m, ok := decl.(map[string]any); ok {
					d.decls[k] = m
				}
			}
			return d, nil
		}
	}
	return factsDecl{}, rules.Problems{{File: "rules", Message: "no module declares the facts (facts := {…}); add the fact to the module that should"}}
}

// NextFactOrder says whether the fact declarations decls give asked facts
// an "order", and then the first whole number after every one used; 0
// and false when none has one (the rules order facts by their position).
func NextFactOrder(decls map[string]map[string]any) (int, bool) {
	next, used := 1, false
	for _, name := range slices.Sorted(maps.Keys(decls)) {
		order, ok := decls[name]["order"]
		if !ok {
			continue
		}
		used = true
		if n, ok := wholeNumber(order); ok && n >= next {
			next = n + 1
		}
	}
	if !used {
		return 0, false
	}
	return next, true
}
