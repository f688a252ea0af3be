package rules

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"acceso/content"
	"acceso/knowledge"
	"acceso/locales"
)

// A document is one of the Markdown documents the rules carry beside them,
// in every language: the admins' article and the contacts' explanations.
// Each cause must have its section in both.
type document struct {
	// name is the file's name without the language (article, help): the
	// file in lang is name.<lang>.md, in the folder of the topic's rules
	// (rules/login/article.es.md).
	name string
	// what says what it is, for the problems.
	what string
	// section says how a cause gets its section, for the problems.
	section string
}

var (
	articleDoc = document{name: "article", what: "the admins' article",
		section: "start the paragraph about it with {#%[1]s}, or give its heading {#%[1]s}"}
	helpDoc = document{name: "help", what: "the contacts' explanations",
		section: "give the heading that explains it to contacts {#%[1]s}"}
)

// file is the document's file name in lang.
func (d document) file(lang string) string { return d.name + "." + lang + ".md" }

// readDocs finds topic t's admins' article and contacts' explanations in
// src, in every language, in the topic's folder (t.Dir), and renders them,
// checking that every link to them resolves: each cause of the topic has
// its section (an element with the cause's id) in each document in every
// language. A source with no documents at all (stored by an earlier
// release, with its one topic) uses the built-in ones. Each problem names
// the file to fix and the cause's file:line.
//
// With one topic (alone), its documents may be anywhere in the source, as
// before there were topics; with more, each topic's are in its folder.
func readDocs(src knowledge.Source, t *Topic, alone bool) (article, help *content.Set, problems knowledge.Problems) {
	docs := src.Docs
	if len(docs) == 0 {
		docs = Embedded().Docs
	}
	article, p := readDoc(docs, articleDoc, t, alone)
	problems = append(problems, p...)
	help, p = readDoc(docs, helpDoc, t, alone)
	problems = append(problems, p...)
	return article, help, problems
}

// readDoc reads and checks one document of topic t in docs; see readDocs.
func readDoc(docs map[string]string, d document, t *Topic, alone bool) (*content.Set, knowledge.Problems) {
	c := t.Catalog
	var problems knowledge.Problems
	text := make(map[string][]byte, len(locales.Languages))
	files := make(map[string]string, len(locales.Languages))
	for _, lang := range locales.Languages {
		var found []string
		for _, name := range slices.Sorted(maps.Keys(docs)) {
			if path.Base(name) == d.file(lang) && (alone || path.Dir(name) == t.Dir) {
				found = append(found, name)
			}
		}
		switch len(found) {
		case 0:
			problems = append(problems, knowledge.Problem{File: path.Join(t.Dir, d.file(lang)), Message: fmt.Sprintf(
				"%s of topic %s in %s is missing: add %s beside the topic's rules", d.what, t.Name, lang, d.file(lang))})
		case 1:
			text[lang], files[lang] = []byte(docs[found[0]]), found[0]
		default:
			problems = append(problems, knowledge.Problem{File: found[1], Message: fmt.Sprintf(
				"one file of %s per language: %s is also %s", d.what, found[1], strings.Join(found[:1], ", "))})
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	set := content.New(text)
	for _, lang := range locales.Languages {
		if _, err := set.Page(lang); err != nil {
			problems = append(problems, knowledge.Problem{File: files[lang], Message: err.Error()})
			continue
		}
		anchors := set.Anchors(lang)
		for _, cause := range c.Causes {
			if !slices.Contains(anchors, cause.ID) {
				problems = append(problems, knowledge.Problem{File: files[lang], Message: fmt.Sprintf(
					"cause %s (%s:%d) has no section in %s: "+d.section,
					cause.ID, cause.File, cause.Line, d.what, cause.ID)})
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return set, nil
}
