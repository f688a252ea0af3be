package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/rules"
)

// neverRepeating is n request bodies for the catalog cat whose non-personal
// facts almost never repeat (each known or not, with a random value of its
// type), a symptom or none, a fresh identifier in a third of them: the
// load test's never-repeating mix (loadtest/unique.go), made in process.
func neverRepeating(cat knowledge.Catalog, n int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, ^seed))
	bodies := make([][]byte, n)
	for i := range bodies {
		facts := map[string]any{}
		for _, f := range cat.Facts {
			if f.Personal || r.IntN(2) == 0 {
				continue
			}
			switch f.Type {
			case knowledge.TypeBoolean:
				facts[f.Name] = r.IntN(2) == 0
			case knowledge.TypeCount:
				facts[f.Name] = r.IntN(1_001)
			case knowledge.TypeChoices:
				picked := []string{f.Choices[r.IntN(len(f.Choices))]}
				for _, c := range f.Choices {
					if r.IntN(2) == 0 && c != picked[0] {
						picked = append(picked, c)
					}
				}
				facts[f.Name] = picked
			}
		}
		if r.IntN(3) == 0 {
			email := fmt.Sprintf("contact%d.%d@load.example", i, r.Uint32())
			facts["identifier"] = email
			facts["registered_emails"] = []string{[]string{" " + email + " ", "other@load.example"}[r.IntN(2)]}
		}
		req := map[string]any{"lang": []string{"es", "en"}[r.IntN(2)], "facts": facts}
		if k := r.IntN(len(cat.Symptoms) + 1); k < len(cat.Symptoms) {
			req["symptom"] = cat.Symptoms[k]
		}
		bodies[i], _ = json.Marshal(req)
	}
	return bodies
}

// BenchmarkEvaluateUniqueAPI sends requests that almost never repeat
// through the whole handler chain, as the load test's never-repeating mix
// does but without the network: the decision cache seldom helps, so it
// measures the work of a miss. `-cpuprofile` shows where it goes.
func BenchmarkEvaluateUniqueAPI(b *testing.B) {
	s, p, _, _ := newServer(b, Config{APIRate: 1e9, APIBurst: 1e9})
	s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := s.Handler()
	mix := neverRepeating(p.Catalog, 50_000, 24)
	hits0, misses0 := p.CacheStats()
	b.ReportAllocs()
	b.ResetTimer()
	postInTurn(b, h, mix)
	hits, misses := p.CacheStats()
	if n := (hits - hits0) + (misses - misses0); n > 0 {
		b.ReportMetric(100*float64(hits-hits0)/float64(n), "%hits")
	}
}

// TestCachedAnswersMatchUncachedOnNeverRepeatingMix checks that the
// decision cache never changes an answer on traffic that almost never
// repeats: each request of the never-repeating mix is decided by the
// rules with their cache (twice: the second time it may be reused, as
// may any decision the cache's key says is the same) and without it,
// and the decisions must be equal.
func TestCachedAnswersMatchUncachedOnNeverRepeatingMix(t *testing.T) {
	ctx := context.Background()
	cached, err := rules.Build(ctx, rules.Embedded(), rules.Options{SkipTests: true, Deadline: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	uncached, err := rules.Build(ctx, rules.Embedded(), rules.Options{SkipTests: true, NoCache: true, Deadline: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	n := 3000
	if testing.Short() {
		n = 500
	}
	for i, body := range neverRepeating(cached.Catalog, n, 7) {
		req, err := answer.Decode(cached.Catalog, body)
		if err != nil {
			t.Fatalf("Decode(%s) = %v", body, err)
		}
		want, err := uncached.Evaluate(ctx, req)
		if err != nil {
			t.Fatalf("uncached Evaluate(%s) = %v", body, err)
		}
		for pass := range 2 {
			got, err := cached.Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("cached Evaluate(%s) = %v", body, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("request %d, pass %d: cached Evaluate(%s) = %+v; want (uncached) %+v", i, pass, body, got, want)
			}
		}
	}
	hits, misses := cached.CacheStats()
	t.Logf("%d requests twice: %d reused, %d evaluated and kept", n, hits, misses)
	if hits < uint64(n) {
		t.Errorf("the cache reused %d decisions of %d requests sent twice; want at least one each (the test would prove nothing)", hits, n)
	}
}
