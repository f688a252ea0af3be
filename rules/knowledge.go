package rules

import "acceso/knowledge"

// The domain types live in package knowledge, which imports no OPA. These
// aliases keep this package's own code reading as before while it moves;
// every package outside rules names the types through knowledge.
type (
	Source        = knowledge.Source
	Request       = knowledge.Request
	Decision      = knowledge.Decision
	Finding       = knowledge.Finding
	Question      = knowledge.Question
	Catalog       = knowledge.Catalog
	Cause         = knowledge.Cause
	Fact          = knowledge.Fact
	Problem       = knowledge.Problem
	Problems      = knowledge.Problems
	NeededMessage = knowledge.NeededMessage
)

// The domain constants this package reads, from knowledge.
const (
	TypeBoolean         = knowledge.TypeBoolean
	TypeCount           = knowledge.TypeCount
	TypeChoices         = knowledge.TypeChoices
	TypeString          = knowledge.TypeString
	TypeStrings         = knowledge.TypeStrings
	AskedOfContact      = knowledge.AskedOfContact
	AskedOfAdmin        = knowledge.AskedOfAdmin
	OutcomeCausesFound  = knowledge.OutcomeCausesFound
	OutcomeNeedsAnswers = knowledge.OutcomeNeedsAnswers
	OutcomeNoKnownCause = knowledge.OutcomeNoKnownCause
)

// IsTest reports whether a module path is a Rego test module; see
// knowledge.IsTest.
func IsTest(path string) bool { return knowledge.IsTest(path) }
