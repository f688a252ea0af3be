package sandbox

import (
	"acceso/rules"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestKeptCrossesToTheChildTyped: the kept decisions of an exam reach the
// child (as JSON, the only way across) with their facts typed as the store
// gave them, so that the draft decides them as the serving process would.
func TestKeptCrossesToTheChildTyped(t *testing.T) {
	tests := []Exam{
		{Kept: []Kept{{Symptom: "code_not_received", Facts: map[string]any{"online": true, "codes_requested": 3, "channels_tried": []string{"email"}}}}},
		{Kept: []Kept{{Facts: map[string]any{}}}},
	}
	for _, exam := range tests {
		b, err := json.Marshal(exam)
		if err != nil {
			t.Fatal(err)
		}
		var got Exam
		if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, exam) {
			t.Errorf("Exam through %s = %#v, %v; want %#v", b, got, err, exam)
		}
	}
	var bad Exam
	if err := json.Unmarshal([]byte(`{"kept":[{"facts":{"codes_requested":2.5}}]}`), &bad); err == nil {
		t.Errorf("an exam whose kept fact is 2.5 reads as %#v; want an error", bad)
	}
}

// TestChildDecidesKeptAsTheServerWould: the child decides an exam's kept
// decisions as Examine does in the serving process, facts typed alike (a
// list and a count among them), and leaves out one the rules cannot read.
func TestChildDecidesKeptAsTheServerWould(t *testing.T) {
	ctx := context.Background()
	src := rules.Embedded()
	exam := Exam{Kept: []Kept{
		{Symptom: "code_not_received", Facts: map[string]any{"channels_tried": []string{"email"}, "spam_checked": false, "online": true, "codes_requested": 2}},
		{Symptom: "code_not_received", Facts: map[string]any{"retired_fact": true}},
	}}
	p, err := rules.Build(ctx, src, rules.Options{SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Examine(ctx, p, exam)
	if err != nil {
		t.Fatalf("Examine = %v", err)
	}
	if len(want.Decided) != 2 || want.Decided[0] == nil || len(want.Decided[0].Findings) == 0 || want.Decided[1] != nil {
		t.Fatalf("Examine decided %s; want findings for the first, nil for the second: the test would prove nothing", verdicts(want.Decided))
	}
	got, err := Run(ctx, src, exam, Limits{})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if !reflect.DeepEqual(got.Decided, want.Decided) {
		t.Errorf("the child decided %s; want %s, as the serving process", verdicts(got.Decided), verdicts(want.Decided))
	}
}

// verdicts prints decided verdicts by value, "none" for nil.
func verdicts(decided []*Verdict) string {
	var out []string
	for _, v := range decided {
		if v == nil {
			out = append(out, "none")
			continue
		}
		out = append(out, fmt.Sprintf("%+v", *v))
	}
	return "[" + strings.Join(out, ", ") + "]"
}
