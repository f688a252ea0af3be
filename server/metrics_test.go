package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMetricsOnlyOnTheMetricsListener checks that the public listener does
// not serve /metrics (they name routes, sign-in failures and the Go
// version), and that --metrics-addr serves them, and only them.
func TestMetricsOnlyOnTheMetricsListener(t *testing.T) {
	ts := newTestServer(t, Config{})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		if resp, _ := ts.do(t, call{method: method, path: "/metrics"}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s /metrics on the public listener = %d; want 404", method, resp.StatusCode)
		}
	}

	s, _, _, _ := newServer(t, Config{})
	addrs := map[string]string{}
	for name, ln := range map[string]*net.Listener{"public": &s.echo.Listener, "metrics": &s.metricsListener} {
		l, err := Listen("127.0.0.1:0")
		if err != nil {
			t.Fatalf("Listen = %v", err)
		}
		*ln, addrs[name] = l, l.Addr().String()
	}
	public, metrics := addrs["public"], addrs["metrics"]
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx, 5*time.Second) }()

	tests := []struct {
		name, addr, path string
		want             int
		wantBody         string
	}{
		{"metrics listener, /metrics", metrics, "/metrics", http.StatusOK, "acceso_policy_revision"},
		{"metrics listener, decisions not kept", metrics, "/metrics", http.StatusOK, "acceso_decisions_dropped_total 0"},
		{"metrics listener, decisions reused", metrics, "/metrics", http.StatusOK, "acceso_decision_cache_hits_total "},
		{"metrics listener, another path", metrics, "/api/v1/causes", http.StatusNotFound, ""},
		{"metrics listener, the site", metrics, "/", http.StatusNotFound, ""},
		{"public listener, /metrics", public, "/metrics", http.StatusNotFound, ""},
		{"public listener, the probes", public, "/healthz", http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get("http://" + tc.addr + tc.path)
			if err != nil {
				t.Fatalf("GET %s on %s = %v", tc.path, tc.addr, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Errorf("GET %s on %s = %d; want %d", tc.path, tc.name, resp.StatusCode, tc.want)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("GET %s on %s does not hold %q", tc.path, tc.name, tc.wantBody)
			}
		})
	}

	stop()
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v; want nil after the context is done", err)
	}
	for name, addr := range addrs {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("the %q listener %s still accepts connections after Run returned", name, addr)
		}
	}
}

// TestMetricsAddrIsBound checks that Run binds Config.MetricsAddr itself
// when no listener was set: an address already taken is its clear error,
// and the public listener is let go.
func TestMetricsAddrIsBound(t *testing.T) {
	taken, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen = %v", err)
	}
	defer taken.Close()
	s, _, _, _ := newServer(t, Config{MetricsAddr: taken.Addr().String()})
	public, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen = %v", err)
	}
	s.echo.Listener = public
	err = s.Run(context.Background(), time.Second)
	if want := "metrics: listen on " + taken.Addr().String() + ": address already in use"; err == nil || err.Error() != want {
		t.Fatalf("Run with the metrics address taken = %v; want %q", err, want)
	}
	if conn, err := net.DialTimeout("tcp", public.Addr().String(), time.Second); err == nil {
		conn.Close()
		t.Errorf("the public listener %s still accepts connections after Run failed", public.Addr())
	}
}
