package answer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
)

// Service is the one path from a question to an answer. Every surface that
// answers a contact or a support agent asks it: the API's evaluate, the
// help site's self-diagnosis, the admin look-up, the decisions API's read
// and continue, and the command line's diagnose. What it does for each, in
// one place, so that no surface does it differently:
//
//   - it takes an evaluation slot (Acquire) before evaluating, so that the
//     evaluations running at once stay bounded over every surface;
//   - it starts the deadline (Timeout) once the slot is taken, so that the
//     deadline counts evaluating, not waiting for a CPU, and refuses an
//     answer that arrives after it like one that never arrives;
//   - it evaluates with the policy's decision cache (rules.Policy.Evaluate);
//   - it counts and logs each failed evaluation (Failed), except one whose
//     caller left, which is no failure of the rules;
//   - it keeps the decision under a fresh reference when the surface asks
//     (Keep), else gives the answer a random reference, drawn once;
//   - it counts and logs each answer (Decided), with the surface's name.
//
// A zero field does none of its part: the command line, one request per
// process and no server, sets no Acquire, Keep, Decided or Failed, so its
// answers are neither bounded, kept, counted nor logged; a server without a
// store sets no Keep. The server sets them all.
//
// Not through it, because they answer no one: rules that are not served
// (a draft's preview, the impact of a publish) are evaluated by Evaluate,
// and the exploration of every state of the self-diagnosis once per
// revision (flow.Explore: the static export, the sitemap, the admin's map
// of the flow, the references of exported states) by rules.Policy.Evaluate.
type Service struct {
	// Engine holds the policy being served.
	Engine *rules.Engine
	// Acquire takes an evaluation slot, or fails (overloaded, or ctx's
	// error); release gives it back. Nil: no bound.
	Acquire func(ctx context.Context) (release func(), err error)
	// Timeout bounds one answer's evaluations, from when its slot is
	// taken, on top of the policy's own deadline; zero leaves only the
	// policy's.
	Timeout time.Duration
	// Keep keeps the decision r (answered to req under p) and gives r the
	// reference it is kept under; it may leave r.Reference empty (nothing
	// kept), and then the answer gets a random one. Nil: nothing is kept.
	Keep func(source string, p *rules.Policy, req knowledge.Request, r *Response) error
	// Decided counts and logs an answer given by source, took after its
	// slot was taken. Nil: answers are not counted.
	Decided func(ctx context.Context, source string, r Response, took time.Duration)
	// Failed counts and logs an evaluation of p that failed or ran out of
	// time. Nil: failures are only returned.
	Failed func(ctx context.Context, source string, p *rules.Policy, err error, took time.Duration)
	// words keeps answers worded and encoded, for Ask.JSON.
	words words
}

// Ask is a question to the Service.
type Ask struct {
	// Source names the surface that asks (api, site, lookup, decisions,
	// cli): in the decision log and the kept decision.
	Source string
	// Policy answers; nil is the engine's current policy.
	Policy *rules.Policy
	// Body, when not nil, is a request body read strictly (Decode) under
	// Policy's catalog; a bad one is an error before any slot is taken.
	Body []byte
	// Request is the request when Body is nil: one already validated.
	Request knowledge.Request
	// Langs are the languages to answer in after the request's own lang,
	// first supported wins, else Spanish.
	Langs []string
	// Keep keeps the decision under a fresh reference (Service.Keep).
	Keep bool
	// JSON asks for the answer's JSON too (Result.JSON): the bytes
	// encoding/json's Encoder writes for the Response. A decision already
	// answered in the same language is then neither worded nor encoded
	// again (only its decision id and reference are new), and the
	// Response's slices are shared with the kept copy: read them only.
	JSON bool
	// JSONBuf, with JSON, is where the answer's JSON is appended when it
	// has room (Result.JSON then shares its array), so that a caller that
	// writes the bytes at once can reuse one buffer for many answers.
	JSONBuf []byte
}

// Result is an answer with the request as decided and the policy that
// decided it.
type Result struct {
	Response Response
	Request  knowledge.Request
	Policy   *rules.Policy
	// JSON is the Response as encoding/json's Encoder writes it, when
	// Ask.JSON asked for it.
	JSON []byte
}

