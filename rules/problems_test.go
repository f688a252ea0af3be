package rules

import (
	"acceso/knowledge"
	"encoding/json"
	"slices"
	"testing"
)

// TestProblemsJSONRoundTrip checks that Problems cross a process boundary
// (the sandbox's child replies with them) unchanged.
func TestProblemsJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   knowledge.Problems
		want string
	}{
		{"located", knowledge.Problems{{File: "rules/login/causes.rego", Line: 12, Message: "undefined function http.send"}},
			`[{"file":"rules/login/causes.rego","line":12,"message":"undefined function http.send"}]`},
		{"no line", knowledge.Problems{{File: "locales", Message: "active.en.toml: bad"}, {File: "rules", Message: "no policy modules"}},
			`[{"file":"locales","message":"active.en.toml: bad"},{"file":"rules","message":"no policy modules"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatalf("json.Marshal(%v) = %v", tc.in, err)
			}
			if string(b) != tc.want {
				t.Errorf("json.Marshal(%v) = %s; want %s", tc.in, b, tc.want)
			}
			var out knowledge.Problems
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v", b, err)
			}
			if !slices.Equal(out, tc.in) || out.Error() != tc.in.Error() {
				t.Errorf("round trip = %v; want %v", out, tc.in)
			}
		})
	}
}
