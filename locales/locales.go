// Package locales holds the product's texts in Spanish and English as go-i18n
// message files, and the small API the rest of Acceso reads them through:
// parsing a set of message files, looking a message up by language and id,
// choosing a language for a request, and carrying the chosen language in a
// request's context so templates can call T(ctx, "MessageId").
package locales

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Source is the source language: the article is Spanish, and so is every
// answer whose request names no supported language.
const Source = "es"

// Languages lists the supported languages, the source language first.
var Languages = []string{"es", "en"}

//go:embed active.*.toml
var embedded embed.FS

// Embedded returns the message files built into the binary, keyed by file
// name (active.es.toml, active.en.toml).
func Embedded() map[string][]byte {
	files := make(map[string][]byte)
	names, _ := fs.Glob(embedded, "active.*.toml")
	for _, name := range names {
		b, err := embedded.ReadFile(name)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		files[name] = b
	}
	return files
}

// FileName returns the message file name of a language.
func FileName(lang string) string { return "active." + lang + ".toml" }

// Texts is a parsed set of message files: every message of every supported
// language, resolved once so that a lookup is a map read.
type Texts struct {
	byLang map[string]map[string]string
}

// Parse reads message files keyed by file name (active.<lang>.toml).
// Every supported language must have a file. Beside them, a topic may
// keep its own texts in <topic>/active.<lang>.toml (in a rules folder,
// locales/<topic>/active.<lang>.toml), one for every language: a topic
// added to the rules brings its texts as new files. A message id is
// defined once per language over all the files; a second definition is a
// TextProblem at its file and line. A file that does not parse is reported
// with its name. Texts must be plain (see checkPlain): those that are not
// are TextProblems, at their file and line.
func Parse(files map[string][]byte) (*Texts, error) {
	bundle := i18n.NewBundle(language.Spanish)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	ids := make(map[string][]string)
	var plain TextProblems
	topics, err := topicFolders(files)
	if err != nil {
		return nil, err
	}
	for _, lang := range Languages {
		defined := make(map[string]string) // id: the file that defines it
		for _, dir := range append([]string{""}, topics...) {
			name := path.Join(dir, FileName(lang))
			buf, ok := files[name]
			if !ok {
				return nil, fmt.Errorf("%s: missing message file", name)
			}
			mf, err := bundle.ParseMessageFileBytes(buf, name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			plain = append(plain, checkPlain(name, buf, mf.Messages)...)
			for _, m := range mf.Messages {
				if other, dup := defined[m.ID]; dup {
					plain = append(plain, TextProblem{File: "locales/" + name, Line: lineOf(buf, m.ID, ""), Message: fmt.Sprintf(
						"%s is defined in locales/%s too: a message is defined once (a topic's own texts have ids of their own)", m.ID, other)})
					continue
				}
				defined[m.ID] = name
				ids[lang] = append(ids[lang], m.ID)
			}
		}
	}
	// Texts are checked before any is rendered: go-i18n runs a text as a
	// template when it is looked up.
	if len(plain) > 0 {
		return nil, plain
	}
	t := &Texts{byLang: make(map[string]map[string]string)}
	for _, lang := range Languages {
		loc := i18n.NewLocalizer(bundle, lang)
		msgs := make(map[string]string, len(ids[lang]))
		for _, id := range ids[lang] {
			s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id})
			if err != nil {
				return nil, fmt.Errorf("%s: message %s: %w", FileName(lang), id, err)
			}
			msgs[id] = s
		}
		t.byLang[lang] = msgs
	}
	return t, nil
}

// topicFolders lists, sorted, the folders of files that hold a topic's
// own message files (<topic>/active.<lang>.toml); any other name is an
// error, as is a folder without the file of every language.
func topicFolders(files map[string][]byte) ([]string, error) {
	var dirs []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		lang, ok := strings.CutPrefix(base, "active.")
		lang, ok2 := strings.CutSuffix(lang, ".toml")
		if !ok || !ok2 || !Supported(lang) || strings.Contains(dir, "/") {
			return nil, fmt.Errorf("locales/%s: a message file is active.<lang>.toml, or <topic>/active.<lang>.toml for a topic's own texts, with lang one of %s", name, strings.Join(Languages, ", "))
		}
		if dir != "" && !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	for _, dir := range dirs {
		for _, lang := range Languages {
			if _, ok := files[path.Join(dir, FileName(lang))]; !ok {
				return nil, fmt.Errorf("locales/%s: missing: the topic's texts are in every language (%s)", path.Join(dir, FileName(lang)), strings.Join(Languages, ", "))
			}
		}
	}
	return dirs, nil
}

// Text returns the message id in lang, and whether the language has it.
func (t *Texts) Text(lang, id string) (string, bool) {
	s, ok := t.byLang[lang][id]
	return s, ok
}

