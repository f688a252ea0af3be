package rules

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"acceso/knowledge"
	"acceso/locales"
)

// rulesDir writes the embedded rules to a fresh folder laid out as a
// --rules folder (login/*.rego), with the given message files under
// locales/, and returns it.
func rulesDir(t *testing.T, messages map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for path, text := range Embedded().Modules {
		name := filepath.Join(dir, strings.TrimPrefix(path, "rules/"))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(messages) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, "locales"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range messages {
		if err := os.WriteFile(filepath.Join(dir, "locales", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFromDirTexts(t *testing.T) {
	embedded := locales.Embedded()
	changed := make(map[string][]byte)
	for name, b := range embedded {
		changed[name] = append(bytes.Clone(b), "\n[ExtraText]\ndescription = \"d\"\nother = \"x\"\n"...)
	}
	t.Run("without locales, the built-in texts", func(t *testing.T) {
		src, err := FromDir(rulesDir(t, nil))
		if err != nil {
			t.Fatalf("FromDir = %v", err)
		}
		for name, b := range embedded {
			if !bytes.Equal(src.Messages[name], b) {
				t.Errorf("FromDir: %s is not the built-in file", name)
			}
		}
	})
	t.Run("with every language, the folder's texts", func(t *testing.T) {
		src, err := FromDir(rulesDir(t, changed))
		if err != nil {
			t.Fatalf("FromDir = %v", err)
		}
		for name, b := range changed {
			if !bytes.Equal(src.Messages[name], b) {
				t.Errorf("FromDir: %s is not the folder's file", name)
			}
		}
		if src.Revision() == Embedded().Revision() {
			t.Errorf("FromDir: changed texts kept the built-in revision %s", src.Revision())
		}
	})
	t.Run("with some languages, refused naming the missing file", func(t *testing.T) {
		only := locales.FileName(locales.Languages[0])
		missing := locales.FileName(locales.Languages[len(locales.Languages)-1])
		_, err := FromDir(rulesDir(t, map[string][]byte{only: changed[only]}))
		problems, ok := knowledge.AsProblems(err)
		if !ok || len(problems) != 1 {
			t.Fatalf("FromDir(only %s) = %v; want one problem", only, err)
		}
		if !strings.HasSuffix(problems[0].File, "locales/"+missing) || !strings.Contains(problems[0].Message, missing) {
			t.Errorf("FromDir(only %s) = %v; want a problem naming locales/%s", only, problems[0], missing)
		}
	})
}
