package rules

import (
	"bytes"
	_ "embed"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// capabilitiesJSON is the set of builtins and features rules may use: this
// OPA version's, less every builtin that reaches the network, the process's
// environment, or anything that varies between two evaluations of the same
// input. TestCapabilitiesFileIsCurrent writes it (go test ./rules/ -run
// TestCapabilitiesFileIsCurrent -update) and says why each builtin is left
// out; `opa check --capabilities` reads the same file.
//
//go:embed capabilities.json
var capabilitiesJSON []byte

// capabilities parses capabilitiesJSON once. Compilers only read the result.
var capabilities = sync.OnceValues(func() (*ast.Capabilities, error) {
	return ast.LoadCapabilitiesJSON(bytes.NewReader(capabilitiesJSON))
})

// refusedNote is appended to the problem of a call to a builtin that OPA has
// but the capabilities leave out, so that an admin reads why, not a typo.
const refusedNote = " (not allowed: rules may not reach the network, the environment or anything that varies)"

// explainRefused marks each "undefined function NAME" problem whose NAME is
// an OPA builtin left out of the capabilities.
func explainRefused(ps Problems) Problems {
	const prefix = "undefined function "
	for i, p := range ps {
		if fact, ok := strings.CutPrefix(p.Message, "undefined ref: input.facts."); ok {
			ps[i].Message += " (no fact " + fact + " is declared in data.login.facts; see rules/login/facts.rego)"
			continue
		}
		name, ok := strings.CutPrefix(p.Message, prefix)
		if !ok {
			continue
		}
		if _, builtin := ast.BuiltinMap[name]; builtin {
			ps[i].Message += refusedNote
		}
	}
	return ps
}
