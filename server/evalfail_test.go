package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"acceso/answer"
	"acceso/publish"
	"acceso/rules"
	"acceso/store"
)

// conflictOn7 makes a cause's rule fail for one input only: with 7 codes
// requested, _conflict has two values, which OPA refuses at evaluation
// time. No Rego test and no sample sends 7, so the rules build.
const conflictOn7 = "\n_conflict := x if {\n\tinput.facts.codes_requested == 7\n\tsome x in [1, 2]\n}\n"

// TestEvaluationFailsDeterministically serves rules that fail only for
// some inputs: those get 500 evaluation_failed, whose message does not
// invite a retry, and a log line with the rule's location but no fact;
// the other inputs are answered.
func TestEvaluationFailsDeterministically(t *testing.T) {
	t.Parallel()
	base, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	cause := spamCause(t, base)
	src := withBodyLine(t, base.Source, cause, "not _conflict", conflictOn7)
	p, err := rules.Build(context.Background(), src, rules.Options{})
	if err != nil {
		t.Fatalf("rules.Build(with a conflict on 7 codes) = %v", err)
	}
	ts := serveWith(t, p)

	const secret = "maria.secreta@example.com"
	body := func(codes string) string {
		return `{"symptom":"` + cause.Symptom + `","facts":{"codes_requested":` + codes + `,"identifier":"` + secret + `","registered_emails":["` + secret + `"]}}`
	}
	tests := []struct {
		name, body string
		want       int
		wantCode   string
	}{
		{"an input the rule decides", body("3"), http.StatusOK, ""},
		{"the input the rule fails on", body("7"), http.StatusInternalServerError, answer.CodeEvaluationFailed},
		{"the same input again", body("7"), http.StatusInternalServerError, answer.CodeEvaluationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := ts.do(t, evaluate(tc.body))
			if resp.StatusCode != tc.want || errorCode(b) != tc.wantCode {
				t.Fatalf("Evaluate(%s) = %d %s; want %d %q", tc.body, resp.StatusCode, b, tc.want, tc.wantCode)
			}
			if tc.want == http.StatusOK {
				return
			}
			msg := strings.ToLower(errorMessage(b))
			if strings.Contains(msg, "try again") || strings.Contains(msg, "retry") {
				t.Errorf("the message %q invites a retry of a request that will fail the same way", msg)
			}
			if got := resp.Header.Get("Retry-After"); got != "" {
				t.Errorf("Retry-After = %q; want none for a deterministic failure", got)
			}
		})
	}

	var located int
	for _, line := range ts.logs.Lines() {
		if strings.Contains(line, secret) || strings.Contains(line, "maria") {
			t.Errorf("a log line quotes a personal fact: %s", line)
		}
		var l struct {
			Msg, Rule, Code string
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "evaluation failed" {
			continue
		}
		if !strings.HasPrefix(l.Rule, cause.File+":") || l.Code == "" {
			t.Errorf("evaluation failure logged with rule %q, code %q; want %s:<row> and OPA's code: %s", l.Rule, l.Code, cause.File, line)
		}
		located++
	}
	if located != 2 {
		t.Errorf("%d evaluation failures logged with their rule; want 2", located)
	}
	fams := ts.scrape(t)
	if got := metricValue(fams, "acceso_evaluations_total", map[string]string{"outcome": "evaluation_failed"}); got != 2 {
		t.Errorf("acceso_evaluations_total{outcome=evaluation_failed} = %v; want 2", got)
	}
}

// serveWith is a test server serving p.
func serveWith(tb testing.TB, p *rules.Policy) *testServer {
	tb.Helper()
	db, err := store.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatalf("store.Open = %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	s := mustNew(tb, Config{APIRate: 1e6, APIBurst: 1e6}, publish.New(publish.Config{}, rules.NewEngine(p), db, log), db, log)
	hs := httptest.NewServer(s.Handler())
	tb.Cleanup(hs.Close)
	return &testServer{Server: s, URL: hs.URL, policy: p, db: db, logs: logs}
}