// Answer answers one question with one evaluation: decode (when a body is
// given), take a slot, evaluate within the deadline, word the decision,
// keep it (when asked) and count it. Every error is an *Error, or wraps
// context.Canceled when the caller left (not counted as a failure).
func (s *Service) Answer(ctx context.Context, a Ask) (Result, error) {
	res := Result{Policy: a.Policy, Request: a.Request}
	if res.Policy == nil {
		res.Policy = s.Engine.Current()
	}
	if a.Body != nil {
		req, err := Decode(res.Policy.Catalog, a.Body)
		if err != nil {
			return res, err
		}
		res.Request = req
	}
	t := Turn{s: s, source: a.Source}
	ctx, err := t.begin(ctx)
	if err != nil {
		return res, err
	}
	defer t.End()
	d, err := t.Evaluate(ctx, res.Policy, res.Request)
	if err != nil {
		return res, err
	}
	lang := res.Request.Lang
	if !locales.Supported(lang) { // absent, or to be read as a hint
		lang = locales.Negotiate(append([]string{lang}, a.Langs...)...)
	}
	if !a.JSON {
		res.Response = NewResponse(res.Policy, d, lang)
		err = t.Finish(ctx, res.Policy, res.Request, &res.Response, a.Keep)
		return res, err
	}
	var tail []byte
	res.Response, tail = s.words.word(res.Policy, d, lang)
	if err = t.Finish(ctx, res.Policy, res.Request, &res.Response, a.Keep); err != nil {
		return res, err
	}
	if tail == nil {
		res.JSON, err = json.Marshal(res.Response)
		res.JSON = append(res.JSON, '\n')
		return res, err
	}
	buf := a.JSONBuf[:0]
	if cap(buf) < len(tail)+128 {
		buf = make([]byte, 0, len(tail)+128)
	}
	res.JSON = appendJSON(buf, res.Response, tail)
	return res, nil
}

// Turn is one answer in the making, for a surface that evaluates more than
// once for it (the self-diagnosis replays a contact's answers, one
// evaluation each): it holds one evaluation slot and one deadline for all
// of them. Begin starts it; Evaluate decides; Finish keeps and counts the
// answer; End gives the slot back.
type Turn struct {
	s       *Service
	source  string
	start   time.Time
	release func()
	cancel  context.CancelFunc
}

// Begin takes an evaluation slot for source and starts the deadline; the
// context returned carries it. On error no slot is held. Call End once
// the answer is given.
func (s *Service) Begin(ctx context.Context, source string) (*Turn, context.Context, error) {
	t := &Turn{s: s, source: source}
	ctx, err := t.begin(ctx)
	if err != nil {
		return nil, ctx, err
	}
	return t, ctx, nil
}

// begin takes the slot and starts the deadline.
func (t *Turn) begin(ctx context.Context) (context.Context, error) {
	if t.s.Acquire != nil {
		release, err := t.s.Acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx, fmt.Errorf("%w: %w", ErrGone, ctx.Err())
			}
			return ctx, err
		}
		t.release = release
	}
	if t.s.Timeout > 0 {
		ctx, t.cancel = context.WithTimeout(ctx, t.s.Timeout)
	}
	t.start = time.Now()
	return ctx, nil
}

// ErrGone is the error of an answer whose caller left before it was
// ready: there is no one to answer, and it is counted as no failure.
var ErrGone = errors.New("the caller left before the answer was ready")

// End gives the turn's slot back and stops its deadline.
func (t *Turn) End() {
	if t.cancel != nil {
		t.cancel()
	}
	if t.release != nil {
		t.release()
	}
}

// Evaluate decides req under p within the turn's deadline (a
// flow.Evaluator). A failure is counted and logged (Service.Failed) and
// returned as an *Error, unless the caller left: then it wraps ErrGone.
func (t *Turn) Evaluate(ctx context.Context, p *rules.Policy, req knowledge.Request) (knowledge.Decision, error) {
	start := time.Now()
	d, err := p.Evaluate(ctx, req)
	if err == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// An answer that arrives after the deadline is refused like one
		// that never arrives, so the deadline means the same every time.
		err = fmt.Errorf("%w: %w", rules.ErrEvaluation, ctx.Err())
	}
	if err == nil {
		return d, nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return knowledge.Decision{}, fmt.Errorf("%w: %w", ErrGone, ctx.Err())
	}
	if t.s.Failed != nil && errors.Is(err, rules.ErrEvaluation) {
		t.s.Failed(ctx, t.source, p, err, time.Since(start))
	}
	return knowledge.Decision{}, As(err)
}

// Finish gives r its reference and counts it: kept under a fresh one
// when keep is set and the service keeps decisions, else r's own if it
// has one (a reference already shown for the same outcome), else a random
// one. req is the request r answers, under p.
func (t *Turn) Finish(ctx context.Context, p *rules.Policy, req knowledge.Request, r *Response, keep bool) error {
	if keep && t.s.Keep != nil {
		if err := t.s.Keep(t.source, p, req, r); err != nil {
			return err
		}
	}
	if r.Reference == "" {
		r.Reference = knowledge.NewReference()
	}
	if t.s.Decided != nil {
		t.s.Decided(ctx, t.source, *r, time.Since(t.start))
	}
	return nil
}
