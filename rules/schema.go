package rules

import (
	"acceso/knowledge"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputSchema is the JSON Schema of the rules' input made from the facts
// the modules declare (data.login.facts, read from the parsed modules
// before they compile): OPA's type checker holds every rule to it, so a
// rule that reads a misspelt or undeclared fact fails to compile, with its
// file and line. ok is false when the declarations cannot be read here;
// the catalog then says what is wrong with them.
func inputSchema(modules map[string]*ast.Module) (*ast.SchemaSet, bool) {
	var decl *ast.Term
	for _, m := range modules {
		if !m.Package.Path.Equal(ast.MustParseRef(packagePath)) {
			continue
		}
		for _, r := range m.Rules {
			if r.Head.Name == "facts" && len(r.Head.Ref()) == 1 && r.Head.Value != nil && len(r.Body) == 1 {
				decl = r.Head.Value
			}
		}
	}
	if decl == nil {
		return nil, false
	}
	v, err := ast.JSON(decl.Value)
	if err != nil {
		return nil, false
	}
	facts, problems := readFacts(v, nil, nil)
	if len(problems) > 0 {
		return nil, false
	}
	props := make(map[string]any, len(facts))
	for _, f := range facts {
		switch f.Type {
		case knowledge.TypeBoolean:
			props[f.Name] = map[string]any{"type": "boolean"}
		case knowledge.TypeCount:
			props[f.Name] = map[string]any{"type": "integer"}
		case knowledge.TypeString:
			props[f.Name] = map[string]any{"type": "string"}
		case knowledge.TypeStrings, knowledge.TypeChoices:
			props[f.Name] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
		}
	}
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"symptom": map[string]any{"type": "string"},
			"lang":    map[string]any{"type": "string"},
			"facts":   map[string]any{"type": "object", "properties": props, "additionalProperties": false},
		},
		"additionalProperties": false,
	}
	ss := ast.NewSchemaSet()
	ss.Put(ast.SchemaRootRef, schema)
	return ss, true
}
