package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/open-policy-agent/opa/v1/topdown"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/rules"
	"acceso/store"
)

// Defaults of the API's per-client rate limit, generous enough for an
// integration's bursts.
const (
	DefaultAPIRate  = 50  // requests per second, on average
	DefaultAPIBurst = 100 // requests at once
)

// recordDecision counts a decision and logs it: ids, outcome and timing,
// never a fact, so that no personal data reaches the logs. source names
// the surface that asked (api, site, …). It is the answer service's
// Decided. In a request, the decision goes into the request's own log
// line (observe); a second decision of the same request, or one made
// outside a request, gets a line of its own.
func (s *Server) recordDecision(ctx context.Context, source string, r answer.Response, took time.Duration) {
	s.metrics.evaluation(r.Outcome, r.Findings, took)
	findings := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		findings[i] = f.ID
	}
	// An inline group: its attributes read as the line's own.
	decision := slog.GroupAttrs("",
		slog.String("decision_id", r.DecisionID),
		slog.String("reference", r.Reference),
		slog.String("revision", r.PolicyRevision),
		slog.String("source", source),
		slog.Any("symptoms", r.Symptoms),
		slog.String("outcome", r.Outcome),
		slog.Any("findings", findings),
		slog.String("lang", r.Lang),
		slog.Float64("evaluation_ms", milliseconds(took)))
	if line, ok := ctx.Value(requestLineKey{}).(*requestLine); ok && !line.decided {
		line.decided, line.decision = true, decision
		return
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "decision", decision)
}

// evaluationFailed counts and logs an evaluation that failed or ran out of
// time, with the failing rule's file:row and OPA's error code when a rule
// failed (the answer service's Failed). The error's text is not logged: an error from a built-in can
// quote the input it choked on, and the input may be an email address.
func (s *Server) evaluationFailed(ctx context.Context, source string, p *rules.Policy, err error, took time.Duration) {
	s.metrics.evaluationFailed(took)
	reason := "error"
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "deadline_exceeded"
	} else if errors.Is(err, context.Canceled) {
		reason = "canceled"
	}
	attrs := []slog.Attr{
		slog.String("revision", p.Revision),
		slog.String("source", source),
		slog.String("reason", reason),
		slog.Float64("duration_ms", milliseconds(took)),
	}
	// A rule that failed (a conflict, a built-in's error) is named by its
	// place and OPA's error code, so that an admin can fix it; never by
	// the message, which can quote the input.
	if te, ok := errors.AsType[*topdown.Error](err); ok {
		attrs = append(attrs, slog.String("code", te.Code))
		if loc := te.Location; loc != nil {
			attrs = append(attrs, slog.String("rule", fmt.Sprintf("%s:%d", loc.File, loc.Row)))
		}
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "evaluation failed", attrs...)
}

// keepDecision gives a decision its reference (one no other decision has,
// store.References) and stores it for that reference: source, revision,
// symptom, the non-personal facts, findings and outcome; never a personal
// fact. Writes are batched off the request path (store.DecisionWriter).
// It fails only when no reference can be handed out (the database has
// been out of reach for half a block of decisions).
func (s *Server) keepDecision(source string, p *rules.Policy, req knowledge.Request, r *answer.Response) error {
	if s.decisions == nil {
		return nil
	}
	ref, err := s.references.Next()
	if err != nil {
		return err
	}
	r.Reference = ref
	findings := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		findings[i] = f.ID
	}
	facts := make(map[string]any, len(req.Facts))
	for name, v := range req.Facts {
		if f, ok := p.Catalog.Fact(name); ok && !f.Personal {
			facts[name] = v
		}
	}
	s.decisions.Add(store.Kept{
		Reference: r.Reference,
		At:        s.now().UTC(),
		Source:    source,
		Revision:  r.PolicyRevision,
		Topic:     p.TopicOf(req).Name,
		Symptom:   req.Symptom,
		Facts:     facts,
		Findings:  findings,
		Outcome:   r.Outcome,
		ToTry:     len(r.ToTry),
	})
	return nil
}
