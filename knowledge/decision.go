package knowledge

import "slices"

// Decision is the rules' answer for one request, in ids: the revision that
// decided it, the symptoms in scope, the outcome, the likely causes, the
// causes ruled out and the questions still worth asking, in article order.
type Decision struct {
	Revision string
	// Topic is the topic whose rules decided.
	Topic    string
	Symptoms []string
	Outcome  string
	Findings []Finding
	RuledOut []string
	// ToTry are the open causes a contact can try (Cause.ContactCanTry).
	ToTry     []string
	Questions []Question
}

// Finding is a likely cause and the known facts it rests on.
type Finding struct {
	ID      string
	Symptom string
	Because []string
}

// Question is an unknown fact that could still change the answer: its
// kind of answer and who can give it.
type Question struct {
	Fact    string
	Type    string
	AskedOf string
}

// Outcomes of a decision.
const (
	OutcomeCausesFound  = "causes_found"
	OutcomeNeedsAnswers = "needs_answers"
	OutcomeNoKnownCause = "no_known_cause"
)

// Kinds of answer a question takes, as the API names them.
const (
	// QuestionBoolean is a yes/no question.
	QuestionBoolean = "boolean"
	// QuestionMultipleChoice is a question whose answer is any number of
	// the fact's choices.
	QuestionMultipleChoice = "multiple_choice"
)

// QuestionType is the kind of answer a question about a fact of type
// typ takes: a list of choices is a multiple choice, anything else yes/no.
func QuestionType(typ string) string {
	if typ == TypeChoices {
		return QuestionMultipleChoice
	}
	return QuestionBoolean
}

// Clone returns a copy of d that shares nothing with it, so that a caller
// changing its answer cannot change one kept elsewhere.
func (d Decision) Clone() Decision {
	d.Symptoms = slices.Clone(d.Symptoms)
	d.RuledOut = slices.Clone(d.RuledOut)
	d.ToTry = slices.Clone(d.ToTry)
	d.Questions = slices.Clone(d.Questions)
	findings := make([]Finding, len(d.Findings))
	for i, f := range d.Findings {
		f.Because = slices.Clone(f.Because)
		findings[i] = f
	}
	d.Findings = findings
	return d
}
