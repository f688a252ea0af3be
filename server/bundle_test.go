package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/rego"

	"acceso/internal/interop"
	"acceso/knowledge"
	"acceso/server/bundle"
)

// bundleSamples are API requests whose decisions an OPA running the
// bundle must give exactly as Acceso does.
var bundleSamples = []string{
	`{}`,
	`{"symptom":"code_needed_often"}`,
	`{"symptom":"code_not_received","facts":{"spam_checked":false,"channels_tried":["email"]}}`,
	`{"facts":{"vpn":true,"incognito":true}}`,
	`{"facts":{"identifier":"Ana@Example.com ","registered_emails":["ana@example.com"],"spam_checked":true}}`,
	`{"facts":{"identifier":"+34 600-111 222","registered_phones":["+34600111222"],"opted_out":false,"channels_tried":["email","sms"],"spam_checked":true,"online":true,"incognito":false,"cookies_autodelete":false,"new_device":false,"message_published":true,"vpn":false,"codes_requested":2,"used_latest_code":true}}`,
}

// opaInput is the input OPA is asked with for an API request: the rules'
// input, the symptom and the facts.
func opaInput(tb testing.TB, body string) map[string]any {
	tb.Helper()
	var req map[string]any
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		tb.Fatal(err)
	}
	in := map[string]any{"facts": map[string]any{}}
	if f, ok := req["facts"].(map[string]any); ok {
		in["facts"] = f
	}
	if s, ok := req["symptom"].(string); ok {
		in["symptom"] = s
	}
	return in
}

func TestBundleAccess(t *testing.T) {
	const token = "s3cret-bundle-token"
	open := newTestServer(t, Config{BundleToken: token})
	off := newTestServer(t, Config{})
	rev := open.Server.engine.Current().Revision
	tests := []struct {
		name   string
		ts     *testServer
		path   string
		header map[string]string
		want   int
	}{
		{"no --bundle-token: no bundles", off, "/bundles/acceso.tar.gz", map[string]string{"Authorization": "Bearer "}, 404},
		{"no token", open, "/bundles/acceso.tar.gz", nil, 401},
		{"a wrong token", open, "/bundles/acceso.tar.gz", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"the token, not as a bearer", open, "/bundles/acceso.tar.gz", map[string]string{"Authorization": token}, 401},
		{"the token", open, "/bundles/acceso.tar.gz", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"another name, the same bundle", open, "/bundles/authz.tar.gz", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"not a .tar.gz", open, "/bundles/acceso.zip", map[string]string{"Authorization": "Bearer " + token}, 404},
		{"the revision OPA has", open, "/bundles/acceso.tar.gz", map[string]string{"Authorization": "Bearer " + token, "If-None-Match": `"` + rev + `"`}, 304},
		{"an older revision", open, "/bundles/acceso.tar.gz", map[string]string{"Authorization": "Bearer " + token, "If-None-Match": `"0123456789abcdef"`}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := tc.ts.do(t, call{path: tc.path, header: tc.header})
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s = %d; want %d", tc.path, resp.StatusCode, tc.want)
			}
			if tc.want == 200 || tc.want == 304 {
				if got := resp.Header.Get("ETag"); got != `"`+rev+`"` {
					t.Errorf("ETag = %s; want %q", got, rev)
				}
			}
		})
	}
}

// TestBundleDecidesAsAcceso reads the bundle as OPA does (its bundle
// reader: manifest, roots, modules, data) and evaluates the samples on
// it with OPA's own rego package: every decision is Acceso's.
func TestBundleDecidesAsAcceso(t *testing.T) {
	ts := newTestServer(t, Config{BundleToken: "t"})
	resp, body := ts.do(t, call{path: "/bundles/acceso.tar.gz", header: map[string]string{"Authorization": "Bearer t"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("GET /bundles/acceso.tar.gz = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	b, err := opabundle.NewReader(bytes.NewReader(body)).Read()
	if err != nil {
		t.Fatalf("OPA's bundle reader: %v", err)
	}
	rev := ts.Server.engine.Current().Revision
	if b.Manifest.Revision != rev || !reflect.DeepEqual(*b.Manifest.Roots, []string{"login"}) {
		t.Errorf("manifest = %s %v; want revision %s, roots %v", b.Manifest.Revision, *b.Manifest.Roots, rev, []string{"login"})
	}
	for _, m := range b.Modules {
		if knowledge.IsTest(m.Path) {
			t.Errorf("the bundle holds the test module %s", m.Path)
		}
	}
	ctx := context.Background()
	pq, err := rego.New(rego.Query("data.login.decision"), rego.ParsedBundle("acceso", &b)).PrepareForEval(ctx)
	if err != nil {
		t.Fatalf("preparing data.login.decision on the bundle: %v", err)
	}
	for _, sample := range bundleSamples {
		_, body := ts.do(t, evaluate(sample))
		want, err := interop.FromAPI(body)
		if err != nil {
			t.Fatalf("the API's answer %.200s: %v", body, err)
		}
		rs, err := pq.Eval(ctx, rego.EvalInput(opaInput(t, sample)))
		if err != nil || len(rs) != 1 {
			t.Fatalf("OPA on %s = %v, %v", sample, rs, err)
		}
		doc, _ := json.Marshal(rs[0].Expressions[0].Value)
		got, err := interop.FromOPA(doc)
		if err != nil {
			t.Fatalf("OPA's decision %.200s: %v", doc, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("OPA decides %s as\n%+v; Acceso as\n%+v", sample, got, want)
		}
	}
}

// TestBundleFailuresAreLimited sends wrong bundle tokens from one address:
// after bundle.FailBurst failures, even the right token is answered 429
// from that address, while another address still gets its bundle.
func TestBundleFailuresAreLimited(t *testing.T) {
	const token = "the-right-bundle-token-0123456789"
	ts := newTestServer(t, Config{BundleToken: token, TrustedProxies: []string{"127.0.0.1/32", "::1/128"}})
	get := func(from, bearer string) int {
		t.Helper()
		resp, _ := ts.do(t, call{path: "/bundles/acceso.tar.gz", header: map[string]string{"Authorization": "Bearer " + bearer, "X-Forwarded-For": from}})
		return resp.StatusCode
	}
	const attacker, opa = "203.0.113.7", "198.51.100.2"
	for i := range bundle.FailBurst {
		if got := get(attacker, fmt.Sprintf("guess-%d", i)); got != http.StatusUnauthorized {
			t.Fatalf("wrong token #%d = %d; want 401", i+1, got)
		}
	}
	if got := get(attacker, "guess-again"); got != http.StatusTooManyRequests {
		t.Errorf("wrong token #%d = %d; want 429", bundle.FailBurst+1, got)
	}
	if got := get(attacker, token); got != http.StatusTooManyRequests {
		t.Errorf("the right token after %d failures from the same address = %d; want 429 (nothing is compared)", bundle.FailBurst+1, got)
	}
	if got := get(opa, token); got != http.StatusOK {
		t.Errorf("the right token from another address = %d; want 200", got)
	}
	for range 2 * bundle.FailBurst {
		if got := get(opa, token); got != http.StatusOK {
			t.Fatalf("the right token, polled again = %d; want 200 (successes are not limited)", got)
		}
	}
}
