package rules

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"acceso/locales"
)

// skeleton is a new topic's files, with TOPIC for its name and CAMEL for
// its name as message ids spell it: what acceso rules init --topic writes.
//
//go:embed skeleton/*.tmpl
var skeleton embed.FS

// TopicFiles are the files of a new topic named name, as a start that
// verifies: its decision (the same for every topic), one fact, one
// symptom, one cause, their Rego tests, the admins' article, the contacts'
// explanations and its texts in every language. They are keyed by the
// path an admin's draft names them: rules/<name>/… for the modules and
// documents, locales/<name>/active.<lang>.toml for the texts. Every file is
// new: adding a topic changes no file of another.
func TopicFiles(name string) (map[string]string, error) {
	if !topicName.MatchString(name) {
		return nil, fmt.Errorf("topic %q: a topic's name is its Rego package and part of its addresses: lower-case letters, digits and single underscores, starting with a letter", name)
	}
	if slices.Contains(reservedTopics, name) {
		return nil, fmt.Errorf("topic %q: the name is one of the help site's own pages (%s); choose another", name, strings.Join(reservedTopics, ", "))
	}
	camel := locales.ID("", name, "")
	files := make(map[string]string)
	err := fs.WalkDir(skeleton, "skeleton", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(skeleton, p)
		if err != nil {
			return err
		}
		file := strings.TrimSuffix(path.Base(p), ".tmpl")
		to := path.Join("rules", name, file)
		if strings.HasSuffix(file, ".toml") {
			to = path.Join("locales", name, file)
		}
		files[to] = strings.NewReplacer("CAMEL", camel, "TOPIC", name).Replace(string(b))
		return nil
	})
	return files, err
}
