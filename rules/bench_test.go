package rules

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// realistic is a request with all fifteen facts known.
func realistic(b *testing.B) (*Policy, Request) {
	b.Helper()
	p, err := Build(context.Background(), Embedded(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range p.Catalog.sampleRequests() {
		if s.name == "all facts" {
			if len(s.req.Facts) != len(p.Catalog.Facts) {
				b.Fatalf("the all-facts sample has %d facts; want %d", len(s.req.Facts), len(p.Catalog.Facts))
			}
			return p, s.req
		}
	}
	b.Fatal("no all-facts sample")
	return nil, Request{}
}

// BenchmarkEvaluate measures one decision on a realistic request: every fact
// known, the identifier derived from the card, all three symptoms in scope.
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
	_, req := realistic(b)
	ctx := context.Background()
	pq, err := rego.New(
		rego.Query("data.floor.allow"),
		rego.Module("floor.rego", "package floor\n\nallow := true\n"),
	).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	input := req.input()
	b.ReportAllocs()
	for b.Loop() {
		rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
		if err != nil || len(rs) != 1 {
			b.Fatal(err)
		}
	}
}
