package rules

import (
	"acceso/knowledge"
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// realistic is a request with all fifteen facts known.
func realistic(b *testing.B) (*Policy, knowledge.Request) {
	b.Helper()
	p, err := Build(context.Background(), Embedded(), Options{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range sampleRequests(p.Catalog) {
		if s.name == "all facts" {
			if len(s.req.Facts) != len(p.Catalog.Facts) {
				b.Fatalf("the all-facts sample has %d facts; want %d", len(s.req.Facts), len(p.Catalog.Facts))
			}
			return p, s.req
		}
	}
	b.Fatal("no all-facts sample")
	return nil, knowledge.Request{}
}

// BenchmarkEvaluate measures one decision on a realistic request: every fact
// known, the identifier derived from the card, all three symptoms in scope;
// without the cache, so that the rules' own cost is measured.
func BenchmarkEvaluate(b *testing.B) {
	p, req := realistic(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Evaluate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloor measures the cheapest useful OPA evaluation: a prepared
// query of a constant rule, given the same input. BenchmarkEvaluate is
// read against it.
func BenchmarkFloor(b *testing.B) {
	p, req := realistic(b)
	ctx := context.Background()
	pq, err := rego.New(
		rego.Query("data.floor.allow"),
		rego.Module("floor.rego", "package floor\n\nallow := true\n"),
	).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	input := p.input(req)
	b.ReportAllocs()
	for b.Loop() {
		rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
		if err != nil || len(rs) != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateMix measures decisions on the shared mix of 500 distinct
// requests, sent in turn, with and without the decision cache; the cached
// run reports its hit rate (the first pass through the mix misses).
func BenchmarkEvaluateMix(b *testing.B) {
	reqs, _ := mixRequests(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"uncached", Options{NoCache: true}},
		{"cached", Options{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := buildWith(b, bc.opts)
			h0, m0 := p.CacheStats()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.Evaluate(ctx, reqs[i%len(reqs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if p.Default().cache != nil {
				hits, misses := p.CacheStats()
				hits, misses = hits-h0, misses-m0
				b.ReportMetric(100*float64(hits)/float64(max(1, hits+misses)), "hit%")
			}
		})
	}
}
