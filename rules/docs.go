package rules

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"acceso/content"
	"acceso/locales"
)

// articleName is the file name of the admins' article in lang, in the
// folder of its topic (rules/login/article.es.md).
func articleName(lang string) string { return "article." + lang + ".md" }

// readArticles finds the admins' article of src in every language and
// renders it, checking that every link to it resolves: each cause of the
// catalog has its section (an element with the cause's id) in every
// language. A source with no documents at all (stored by an earlier
// release) uses the built-in article. Each problem names the file to fix.
//
// This is the one place where documents the rules need are checked; the
// contacts' explanation of each cause, in both languages, belongs here too
// when the rules carry them.
func readArticles(src Source, c Catalog) (*content.Set, Problems) {
	docs := src.Docs
	if len(docs) == 0 {
		docs = Embedded().Docs
	}
	var problems Problems
	text := make(map[string][]byte, len(locales.Languages))
	files := make(map[string]string, len(locales.Languages))
	for _, lang := range locales.Languages {
		var found []string
		for _, name := range slices.Sorted(maps.Keys(docs)) {
			if path.Base(name) == articleName(lang) {
				found = append(found, name)
			}
		}
		switch len(found) {
		case 0:
			problems = append(problems, Problem{File: articleName(lang), Message: fmt.Sprintf(
				"the admins' article in %s is missing: add %s beside the topic's rules", lang, articleName(lang))})
		case 1:
			text[lang], files[lang] = []byte(docs[found[0]]), found[0]
		default:
			problems = append(problems, Problem{File: found[1], Message: fmt.Sprintf(
				"one admins' article per language: %s is also %s", found[1], strings.Join(found[:1], ", "))})
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	set := content.New(text)
	for _, lang := range locales.Languages {
		if _, err := set.Article(lang); err != nil {
			return nil, Problems{{File: files[lang], Message: err.Error()}}
		}
		anchors := set.Anchors(lang)
		for _, cause := range c.Causes {
			if !slices.Contains(anchors, cause.ID) {
				problems = append(problems, Problem{File: files[lang], Message: fmt.Sprintf(
					"cause %s (%s:%d) has no section in the article: start the paragraph about it with {#%s}, or give its heading {#%s}",
					cause.ID, cause.File, cause.Line, cause.ID, cause.ID)})
			}
		}
	}
	return set, problems
}
