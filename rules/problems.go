package rules

import (
	"errors"

	"github.com/open-policy-agent/opa/v1/ast"
)

// fromAST turns OPA's parse and compile errors into problems.
func fromAST(err error) Problems {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return Problems{{File: "rules", Message: err.Error()}}
	}
	ps := make(Problems, 0, len(errs))
	for _, e := range errs {
		p := Problem{File: "rules", Message: e.Message}
		if e.Location != nil {
			p.File, p.Line = e.Location.File, e.Location.Row
		}
		ps = append(ps, p)
	}
	return ps
}
