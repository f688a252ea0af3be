package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
)

// catalogFact is what the load test reads of a fact in GET /api/v1/causes:
// enough to make up a value of its declared type.
type catalogFact struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Choices  []string `json:"choices"`
	Personal bool     `json:"personal"`
}

// catalogOf reads the symptoms and the declared facts of the rules a
// server serves.
func catalogOf(ctx context.Context, base string) (symptoms []string, facts []catalogFact, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/causes", nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	var cat struct {
		Symptoms []struct{ ID string } `json:"symptoms"`
		Facts    []catalogFact         `json:"facts"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET /api/v1/causes answered %d: %s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &cat); err != nil {
		return nil, nil, fmt.Errorf("GET /api/v1/causes: %w", err)
	}
	for _, s := range cat.Symptoms {
		symptoms = append(symptoms, s.ID)
	}
	return symptoms, cat.Facts, nil
}

// uniqueMix makes n request bodies whose facts almost never repeat, as a
// population of contacts and integrations does: each declared fact known
// or not at random, with a random value of its type (counts up to 1,000, the most a request may say),
// a symptom or none, and in a third of them a fresh identifier with a
// contact card that holds it or not. The seed makes the same mix again.
func uniqueMix(symptoms []string, facts []catalogFact, n int, seed uint64) ([][]byte, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bodies := make([][]byte, 0, n)
	for i := range n {
		req := map[string]any{"lang": []string{"es", "en"}[r.IntN(2)]}
		if k := r.IntN(len(symptoms) + 1); k < len(symptoms) {
			req["symptom"] = symptoms[k]
		}
		known := map[string]any{}
		withIdentity := r.IntN(3) == 0
		for _, f := range facts {
			if f.Personal {
				continue
			}
			if r.IntN(2) == 0 {
				continue
			}
			switch f.Type {
			case "boolean":
				known[f.Name] = r.IntN(2) == 0
			case "count":
				known[f.Name] = r.IntN(1_001)
			case "choices":
				var picked []string
				for _, c := range f.Choices {
					if r.IntN(2) == 0 {
						picked = append(picked, c)
					}
				}
				if len(picked) == 0 && len(f.Choices) > 0 {
					picked = []string{f.Choices[r.IntN(len(f.Choices))]}
				}
				known[f.Name] = picked
			case "string":
				known[f.Name] = fmt.Sprintf("value-%d-%d", i, r.Uint32())
			case "strings":
				known[f.Name] = []string{fmt.Sprintf("value-%d-%d", i, r.Uint32())}
			default:
				return nil, fmt.Errorf("fact %s: type %q is not one the load test can make up", f.Name, f.Type)
			}
		}
		if withIdentity {
			// A fresh email each time; the card holds it, with spaces
			// around it, or another address.
			email := fmt.Sprintf("contact%07d.%d@load.example", i, r.Uint32())
			card := fmt.Sprintf("other%07d@load.example", i)
			if r.IntN(2) == 0 {
				card = " " + email + " "
			}
			// The identifier is the personal text; the card, the first
			// personal list (the registered emails, in the login rules).
			carded := false
			for _, f := range facts {
				switch {
				case f.Personal && f.Type == "string":
					known[f.Name] = email
				case f.Personal && f.Type == "strings" && !carded:
					known[f.Name] = []string{card}
					carded = true
				}
			}
		}
		req["facts"] = known
		b, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, b)
	}
	return bodies, nil
}
