package rules

import (
	"acceso/knowledge"
	"errors"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ErrEvaluation is the error of an evaluation that failed or ran past its
// deadline.
var ErrEvaluation = errors.New("rule evaluation failed")

// input is the request as the rules read it: {"symptom": …, "facts": {…}},
// built directly as an OPA value so that no JSON round trip is needed. The
// names the rules declare (keys, facts, choices, symptoms) are terms made
// once per policy, so a request costs only its own values.
func (p *Policy) input(r knowledge.Request) ast.Value {
	facts := ast.NewObjectWithCapacity(len(r.Facts))
	for name, v := range r.Facts {
		var term *ast.Term
		switch v := v.(type) {
		case bool:
			term = ast.InternedTerm(v)
		case int:
			term = ast.InternedTerm(v)
		case string:
			term = ast.StringTerm(v)
		case []string:
			items := make([]*ast.Term, len(v))
			for i, s := range v {
				items[i] = p.term(s)
			}
			term = ast.ArrayTerm(items...)
		default:
			continue
		}
		facts.Insert(p.term(name), term)
	}
	in := ast.NewObjectWithCapacity(2)
	in.Insert(p.term("facts"), ast.NewTerm(facts))
	if r.Symptom != "" {
		in.Insert(p.term("symptom"), p.term(r.Symptom))
	}
	return in
}

// term is the string term of s: the policy's own when s is a name the rules
// declare, else a new one.
func (p *Policy) term(s string) *ast.Term {
	if t, ok := p.names[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// namesOf returns a term for every name the catalog declares.
func namesOf(c knowledge.Catalog) map[string]*ast.Term {
	names := map[string]*ast.Term{"facts": ast.StringTerm("facts"), "symptom": ast.StringTerm("symptom")}
	add := func(s string) {
		if _, ok := names[s]; !ok {
			names[s] = ast.StringTerm(s)
		}
	}
	for _, s := range c.Symptoms {
		add(s)
	}
	for _, f := range c.Facts {
		add(f.Name)
		for _, choice := range f.Choices {
			add(choice)
		}
	}
	return names
}

type sample struct {
	name string
	req  knowledge.Request
}

// sampleRequests are the requests every source must answer within the
// deadline before it is served: nothing known, and every declared fact
// known, each with a value of its type.
func sampleRequests(c knowledge.Catalog) []sample {
	all := knowledge.Request{Facts: make(map[string]any, len(c.Facts))}
	for _, f := range c.Facts {
		switch f.Type {
		case knowledge.TypeBoolean:
			all.Facts[f.Name] = true
		case knowledge.TypeCount:
			all.Facts[f.Name] = 3
		case knowledge.TypeChoices:
			all.Facts[f.Name] = f.Choices[:1]
		case knowledge.TypeString:
			all.Facts[f.Name] = "ana@example.com"
		case knowledge.TypeStrings:
			all.Facts[f.Name] = []string{"Ana@Example.com", "+34 600 111 222"}
		}
	}
	all.Topic = c.Topic
	return []sample{
		{"no facts", knowledge.Request{Topic: c.Topic, Facts: map[string]any{}}},
		{"all facts", all},
	}
}
