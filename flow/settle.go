package flow

import (
	"context"

	"acceso/answer"
	"acceso/rules"
)

// Evaluator answers a diagnosis's request under p in lang: answer.Evaluate,
// or a function that also counts and logs as the server does.
type Evaluator func(ctx context.Context, p *rules.Policy, req rules.Request, lang string) (answer.Response, error)

// State is a settled self-diagnosis: the answers that apply, the engine's
// answer for them, and the next question for the contact (nil at the end:
// the outcome).
type State struct {
	Diagnosis Diagnosis
	Response  answer.Response
	Next      *answer.Question
}

// Settle replays a diagnosis through the engine: from no answer, it takes
// the engine's first question that a contact can answer and that has no
// answer yet; while the diagnosis answers it, the answer is kept and the
// engine asked again. Answers to questions the engine no longer asks are
// dropped. It makes one evaluation per answer kept, plus one.
func Settle(ctx context.Context, eval Evaluator, p *rules.Policy, d Diagnosis, lang string) (State, error) {
	kept := Diagnosis{Symptom: d.Symptom}
	for {
		resp, err := eval(ctx, p, kept.Request(), lang)
		if err != nil {
			return State{}, err
		}
		q, ok := NextQuestion(p.Catalog, kept, resp.Questions)
		if !ok {
			return State{Diagnosis: kept, Response: resp}, nil
		}
		a, answered := d.ReplyTo(q.Fact)
		if !answered {
			return State{Diagnosis: kept, Response: resp, Next: &q}, nil
		}
		kept = kept.With(a)
	}
}

// NextQuestion is the first of the engine's questions that a contact can
// answer and that d has no answer to: the engine asks again about facts
// answered "I don't know", the site does not.
func NextQuestion(cat rules.Catalog, d Diagnosis, questions []answer.Question) (answer.Question, bool) {
	for _, q := range questions {
		if f, _ := cat.Fact(q.Fact); f.AskedOf == rules.AskedOfContact && !d.Answered(q.Fact) {
			return q, true
		}
	}
	return answer.Question{}, false
}
