// Package rules is Acceso's knowledge engine. The knowledge lives in the
// Rego bundle beside this file: one folder per topic (login/*.rego, with
// its article and explanations, login/*.md); this package loads a set of
// modules, documents and message files, verifies it (compile, Rego tests,
// texts and documents in every language), finds its topics, prepares each
// topic's decision query once, and evaluates requests against whichever
// verified set is current. The catalog of causes is read from the rules'
// metadata, so a topic, a cause or a fact is declared in Rego and nowhere
// else in Go.
package rules

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"acceso/knowledge"
	"acceso/locales"
)

//go:embed */*.rego */*.md
var embedded embed.FS

// Embedded returns the rules and texts built into the binary.
func Embedded() knowledge.Source {
	src, err := fromFS(embedded, "rules")
	if err != nil {
		panic(err) // the embedded bundle is always readable
	}
	src.Messages = locales.Embedded()
	return src
}

// FromDir reads the .rego and .md files under dir (outside dir/locales).
// Its texts are the message files in dir/locales (active.<lang>.toml, one
// for every supported language) when that folder has them, else the ones
// built into the binary, with the texts of each topic that keeps its own
// in dir/locales/<topic>/active.<lang>.toml. A folder with the files of
// some languages but not all is refused, naming the file missing: serving
// half a folder's texts would mix two sets.
func FromDir(dir string) (knowledge.Source, error) {
	src, err := fromFS(os.DirFS(dir), dir)
	if err != nil {
		return knowledge.Source{}, err
	}
	if len(src.Modules) == 0 {
		return knowledge.Source{}, fmt.Errorf("%s: no .rego files", dir)
	}
	src.Messages, err = messagesFromDir(filepath.Join(dir, "locales"))
	if err != nil {
		return knowledge.Source{}, err
	}
	return src, nil
}

// messagesFromDir reads the message files of every supported language from
// dir; with none there, the embedded ones.
func messagesFromDir(dir string) (map[string][]byte, error) {
	files := make(map[string][]byte, len(locales.Languages))
	var missing []string
	for _, lang := range locales.Languages {
		name := locales.FileName(lang)
		b, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, name)
		case err != nil:
			return nil, err
		default:
			files[name] = b
		}
	}
	switch {
	case len(files) == 0:
		files = locales.Embedded()
	case len(missing) > 0:
		return nil, knowledge.Problems{{File: filepath.ToSlash(filepath.Join(dir, missing[0])), Message: fmt.Sprintf(
			"missing: the folder has message files for some languages but not this one (%s); give every language its file, or none to use the built-in texts",
			strings.Join(missing, ", "))}}
	}
	// A topic's own texts, in a folder of its name (locales.Parse checks
	// that each has every language).
	topics, err := filepath.Glob(filepath.Join(dir, "*", "active.*.toml"))
	if err != nil {
		return nil, err
	}
	for _, name := range topics {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		files[filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(name)), filepath.Base(name)))] = b
	}
	return files, nil
}

func fromFS(fsys fs.FS, prefix string) (knowledge.Source, error) {
	src := knowledge.Source{Modules: make(map[string]string), Docs: make(map[string]string)}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		isRego, isDoc := strings.HasSuffix(path, ".rego"), strings.HasSuffix(path, ".md")
		if d.IsDir() && path == "locales" {
			return fs.SkipDir // the texts, read by messagesFromDir
		}
		if d.IsDir() || !isRego && !isDoc {
			return nil
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(prefix, path))
		if isRego {
			src.Modules[name] = string(b)
		} else {
			src.Docs[name] = string(b)
		}
		return nil
	})
	return src, err
}
