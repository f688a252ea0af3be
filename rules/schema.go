package rules

import (
	"acceso/knowledge"
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputSchema is the JSON Schema of the rules' input made from the facts
// the topics declare (data.<topic>.facts, read from the parsed modules
// before they compile): OPA's type checker holds every rule to it, so a
// rule that reads a misspelt or undeclared fact fails to compile, with its
// file and line. The input is one object for every topic, so its facts are
// those of every topic (that a cause reads only its own topic's facts is
// checked with the catalog, restsOn). ok is false when the declarations
// cannot be read here, or two topics declare a fact differently; the
// catalog then says what is wrong with them.
func inputSchema(modules map[string]*ast.Module, topics []*Topic) (*ast.SchemaSet, bool) {
	var facts []knowledge.Fact
	for _, t := range topics {
		var decl *ast.Term
		for _, m := range modules {
			if !m.Package.Path.Equal(t.pkg) {
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
		declared, problems := readFacts(v, nil, nil, "")
		if len(problems) > 0 {
			return nil, false
		}
		facts = append(facts, declared...)
	}
	props := make(map[string]any, len(facts))
	for _, f := range facts {
		if prev, dup := props[f.Name]; dup {
			if !reflect.DeepEqual(prev, propOf(f)) {
				return nil, false
			}
			continue
		}
		props[f.Name] = propOf(f)
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

// propOf is the JSON Schema of a fact's value.
func propOf(f knowledge.Fact) map[string]any {
	switch f.Type {
	case knowledge.TypeBoolean:
		return map[string]any{"type": "boolean"}
	case knowledge.TypeCount:
		return map[string]any{"type": "integer"}
	case knowledge.TypeString:
		return map[string]any{"type": "string"}
	}
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
}
