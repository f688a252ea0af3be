package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEvaluateClientGone shows that a client hanging up is not a failed
// evaluation: nothing is counted as evaluation_failed and no warning is
// logged, and the request log says the client closed the request.
func TestEvaluateClientGone(t *testing.T) {
	ts := newTestServer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/evaluate", strings.NewReader(specExample))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	ts.Handler().ServeHTTP(rec, req)
	if rec.Code != statusClientClosed {
		t.Errorf("POST /api/v1/evaluate with the client gone = %d; want %d", rec.Code, statusClientClosed)
	}
	if got := metricValue(ts.scrape(t), "acceso_evaluations_total", map[string]string{"outcome": "evaluation_failed"}); got > 0 {
		t.Errorf("acceso_evaluations_total{outcome=evaluation_failed} = %v; want 0", got)
	}
	for _, line := range ts.logs.Lines() {
		if strings.Contains(line, `"msg":"evaluation failed"`) {
			t.Errorf("a client that left was logged as a failed evaluation: %s", line)
		}
	}
}
