package rules

import (
	"acceso/knowledge"
	"bytes"
	_ "embed"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// capabilitiesJSON is the set of builtins and features rules may use: an
// allow-list of this OPA version's builtins whose cost is bounded by the
// size of their (bounded) inputs and whose answer is the same on every
// server. Builtins whose work grows with a value rather than a size
// (bits.lsh, graph.reachable_paths, strings.render_template,
// json.marshal_with_options, sprintf), that read the process's zone
// (time.format), or that reach the network, the environment or randomness
// are left out. TestCapabilitiesFileIsCurrent writes it (go test ./rules/
// -run TestCapabilitiesFileIsCurrent -update) from its table of allowed
// builtins, each with why it is bounded; `opa check --capabilities` reads
// the same file.
//
//go:embed capabilities.json
var capabilitiesJSON []byte

// capabilities parses capabilitiesJSON once. Compilers only read the result.
var capabilities = sync.OnceValues(func() (*ast.Capabilities, error) {
	return ast.LoadCapabilitiesJSON(bytes.NewReader(capabilitiesJSON))
})

// refusedNote is appended to the problem of a call to a builtin that OPA has
// but the capabilities leave out, so that an admin reads why, not a typo.
const refusedNote = " (not allowed: rules may call only the builtins in rules/capabilities.json, whose cost is bounded by their inputs and whose answer is the same everywhere)"

// explainRefused marks each "undefined function NAME" problem whose NAME is
// an OPA builtin left out of the capabilities.
func explainRefused(ps knowledge.Problems) knowledge.Problems {
	const prefix = "undefined function "
	for i, p := range ps {
		if fact, ok := strings.CutPrefix(p.Message, "undefined ref: input.facts."); ok {
			ps[i].Message += " (no fact " + fact + " is declared in any topic's facts: see the topic's facts.rego)"
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
