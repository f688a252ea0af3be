// Package topictest gives tests a second topic to add to the built-in
// rules: notifications that do not arrive on the phone (rules/testdata/topic:
// two symptoms, four causes, its article, its explanations and its texts in
// both languages), as new files only, the way an admin adds a topic.
package topictest

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"acceso/rules"
)

// Name is the second topic's name, its package.
const Name = "notifications"

// fixture is the folder of the second topic, laid out as a rules folder.
func fixture() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "rules", "testdata", "topic")
}

// Files are the second topic's files, by the path an admin's draft names
// them: rules/notifications/… for its modules and documents,
// locales/notifications/active.<lang>.toml for its texts.
func Files(t testing.TB) map[string]string {
	t.Helper()
	files := make(map[string]string)
	root := fixture()
	err := filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README" {
			return err
		}
		rel, err := filepath.Rel(root, name)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "locales/") {
			rel = path.Join("rules", rel)
		}
		files[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Dir writes the built-in rules to a new folder as acceso rules init does,
// adds the second topic's files to it (each a new file: one that exists
// already fails the test) and returns the folder, for --rules DIR.
func Dir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "knowledge")
	if err := rules.Embedded().WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for rel, text := range Files(t) {
		name := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(rel, "rules/")))
		if _, err := os.Stat(name); err == nil {
			t.Fatalf("%s exists already; a topic is added as new files only", rel)
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
