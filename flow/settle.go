package flow

import (
	"context"
	"slices"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/rules"
)

// Evaluator decides a diagnosis's request under p: the server's
// answer.Turn.Evaluate (its slot, deadline and failure metrics), or
// p.Evaluate alone where there is no server to bound it.
type Evaluator func(ctx context.Context, p *rules.Policy, req knowledge.Request) (knowledge.Decision, error)

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
// dropped. It makes one evaluation per answer kept, plus one, and words
// only the last decision, in lang.
func Settle(ctx context.Context, eval Evaluator, p *rules.Policy, d Diagnosis, lang string) (State, error) {
	kept := Diagnosis{Topic: d.Topic, Symptom: d.Symptom}
	for {
		decision, err := eval(ctx, p, kept.Request())
		if err != nil {
			return State{}, err
		}
		next, asked := NextQuestion(kept, decision.Questions)
		if asked {
			if a, answered := d.ReplyTo(next.Fact); answered {
				kept = kept.With(a)
				continue
			}
		}
		st := State{Diagnosis: kept, Response: answer.NewResponse(p, decision, lang)}
		if asked {
			i := slices.IndexFunc(st.Response.Questions, func(q answer.Question) bool { return q.Fact == next.Fact })
			st.Next = &st.Response.Questions[i]
		}
		return st, nil
	}
}

// NextQuestion is the first of the engine's questions that a contact can
// answer and that d has no answer to: the engine asks again about facts
// answered "I don't know", the site does not.
func NextQuestion(d Diagnosis, questions []knowledge.Question) (knowledge.Question, bool) {
	for _, q := range questions {
		if q.AskedOf == knowledge.AskedOfContact && !d.Answered(q.Fact) {
			return q, true
		}
	}
	return knowledge.Question{}, false
}
