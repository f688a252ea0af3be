// Package rules is Acceso's knowledge engine. The article's logic lives in the
// Rego bundle beside this file (login/*.rego); this package loads a set of
// modules and message files, verifies it (compile, Rego tests, texts in every
// language), prepares the decision query once, and evaluates requests against
// whichever verified set is current. The catalog of causes is read from the
// rules' metadata, so a cause is declared in Rego and nowhere else in Go.
package rules

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"acceso/locales"
)

//go:embed login/*.rego
var embedded embed.FS

// Source is everything a revision of the rules is made of: Rego modules
// (policies and their tests) keyed by path, and message files keyed by file
// name.
type Source struct {
	Modules  map[string]string
	Messages map[string][]byte
}

// Embedded returns the rules and texts built into the binary.
func Embedded() Source {
	src, err := fromFS(embedded, "rules")
	if err != nil {
		panic(err) // the embedded bundle is always readable
	}
	src.Messages = locales.Embedded()
	return src
}

// FromDir reads the .rego files under dir, with the embedded message files.
func FromDir(dir string) (Source, error) {
	src, err := fromFS(os.DirFS(dir), dir)
	if err != nil {
		return Source{}, err
	}
	if len(src.Modules) == 0 {
		return Source{}, fmt.Errorf("%s: no .rego files", dir)
	}
	src.Messages = locales.Embedded()
	return src, nil
}

func fromFS(fsys fs.FS, prefix string) (Source, error) {
	src := Source{Modules: make(map[string]string)}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rego") {
			return nil
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		src.Modules[filepath.ToSlash(filepath.Join(prefix, path))] = string(b)
		return nil
	})
	return src, err
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
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Clone returns a copy of s that can be changed without changing s.
func (s Source) Clone() Source {
	return Source{Modules: maps.Clone(s.Modules), Messages: maps.Clone(s.Messages)}
}

// IsTest reports whether a module path is a Rego test module (_test.rego).
func IsTest(path string) bool { return strings.HasSuffix(path, "_test.rego") }
