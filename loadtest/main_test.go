package main

import "testing"

// TestParseCacheCounts checks that the decision cache's counts are read
// from Acceso's metrics as Prometheus writes them, and that a page without
// both is refused rather than read as zero.
func TestParseCacheCounts(t *testing.T) {
	for _, tc := range []struct {
		name         string
		text         string
		hits, misses float64
		ok           bool
	}{
		{"both", "# HELP acceso_decision_cache_hits_total Requests answered …\n# TYPE acceso_decision_cache_hits_total counter\nacceso_decision_cache_hits_total 35200\nacceso_decision_cache_misses_total 6621\n", 35200, 6621, true},
		{"exponent", "acceso_decision_cache_hits_total 1.2e+06\nacceso_decision_cache_misses_total 0\n", 1.2e6, 0, true},
		{"a longer name is another metric", "acceso_decision_cache_hits_total_x 5\nacceso_decision_cache_hits_total 1\nacceso_decision_cache_misses_total 2\n", 1, 2, true},
		{"misses missing", "acceso_decision_cache_hits_total 3\n", 3, 0, false},
		{"not a number", "acceso_decision_cache_hits_total x\nacceso_decision_cache_misses_total 2\n", 0, 2, false},
		{"empty", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits, misses, ok := parseCacheCounts(tc.text)
			if hits != tc.hits || misses != tc.misses || ok != tc.ok {
				t.Errorf("parseCacheCounts(%q) = %v, %v, %v; want %v, %v, %v", tc.text, hits, misses, ok, tc.hits, tc.misses, tc.ok)
			}
		})
	}
}
