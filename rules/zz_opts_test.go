package rules

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

func BenchmarkFloorOpts(b *testing.B) {
	p, req := realistic(b)
	ctx := context.Background()
	store := inmem.New()
	pq, err := rego.New(
		rego.Query("data.floor.allow"), rego.Store(store),
		rego.Module("floor.rego", "package floor\n\nallow := true\n"),
	).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	input := p.input(req)
	txn, _ := store.NewTransaction(ctx)
	never := topdown.NewCancel()
	for _, bc := range []struct {
		name string
		opts []rego.EvalOption
	}{
		{"plain", nil},
		{"noop-metrics", []rego.EvalOption{rego.EvalMetrics(metrics.NoOp())}},
		{"cancel", []rego.EvalOption{rego.EvalExternalCancel(never)}},
		{"txn", []rego.EvalOption{rego.EvalTransaction(txn)}},
		{"all", []rego.EvalOption{rego.EvalMetrics(metrics.NoOp()), rego.EvalExternalCancel(never), rego.EvalTransaction(txn)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, err := pq.Eval(ctx, append([]rego.EvalOption{rego.EvalParsedInput(input)}, bc.opts...)...)
				if err != nil || len(rs) != 1 {
					b.Fatal(err)
				}
			}
		})
	}
}