// IDs returns the message ids of a language, sorted.
func (t *Texts) IDs(lang string) []string {
	ids := make([]string, 0, len(t.byLang[lang]))
	for id := range t.byLang[lang] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Missing returns, for each language, the ids among want that it lacks.
func (t *Texts) Missing(want []string) map[string][]string {
	missing := make(map[string][]string)
	for _, lang := range Languages {
		for _, id := range want {
			if _, ok := t.byLang[lang][id]; !ok {
				missing[lang] = append(missing[lang], id)
			}
		}
	}
	return missing
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool { return slices.Contains(Languages, lang) }

// Negotiate picks the language of an answer from hints in order of
// precedence: each hint is a language code or an Accept-Language header.
// The first hint naming a supported language wins; an empty or unsupported
// hint is skipped. With none, the answer is in the source language.
func Negotiate(hints ...string) string {
	for _, hint := range hints {
		if hint == "" {
			continue
		}
		if lang := strings.ToLower(strings.TrimSpace(hint)); Supported(lang) {
			return lang
		}
		tags, _, err := language.ParseAcceptLanguage(hint)
		if err != nil {
			continue
		}
		for _, tag := range tags {
			base, _ := tag.Base()
			if Supported(base.String()) {
				return base.String()
			}
		}
	}
	return Source
}

// ID builds a message id from a prefix, a snake_case id and a suffix:
// ID("Cause", "check_spam", "Title") is "CauseCheckSpamTitle". Causes,
// symptoms and facts find their texts this way, so a new cause needs only
// its rule and its messages.
func ID(prefix, snake, suffix string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(snake) + len(suffix))
	b.WriteString(prefix)
	upper := true
	for i := range len(snake) {
		c := snake[i]
		switch {
		case c == '_':
			upper = true
			continue
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		upper = false
		b.WriteByte(c)
	}
	b.WriteString(suffix)
	return b.String()
}

// Localizer is one language's view of a set of texts.
type Localizer struct {
	Lang  string
	texts *Texts
}

// NewLocalizer returns the localizer of lang over texts.
func NewLocalizer(texts *Texts, lang string) Localizer {
	return Localizer{Lang: lang, texts: texts}
}

// T returns the message id; a missing message shows as its id, which the
// completeness tests make sure never reaches a visitor.
func (l Localizer) T(id string) string {
	if l.texts != nil {
		if s, ok := l.texts.Text(l.Lang, id); ok {
			return s
		}
	}
	return id
}

type ctxKey struct{}

// WithLocalizer returns a context that carries l.
func WithLocalizer(ctx context.Context, l Localizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the localizer carried by ctx, or one in the source
// language with no texts.
func FromContext(ctx context.Context) Localizer {
	if l, ok := ctx.Value(ctxKey{}).(Localizer); ok {
		return l
	}
	return Localizer{Lang: Source}
}

// T returns the message id in the language carried by ctx.
func T(ctx context.Context, id string) string { return FromContext(ctx).T(id) }

// Lang returns the language carried by ctx.
func Lang(ctx context.Context) string { return FromContext(ctx).Lang }

// Path is the file name of a message file inside this folder, for error
// messages that name the file.
func Path(lang string) string { return path.Join("locales", FileName(lang)) }

// CauseTitle is the message id of a cause's title.
func CauseTitle(cause string) string { return ID("Cause", cause, "Title") }

// CauseAdvice is the message id of a cause's advice.
func CauseAdvice(cause string) string { return ID("Cause", cause, "Advice") }

// CauseTryAdvice is the message id of a cause's advice as a thing to try,
// for a contact who does not know whether the cause applies.
func CauseTryAdvice(cause string) string { return ID("Cause", cause, "TryAdvice") }

// CauseTryTitle is the message id of a cause's title as a thing to try.
func CauseTryTitle(cause string) string { return ID("Cause", cause, "TryTitle") }

// SymptomTitle is the message id of a symptom's title.
func SymptomTitle(symptom string) string { return ID("Symptom", symptom, "Title") }

// SymptomDescription is the message id of a symptom's one-line description.
func SymptomDescription(symptom string) string { return ID("Symptom", symptom, "Description") }

// TopicTitle is the message id of a topic's title (the home lists the
// topics by it).
func TopicTitle(topic string) string { return ID("Topic", topic, "Title") }

// TopicDescription is the message id of a topic's one-line summary.
func TopicDescription(topic string) string { return ID("Topic", topic, "Description") }

// Question is the message id of the question asked about a fact.
func Question(fact string) string { return ID("Question", fact, "") }

// QuestionHelp is the message id of the "how to check" help of the
// question about a fact.
func QuestionHelp(fact string) string { return ID("QuestionHelp", fact, "") }

// Choice is the message id of the label of one choice of a fact.
func Choice(fact, choice string) string { return ID("Choice", fact+"_"+choice, "") }

// WithFallback returns texts that answer from t and, for a message t lacks,
// from base. A revision of the rules stored by an earlier release still
// shows the messages this release added (the site's own, say) that way.
func (t *Texts) WithFallback(base *Texts) *Texts {
	merged := &Texts{byLang: make(map[string]map[string]string, len(Languages))}
	for _, lang := range Languages {
		msgs := make(map[string]string, len(base.byLang[lang])+len(t.byLang[lang]))
		maps.Copy(msgs, base.byLang[lang])
		maps.Copy(msgs, t.byLang[lang])
		merged.byLang[lang] = msgs
	}
	return merged
}
