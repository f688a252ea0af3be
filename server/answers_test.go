package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"acceso/apikey"
	"acceso/knowledge"
	"acceso/rules"
	"acceso/store"
)

// TestEverySurfaceAnswersThroughTheService checks that each surface that
// answers (the API, the site's self-diagnosis, the admin look-up, the
// decisions API's read and continue) goes through the one answer service
// alike: with its one evaluation slot taken it is shed (503), and once the
// slot is free its answer is counted in acceso_evaluations_total, logged
// as a decision line with its source, and kept for look-up when (and only
// when) it hands a contact a new reference.
func TestEverySurfaceAnswersThroughTheService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := newTestServer(t, Config{MaxEvaluations: 1})
	outcome := "/en/diagnose/code_not_received/channels_tried=email-sms/spam_checked=yes/online=yes/"
	resp, page := newClient(t, ts.URL).get(t, outcome)
	kept := readDiagnose(t, page).reference
	if resp.StatusCode != http.StatusOK || !goldenReference.MatchString(kept) {
		t.Fatalf("GET %s = %d with reference %q; want 200 and one", outcome, resp.StatusCode, kept)
	}
	admin := signedInAdmin(t, ts)
	key, err := apikey.Add(ctx, ts.db, "desk", []string{apikey.ScopeDecisionsRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	api := func(c call) (int, string) {
		resp, body := ts.do(t, c)
		var r struct {
			Reference string `json:"reference"`
		}
		_ = json.Unmarshal(body, &r)
		return resp.StatusCode, r.Reference
	}
	page2 := func(get func() (*http.Response, string)) (int, string) {
		resp, body := get()
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, ""
		}
		return resp.StatusCode, readDiagnose(t, body).reference
	}

	tests := []struct {
		name   string
		source string
		keeps  bool // a new reference, kept for look-up
		ask    func() (status int, reference string)
	}{
		{"API evaluate", "api", true, func() (int, string) { return api(evaluate(specExample)) }},
		{"site outcome", "site", true, func() (int, string) {
			return page2(func() (*http.Response, string) { return newClient(t, ts.URL).get(t, outcome) })
		}},
		{"site question", "site", false, func() (int, string) {
			resp, _ := newClient(t, ts.URL).get(t, "/en/diagnose/code_not_received/")
			return resp.StatusCode, ""
		}},
		{"admin look-up", "lookup", false, func() (int, string) {
			resp, _ := admin.get(t, "/admin/decisions?reference="+url.QueryEscape(kept)+"&opted_out=yes", "Accept-Language", "en")
			return resp.StatusCode, ""
		}},
		{"decisions API read", "decisions", false, func() (int, string) { return api(withKey(getDecision(kept), key)) }},
		{"decisions API continue", "decisions", false, func() (int, string) {
			return api(withKey(continueDecisionCall(kept, `{"facts":{"opted_out":true}}`), key))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release, err := ts.acquireEvaluation(ctx)
			if err != nil {
				t.Fatal(err)
			}
			status, _ := tc.ask()
			release()
			if status != http.StatusServiceUnavailable {
				t.Errorf("%s with the only evaluation slot taken = %d; want 503 (shed)", tc.name, status)
			}

			ts.decisions.Flush()
			counted, logged, stored := evaluationsCounted(t, ts), logLines(t, ts, "decision", tc.source), ts.decisions.Stored()
			status, ref := tc.ask()
			if status != http.StatusOK {
				t.Fatalf("%s = %d; want 200", tc.name, status)
			}
			if got := evaluationsCounted(t, ts) - counted; got != 1 {
				t.Errorf("%s: acceso_evaluations_total rose by %v; want 1", tc.name, got)
			}
			if got := logLines(t, ts, "decision", tc.source) - logged; got != 1 {
				t.Errorf("%s: %d decision log lines with source %s; want 1", tc.name, got, tc.source)
			}
			ts.decisions.Flush()
			want := int64(0)
			if tc.keeps {
				want = 1
			}
			if got := ts.decisions.Stored() - stored; got != want {
				t.Errorf("%s: %d decisions kept; want %d", tc.name, got, want)
			}
			if !tc.keeps {
				return
			}
			dec, err := ts.db.Decision(ctx, ref)
			if err != nil || dec.Source != tc.source || dec.Revision != ts.policy.Revision {
				t.Errorf("%s: Decision(%q) = source %q, revision %q, %v; want %s, %s", tc.name, ref, dec.Source, dec.Revision, err, tc.source, ts.policy.Revision)
			}
		})
	}
}

