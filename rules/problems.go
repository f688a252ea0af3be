package rules

import (
	"acceso/knowledge"
	"errors"

	"github.com/open-policy-agent/opa/v1/ast"
)

// fromAST turns OPA's parse and compile errors into problems.
func fromAST(err error) knowledge.Problems {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return knowledge.Problems{{File: "rules", Message: err.Error()}}
	}
	ps := make(knowledge.Problems, 0, len(errs))
	for _, e := range errs {
		p := knowledge.Problem{File: "rules", Message: e.Message}
		if e.Location != nil {
			p.File, p.Line = e.Location.File, e.Location.Row
		}
		ps = append(ps, p)
	}
	return ps
}
