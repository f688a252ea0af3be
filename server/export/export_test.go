package export

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExportRefusesAFolderThatIsNotEmpty: an export never overwrites; a
// new or empty folder is taken.
func TestExportRefusesAFolderThatIsNotEmpty(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "index.html"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		out     string
		refused bool
	}{
		{"a folder that holds a file", full, true},
		{"an empty folder", t.TempDir(), false},
		{"a folder not made yet", filepath.Join(t.TempDir(), "site"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Exporter{}).checkExportTarget(tc.out)
			if refused := err != nil; refused != tc.refused {
				t.Errorf("checkExportTarget(%s) = %v; want refused %v", tc.out, err, tc.refused)
			}
		})
	}
}
