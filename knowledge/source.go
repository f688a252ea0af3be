package knowledge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Source is everything a revision of the rules is made of: Rego modules
// (policies and their tests) keyed by path, message files keyed by file
// name, and documents (Markdown: the admins' article of each topic,
// <topic>/article.<lang>.md, and the contacts' explanations,
// <topic>/help.<lang>.md) keyed by path. The engine (rules.Build) verifies
// one; the store keeps one per revision.
type Source struct {
	Modules  map[string]string
	Messages map[string][]byte
	Docs     map[string]string
}

// WriteDir writes src to dir as rules.FromDir reads it: the modules and
// documents under their paths (rules/login/causes.rego as
// dir/login/causes.rego), the message files in dir/locales. dir must not
// exist or be empty: WriteDir never overwrites an admin's files.
func (s Source) WriteDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s: the folder is not empty; give a new or empty folder", dir)
	}
	files := make(map[string][]byte, len(s.Modules)+len(s.Docs)+len(s.Messages))
	for name, text := range s.Modules {
		files[strings.TrimPrefix(name, "rules/")] = []byte(text)
	}
	for name, text := range s.Docs {
		files[strings.TrimPrefix(name, "rules/")] = []byte(text)
	}
	for name, b := range s.Messages {
		files[filepath.ToSlash(filepath.Join("locales", name))] = b
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Revision identifies a source: a hash of its file names and contents.
func (s Source) Revision() string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(s.Modules)) {
		fmt.Fprintf(h, "%s\x00%d\x00%s", name, len(s.Modules[name]), s.Modules[name])
	}
	for _, name := range slices.Sorted(maps.Keys(s.Messages)) {
		fmt.Fprintf(h, "%s\x00%d\x00%s", name, len(s.Messages[name]), s.Messages[name])
	}
	for _, name := range slices.Sorted(maps.Keys(s.Docs)) {
		fmt.Fprintf(h, "doc\x00%s\x00%d\x00%s", name, len(s.Docs[name]), s.Docs[name])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Clone returns a copy of s that can be changed without changing s.
func (s Source) Clone() Source {
	return Source{Modules: maps.Clone(s.Modules), Messages: maps.Clone(s.Messages), Docs: maps.Clone(s.Docs)}
}

// IsTest reports whether a module path is a Rego test module (_test.rego).
func IsTest(path string) bool { return strings.HasSuffix(path, "_test.rego") }
