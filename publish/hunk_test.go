package publish

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var hunkHeaders = regexp.MustCompile(`(?m)^@@.*@@`)

// edited returns a text of 120 numbered lines and a copy changed by a few
// random insertions, deletions and replacements.
func edited(seed uint64) (string, string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var a []string
	for i := 1; i <= 120; i++ {
		a = append(a, fmt.Sprintf("line %d", i))
	}
	b := append([]string(nil), a...)
	for k := range 1 + rng.IntN(4) {
		at := rng.IntN(len(b))
		switch rng.IntN(3) {
		case 0:
			ins := make([]string, 1+rng.IntN(12))
			for i := range ins {
				ins[i] = fmt.Sprintf("new %d %d", k, i)
			}
			b = append(b[:at], append(ins, b[at:]...)...)
		case 1:
			b = append(b[:at], b[at+min(1+rng.IntN(12), len(b)-at):]...)
		default:
			b[at] = "changed"
		}
	}
	return strings.Join(a, "\n") + "\n", strings.Join(b, "\n") + "\n"
}

// TestDiffHunkHeaders wants the draft diff's hunk headers to be the ones
// diff -u gives for one edit (checked by hand against diff -u): the lines
// an earlier hunk adds move the next hunks' new side.
func TestDiffHunkHeaders(t *testing.T) {
	a, b := edited(31)
	got := hunkHeaders.FindAllString(diffFiles(map[string]string{"f": a}, map[string]string{"f": b}), -1)
	if want := []string{"@@ -28,13 +28,15 @@", "@@ -48,7 +50,7 @@", "@@ -78,13 +80,6 @@"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("hunk headers = %v; want %v", got, want)
	}
}

// TestDiffHunkHeadersMatchDiffU compares the hunk headers of 200 random
// edits with those of diff -u.
func TestDiffHunkHeadersMatchDiffU(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("diff"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("diff -u is needed: %v", err)
		}
		t.Skipf("no diff to compare with: %v", err)
	}
	dir := t.TempDir()
	fa, fb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for seed := range uint64(200) {
		a, b := edited(seed)
		if err := errors.Join(os.WriteFile(fa, []byte(a), 0o644), os.WriteFile(fb, []byte(b), 0o644)); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("diff", "-u", fa, fb).Output()
		want := hunkHeaders.FindAllString(string(out), -1)
		got := hunkHeaders.FindAllString(diffFiles(map[string]string{"f": a}, map[string]string{"f": b}), -1)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("edit %d: hunk headers = %v; diff -u gives %v", seed, got, want)
		}
	}
}
