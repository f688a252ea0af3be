package rules

import (
	"errors"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ErrEvaluation is the error of an evaluation that failed or ran past its
// deadline.
var ErrEvaluation = errors.New("rule evaluation failed")

// Request is a validated request: an optional symptom, an optional language
// hint and the known facts. A fact that is absent is unknown.
type Request struct {
	Symptom string
	Lang    string
	// Facts holds each known fact as bool, int, string or []string.
	Facts map[string]any
}

// input is the request as the rules read it: {"symptom": …, "facts": {…}},
// built directly as an OPA value so that no JSON round trip is needed.
func (r Request) input() ast.Value {
	facts := ast.NewObject()
	for name, v := range r.Facts {
		var term *ast.Term
		switch v := v.(type) {
		case bool:
			term = ast.BooleanTerm(v)
		case int:
			term = ast.IntNumberTerm(v)
		case string:
			term = ast.StringTerm(v)
		case []string:
			items := make([]*ast.Term, len(v))
			for i, s := range v {
				items[i] = ast.StringTerm(s)
			}
			term = ast.ArrayTerm(items...)
		default:
			continue
		}
		facts.Insert(ast.StringTerm(name), term)
	}
	in := ast.NewObject(ast.Item(ast.StringTerm("facts"), ast.NewTerm(facts)))
	if r.Symptom != "" {
		in.Insert(ast.StringTerm("symptom"), ast.StringTerm(r.Symptom))
	}
	return in
}

type sample struct {
	name string
	req  Request
}

// sampleRequests are the requests every source must answer within the
// deadline before it is served: nothing known, and every declared fact
// known, each with a value of its type.
func (c Catalog) sampleRequests() []sample {
	all := Request{Facts: make(map[string]any, len(c.Facts))}
	for _, f := range c.Facts {
		switch f.Type {
		case TypeBoolean:
			all.Facts[f.Name] = true
		case TypeCount:
			all.Facts[f.Name] = 3
		case TypeChoices:
			all.Facts[f.Name] = f.Choices[:1]
		case TypeString:
			all.Facts[f.Name] = "ana@example.com"
		case TypeStrings:
			all.Facts[f.Name] = []string{"Ana@Example.com", "+34 600 111 222"}
		}
	}
	return []sample{
		{"no facts", Request{Facts: map[string]any{}}},
		{"all facts", all},
	}
}
