package publish

import (
	"acceso/knowledge"

	"github.com/open-policy-agent/opa/v1/ast"
)

// NewCauseTemplate is the rule the form to add a cause starts with: its
// # METADATA and the shape of a cause's rules, with <placeholders> for the
// admin to fill in. The cause goes after the causes before it in the
// module (custom.after places it elsewhere), and the facts it rests on are
// those its rules read: neither is written.
func NewCauseTemplate() string {
	return `# METADATA
# title: <what the cause is, for rule authors>
# description: <when it applies>
default cause.<symptom>.<id> := "open"

cause.<symptom>.<id> := "likely" if {
	input.facts.<fact> == true
} else := "ruled_out" if {
	input.facts.<fact> == false
}
`
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
func findFacts(src knowledge.Source) (factsDecl, error) {
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
	return factsDecl{}, knowledge.Problems{{File: "rules", Message: "no module declares the facts (facts := {…}); add the fact to the module that should"}}
}
