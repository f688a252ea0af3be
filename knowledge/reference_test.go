package knowledge

import (
	"strings"
	"testing"
)

func TestNewReference(t *testing.T) {
	seen := make(map[string]bool)
	for range 2000 {
		r := NewReference()
		if len(r) > 12 || len(r) != 9 || r[4] != '-' {
			t.Fatalf("NewReference() = %q; want XXXX-XXXX, at most 12 characters", r)
		}
		if strings.ContainsAny(r, "01OILSZ25B8UV") {
			t.Fatalf("NewReference() = %q has a look-alike character", r)
		}
		if seen[r] {
			t.Fatalf("NewReference() repeated %q within 2000 codes", r)
		}
		seen[r] = true
		if got, ok := NormalizeReference(strings.ToLower(strings.ReplaceAll(r, "-", " "))); !ok || got != r {
			t.Errorf("NormalizeReference(lower, spaced %q) = %q, %v; want %q", r, got, ok, r)
		}
	}
	for _, bad := range []string{"", "K7M4", "K7M4-QX9P-1", "K7M0-QX9P", "<script>"} {
		if got, ok := NormalizeReference(bad); ok {
			t.Errorf("NormalizeReference(%q) = %q, true; want false", bad, got)
		}
	}
}
