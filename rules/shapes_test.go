package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// BenchmarkRuleShapes measures what topdown charges for a rule, whatever
// its body, on synthetic modules of 11 rules (as many as the login causes)
// with the realistic input: why BenchmarkEvaluate cannot come near the
// floor while each cause is a rule of its own. BENCHMARKS.md reads it.
func BenchmarkRuleShapes(b *testing.B) {
	p, req := realistic(b)
	input := p.input(req)
	ctx := context.Background()
	module := func(head string, rule string) string {
		var m strings.Builder
		m.WriteString("package x\n\n" + head)
		for i := range 11 {
			fmt.Fprintf(&m, rule, i%3, i)
		}
		return m.String()
	}
	refs := make([]string, 11)
	for i := range refs {
		refs[i] = fmt.Sprintf("c%d", i)
	}
	shapes := []struct{ name, query, module string }{
		{"one constant", "data.x.c0", module("", "c%[2]d := \"open\" # s%[1]d\n")},
		{"11 constants referenced", "data.x.all", module("all := ["+strings.Join(refs, ", ")+"]\n", "c%[2]d := \"open\" # s%[1]d\n")},
		{"11 constant leaves enumerated", "data.x.cause", module("", "cause.s%[1]d.c%[2]d := \"open\"\n")},
		{"11 cause leaves enumerated", "data.x.cause", module("",
			"default cause.s%[1]d.c%[2]d := \"open\"\n\ncause.s%[1]d.c%[2]d := \"likely\" if input.facts.vpn == true\n")},
		{"11 bodies of one partial object", "data.x.verdict", module("",
			"verdict[id] := \"likely\" if {\n\tid := \"c%[2]d\" # s%[1]d\n\tinput.facts.vpn == true\n}\n")},
	}
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			pq, err := rego.New(rego.Query(sh.query), rego.Module("x.rego", sh.module)).PrepareForEval(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
				if err != nil || len(rs) != 1 {
					b.Fatalf("%s = %v, %v", sh.query, rs, err)
				}
			}
		})
	}
}
