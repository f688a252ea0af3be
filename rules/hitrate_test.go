package rules

import (
	"acceso/knowledge"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// freshRequests returns n requests whose facts never repeat: each declared
// fact given or not at random, with a random value of its type, and fresh
// personal data in every request (an identifier no other request has, on
// a card that holds it or not).
func freshRequests(c knowledge.Catalog, n int, seed uint64) []knowledge.Request {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	reqs := make([]knowledge.Request, n)
	for i := range reqs {
		req := knowledge.Request{Facts: make(map[string]any)}
		if k := rng.IntN(len(c.Symptoms) + 1); k < len(c.Symptoms) {
			req.Symptom = c.Symptoms[k]
		}
		id := fmt.Sprintf("contact%d.%d@example.com", seed, i)
		for _, f := range c.Facts {
			if rng.IntN(2) == 0 {
				continue
			}
			switch f.Type {
			case knowledge.TypeBoolean:
				req.Facts[f.Name] = rng.IntN(2) == 0
			case knowledge.TypeCount:
				req.Facts[f.Name] = rng.IntN(knowledge.MaxCount + 1)
			case knowledge.TypeChoices:
				var chosen []string
				for _, choice := range f.Choices {
					if rng.IntN(2) == 0 {
						chosen = append(chosen, choice)
					}
				}
				req.Facts[f.Name] = chosen
			case knowledge.TypeString:
				req.Facts[f.Name] = id
			case knowledge.TypeStrings:
				if rng.IntN(2) == 0 {
					req.Facts[f.Name] = []string{id}
				} else {
					req.Facts[f.Name] = []string{fmt.Sprintf("other%d.%d@example.com", seed, i)}
				}
			}
		}
		reqs[i] = req
	}
	return reqs
}

// TestCacheHitRate evaluates the shared mix and a mix whose facts never
// repeat with the cache on, wants every answer to be the one an evaluation
// without the cache gives, and reports the share answered from the cache.
func TestCacheHitRate(t *testing.T) {
	ctx := context.Background()
	uncached := buildWith(t, Options{NoCache: true, Deadline: time.Minute})
	mix, _ := mixRequests(t)
	n := 2000
	if testing.Short() {
		n = 200
	}
	// Both mixes are fixed (the shared file, a seeded generator): a rate
	// under the floor means the cache keys on more than the answer depends
	// on (keyed on every non-personal fact, as before, both gave 0%). The
	// short mix is mostly the cache warming up.
	floor := 35.0
	if testing.Short() {
		floor = 10
	}
	for _, tc := range []struct {
		name  string
		reqs  []knowledge.Request
		floor float64
	}{
		{"shared mix, one pass", mix, 35},
		{fmt.Sprintf("never-repeating mix of %d", n), freshRequests(uncached.Catalog, n, 19), floor},
	} {
		cached := buildWith(t, Options{Deadline: time.Minute})
		h0, m0 := cached.CacheStats()
		for _, req := range tc.reqs {
			got, err := cached.Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("cached Evaluate(%+v) = %v", req, err)
			}
			want, err := uncached.Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("Evaluate(%+v) = %v", req, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("cached Evaluate(%+v) = %+v; want %+v", req, got, want)
			}
		}
		hits, misses := cached.CacheStats()
		hits, misses = hits-h0, misses-m0
		rate := 100 * float64(hits) / float64(len(tc.reqs))
		t.Logf("%s: %d requests, %d answered from the cache (%.1f%%), %d evaluated",
			tc.name, len(tc.reqs), hits, rate, misses)
		if rate < tc.floor {
			t.Errorf("%s: %.1f%% answered from the cache; want at least %.0f%% (the facts no cause in scope reads are not in the key)", tc.name, rate, tc.floor)
		}
	}
}