// evaluationsCounted is acceso_evaluations_total over every outcome.
func evaluationsCounted(tb testing.TB, ts *testServer) float64 {
	tb.Helper()
	total := 0.0
	for _, outcome := range []string{knowledge.OutcomeCausesFound, knowledge.OutcomeNeedsAnswers, knowledge.OutcomeNoKnownCause, outcomeEvaluationFailed} {
		if v := metricValue(ts.scrape(tb), "acceso_evaluations_total", map[string]string{"outcome": outcome}); v > 0 {
			total += v
		}
	}
	return total
}

// logLines is how many log lines have the message msg and name source.
func logLines(tb testing.TB, ts *testServer, msg, source string) int {
	tb.Helper()
	n := 0
	for _, line := range ts.logs.Lines() {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		if entry["msg"] == msg && entry["source"] == source {
			n++
		}
	}
	return n
}

// TestEverySurfaceCountsItsFailures serves rules that fail for one input
// (7 codes requested) and asks each surface that evaluates it: the API,
// the admin look-up and the decisions API's read and continue of a kept
// decision made on that input. Each failure is counted in
// acceso_evaluations_total{outcome="evaluation_failed"} and logged with
// the surface's name, as the answer service does for all of them.
func TestEverySurfaceCountsItsFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	cause := spamCause(t, base)
	p, err := rules.Build(ctx, withBodyLine(t, base.Source, cause, "not _conflict", conflictOn7), rules.Options{})
	if err != nil {
		t.Fatalf("rules.Build(with a conflict on 7 codes) = %v", err)
	}
	ts := serveWith(t, p)
	const ref = "K7M4-QX9P"
	facts := map[string]any{"codes_requested": 7}
	if _, err := ts.db.AddDecisions(ctx, []store.Kept{{Reference: ref, At: time.Now(), Source: "site", Revision: p.Revision,
		Symptom: cause.Symptom, Facts: facts, Outcome: knowledge.OutcomeNeedsAnswers}}); err != nil {
		t.Fatal(err)
	}
	if err := addTestAdmin(ts.db, testAdmin); err != nil {
		t.Fatal(err)
	}
	admin := newAdminClient(t, ts)
	if resp := admin.signIn(t, testAdmin, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", resp.StatusCode)
	}
	key, err := apikey.Add(ctx, ts.db, "desk", []string{apikey.ScopeDecisionsRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	api := func(c call) int {
		resp, _ := ts.do(t, c)
		return resp.StatusCode
	}
	tests := []struct {
		name, source string
		ask          func() int
	}{
		{"API evaluate", "api", func() int {
			return api(evaluate(`{"symptom":"` + cause.Symptom + `","facts":{"codes_requested":7}}`))
		}},
		{"admin look-up", "lookup", func() int {
			resp, _ := admin.get(t, "/admin/decisions?reference="+url.QueryEscape(ref), "Accept-Language", "en")
			return resp.StatusCode
		}},
		{"decisions API read", "decisions", func() int { return api(withKey(getDecision(ref), key)) }},
		{"decisions API continue", "decisions", func() int {
			return api(withKey(continueDecisionCall(ref, `{"facts":{"opted_out":true}}`), key))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failed := metricValue(ts.scrape(t), "acceso_evaluations_total", map[string]string{"outcome": outcomeEvaluationFailed})
			logged := logLines(t, ts, "evaluation failed", tc.source)
			if status := tc.ask(); status != http.StatusInternalServerError {
				t.Errorf("%s on the failing input = %d; want 500", tc.name, status)
			}
			if got := metricValue(ts.scrape(t), "acceso_evaluations_total", map[string]string{"outcome": outcomeEvaluationFailed}) - max(failed, 0); got != 1 {
				t.Errorf("%s: acceso_evaluations_total{outcome=evaluation_failed} rose by %v; want 1", tc.name, got)
			}
			if got := logLines(t, ts, "evaluation failed", tc.source) - logged; got != 1 {
				t.Errorf("%s: %d evaluation failures logged with source %s; want 1", tc.name, got, tc.source)
			}
		})
	}
}
