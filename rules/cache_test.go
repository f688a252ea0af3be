package rules

import (
	"acceso/knowledge"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// mixPath is the shared benchmark mix: 500 varied requests, a third with
// an identifier and a contact card to derive from.
var mixPath = filepath.Join("..", "..", "shared", "bench", "mix.jsonl")

// mixRequests reads the mix, skipping when it is missing (unless CI is
// set, where it must be there).
func mixRequests(tb testing.TB) (reqs []knowledge.Request, bodies []string) {
	tb.Helper()
	f, err := os.Open(mixPath)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the benchmark mix: %v", err)
		}
		tb.Skipf("the benchmark mix: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		req, err := parseRequest(sc.Text())
		if err != nil {
			tb.Fatalf("%s line %d: %v", mixPath, len(reqs)+1, err)
		}
		reqs = append(reqs, req)
		bodies = append(bodies, sc.Text())
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return reqs, bodies
}

// parseRequest reads a body as the API's decoder would for valid input.
func parseRequest(body string) (knowledge.Request, error) {
	var raw struct {
		Symptom string         `json:"symptom"`
		Facts   map[string]any `json:"facts"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		return knowledge.Request{}, err
	}
	req := knowledge.Request{Symptom: raw.Symptom, Facts: make(map[string]any)}
	for name, v := range raw.Facts {
		switch v := v.(type) {
		case float64:
			req.Facts[name] = int(v)
		case []any:
			list := make([]string, len(v))
			for i, item := range v {
				list[i], _ = item.(string)
			}
			req.Facts[name] = list
		case nil:
		default:
			req.Facts[name] = v
		}
	}
	return req, nil
}

func buildWith(tb testing.TB, opts Options) *Policy {
	tb.Helper()
	opts.SkipTests = true
	// The production deadline (250 ms) is a bound for a server, not a
	// property of an answer: on a busy machine four goroutines evaluating
	// at once can pass it without anything being wrong. These tests
	// compare answers, so they give evaluations all the time they need.
	if opts.Deadline == 0 {
		opts.Deadline = time.Minute
	}
	p, err := Build(context.Background(), Embedded(), opts)
	if err != nil {
		tb.Fatalf("Build(%+v) = %v", opts, err)
	}
	return p
}

// TestCacheAnswersAsEvaluation evaluates every request of the mix with and
// without the cache, twice over so the second pass is answered from it,
// and wants the same decision each time.
func TestCacheAnswersAsEvaluation(t *testing.T) {
	reqs, bodies := mixRequests(t)
	ctx := context.Background()
	uncached, cached := buildWith(t, Options{NoCache: true, Deadline: time.Minute}), buildWith(t, Options{Deadline: time.Minute})
	h0, m0 := cached.CacheStats() // the samples Build evaluated
	for pass := range 2 {
		for i, req := range reqs {
			want, err := uncached.Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("uncached Evaluate(%s) = %v", bodies[i], err)
			}
			got, err := cached.Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("cached Evaluate(%s) = %v", bodies[i], err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("pass %d: cached Evaluate(%s) = %+v; want %+v", pass+1, bodies[i], got, want)
			}
		}
		hits, misses := cached.CacheStats()
		hits, misses = hits-h0, misses-m0
		if pass == 1 && hits < uint64(len(reqs)) {
			t.Errorf("after two passes over %d requests, %d answered from the cache; want the whole second pass", len(reqs), hits)
		}
		if pass == 0 {
			t.Logf("first pass over %d requests: %d hits, %d misses, hit rate %.1f%%, %d decisions kept",
				len(reqs), hits, misses, 100*float64(hits)/float64(len(reqs)), cached.Default().cache.lru.Len())
		}
	}
	if hits, misses := uncached.CacheStats(); hits+misses != 0 || uncached.Default().cache != nil {
		t.Errorf("NoCache: CacheStats = %d, %d; want no cache", hits, misses)
	}
}

// TestEvaluateConcurrently evaluates the mix from several goroutines at
// once on one policy, the decision cache on, as the server does, and wants
// every answer to be the one a lone evaluation gives: the policy's shared
// terms and kept decisions must not leak between requests (go test -race
// watches them too).
func TestEvaluateConcurrently(t *testing.T) {
	reqs, bodies := mixRequests(t)
	ctx := context.Background()
	uncached, shared := buildWith(t, Options{NoCache: true, Deadline: time.Minute}), buildWith(t, Options{Deadline: time.Minute})
	want := make([]knowledge.Decision, len(reqs))
	for i, req := range reqs {
		d, err := uncached.Evaluate(ctx, req)
		if err != nil {
			t.Fatalf("Evaluate(%s) = %v", bodies[i], err)
		}
		want[i] = d
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for n := range 2 * len(reqs) {
				i := (n + g*len(reqs)/4) % len(reqs)
				got, err := shared.Evaluate(ctx, reqs[i])
				if err != nil {
					t.Errorf("Evaluate(%s) = %v", bodies[i], err)
					return
				}
				if !reflect.DeepEqual(got, want[i]) {
					t.Errorf("Evaluate(%s) at once with others = %+v; want %+v", bodies[i], got, want[i])
					return
				}
				// A caller may change its answer; the next caller's must not change.
				if len(got.Findings) > 0 {
					got.Findings[0].Because = append(got.Findings[0].Because[:0], "changed")
				}
			}
		})
	}
	wg.Wait()
}

// TestCacheHoldsNoPersonalData wants no key or decision kept to contain an
// identifier, email or phone number of the requests.
func TestCacheHoldsNoPersonalData(t *testing.T) {
	reqs, _ := mixRequests(t)
	ctx := context.Background()
	p := buildWith(t, Options{Deadline: time.Minute})
	var personal []string
	for _, req := range reqs {
		for _, f := range p.Catalog.Facts {
			switch v := req.Facts[f.Name].(type) {
			case string:
				if f.Personal {
					personal = append(personal, strings.TrimSpace(v))
				}
			case []string:
				if f.Personal {
					for _, s := range v {
						personal = append(personal, strings.TrimSpace(s))
					}
				}
			}
		}
		if _, err := p.Evaluate(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if len(personal) == 0 {
		t.Fatal("the mix has no personal data to look for")
	}
	for _, key := range p.Default().cache.lru.Keys() {
		d, _ := p.Default().cache.lru.Peek(key)
		kept := key + "\n" + fmt.Sprintf("%+v", d)
		for _, s := range personal {
			if s != "" && strings.Contains(kept, s) {
				t.Errorf("the cache holds %q in %s", s, kept)
			}
		}
	}
}

// TestCacheKey pins what the key rests on: two contacts whose identifier
// matches their card share an answer; a mismatch does not; a direct answer
// loses to a derived one, as in the rules.
func TestCacheKey(t *testing.T) {
	p := buildWith(t, Options{Deadline: time.Minute})
	ctx := context.Background()
	key := func(body string) string {
		t.Helper()
		req, err := parseRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		k, ok, err := p.Default().cache.key(ctx, req, func() ast.Value { return p.input(req) }, p.evalOptions)
		if err != nil || !ok {
			t.Fatalf("key(%s) = %q, %v, %v; want a key", body, k, ok, err)
		}
		return k
	}
	ana := key(`{"symptom":"code_not_received","facts":{"identifier":"ana@example.com","registered_emails":["Ana@example.com"]}}`)
	bea := key(`{"symptom":"code_not_received","facts":{"identifier":"bea@example.org","registered_emails":["bea@example.org"],"identifier_registered":false}}`)
	other := key(`{"symptom":"code_not_received","facts":{"identifier":"ana@example.com","registered_emails":["bea@example.org"]}}`)
	direct := key(`{"symptom":"code_not_received","facts":{"identifier_registered":true}}`)
	if ana != bea {
		t.Errorf("two matching cards: keys %q and %q; want one", ana, bea)
	}
	if ana == other {
		t.Errorf("a match and a mismatch share key %q", ana)
	}
	if ana != direct {
		t.Errorf("a derived and a direct answer: keys %q and %q; want one (the rules read the derived value in place of the direct one)", ana, direct)
	}
	// vpn is read only by the causes of code_not_accepted.
	often := key(`{"symptom":"code_needed_often","facts":{"incognito":true,"vpn":true}}`)
	if k := key(`{"symptom":"code_needed_often","facts":{"incognito":true,"vpn":false}}`); k != often {
		t.Errorf("requests differing only in a fact no cause in scope reads: keys %q and %q; want one", often, k)
	}
	if k := key(`{"facts":{"incognito":true,"vpn":false}}`); k == key(`{"facts":{"incognito":true,"vpn":true}}`) {
		t.Errorf("with every symptom in scope, vpn true and false share key %q", k)
	}
	if k := key(`{"symptom":"code_not_accepted","facts":{"incognito":true,"vpn":true}}`); k == often {
		t.Errorf("two symptoms share key %q", k)
	}
}

// TestCacheSharesOnlyEqualDecisions evaluates pairs of requests that
// differ in facts no cause in scope reads, or only in personal facts that
// derive the same, with the cache on: the second of each pair is answered
// from the cache, and every answer is the one an evaluation without the
// cache gives. Pairs whose derived facts differ (the card matches for one
// contact, not the other) each get their own answer.
func TestCacheSharesOnlyEqualDecisions(t *testing.T) {
	ctx := context.Background()
	uncached := buildWith(t, Options{NoCache: true, Deadline: time.Minute})
	tests := []struct {
		name   string
		a, b   string
		shared bool
	}{
		{"a fact read by no cause in scope", `{"symptom":"code_needed_often","facts":{"incognito":true,"vpn":true}}`, `{"symptom":"code_needed_often","facts":{"incognito":true,"vpn":false,"message_published":true}}`, true},
		{"two contacts whose cards match", `{"symptom":"code_not_received","facts":{"identifier":"ana@allowed.example","registered_emails":["ana@allowed.example"]}}`, `{"symptom":"code_not_received","facts":{"identifier":"bea@other.example","registered_emails":["BEA@other.example"]}}`, true},
		{"a card that matches and one that does not", `{"symptom":"code_not_received","facts":{"identifier":"ana@allowed.example","registered_emails":["ana@allowed.example"]}}`, `{"symptom":"code_not_received","facts":{"identifier":"bea@other.example","registered_emails":["ana@allowed.example"]}}`, false},
		{"a fact a cause in scope reads", `{"symptom":"code_not_accepted","facts":{"vpn":true}}`, `{"symptom":"code_not_accepted","facts":{"vpn":false}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cached := buildWith(t, Options{Deadline: time.Minute})
			for _, body := range []string{tc.a, tc.b} {
				req, err := parseRequest(body)
				if err != nil {
					t.Fatal(err)
				}
				want, err := uncached.Evaluate(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := cached.Evaluate(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("cached Evaluate(%s) = %+v; want %+v", body, got, want)
				}
			}
			hits, _ := cached.CacheStats()
			h0, _ := buildWith(t, Options{Deadline: time.Minute}).CacheStats() // the samples Build evaluated
			if shared := hits > h0; shared != tc.shared {
				t.Errorf("the second request answered from the cache: %v; want %v", shared, tc.shared)
			}
		})
	}
}
