package rules

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// TestReadsChangeNoAnswer: the engine tells the rules which facts each
// cause reads (readsQuery), so that they try fewer answers; the rules alone,
// as stock OPA evaluates them, try every unknown fact. Both give the same
// decision on the shared mix, on a mix whose facts never repeat, and on
// the samples Build evaluates.
func TestReadsChangeNoAnswer(t *testing.T) {
	told := buildWith(t, Options{NoCache: true, Deadline: time.Minute})
	alone := buildWith(t, Options{NoCache: true, Deadline: time.Minute, rulesAlone: true})
	reqs := freshRequests(told.Catalog, 1000, 24)
	if mix, _ := mixRequests(t); len(mix) > 0 {
		reqs = append(reqs, mix...)
	}
	for _, s := range sampleRequests(told.Catalog) {
		reqs = append(reqs, s.req)
	}
	ctx := context.Background()
	for _, req := range reqs {
		got, err := told.Evaluate(ctx, req)
		if err != nil {
			t.Fatalf("Evaluate(%+v) = %v", req, err)
		}
		want, err := alone.Evaluate(ctx, req)
		if err != nil {
			t.Fatalf("Evaluate(%+v), the rules alone = %v", req, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Evaluate(%+v) = %+v; the rules alone give %+v", req, got, want)
		}
	}
}
