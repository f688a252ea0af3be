package publish

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/store"
)

// A draft is the source being served with one admin's change applied: one
// file, one cause's texts, a new cause, or the files an admin has saved to
// their draft (store.DraftFile), applied together. The functions here make
// drafts; none of them decides whether a draft may be served: that is
// rules.Build's job, at preview and again at publish.

// CauseTexts are a cause's title and advice in one language.
type CauseTexts struct {
	Title, Advice string
}

// DraftFile replaces the text of one of the source's files, named as Files
// names them: a module by its path, a message file as
// locales/active.<lang>.toml.
func DraftFile(cur knowledge.Source, file, text string) (knowledge.Source, error) {
	draft := cur.Clone()
	if p := setFile(draft, file, NormalizeText(text), false); p != nil {
		return knowledge.Source{}, knowledge.Problems{*p}
	}
	return draft, nil
}

// setFile sets the text of a file of src, which it changes: an existing
// one, or, with allowNew (a draft, kept file by file), a new one where a
// topic's files go (NewFile). A message file must read as TOML: its first
// error is the problem, with its line, rather than a whole build's failure
// naming the folder.
func setFile(src knowledge.Source, file, text string, allowNew bool) *knowledge.Problem {
	if name, ok := strings.CutPrefix(file, "locales/"); ok {
		if _, ok := src.Messages[name]; ok || allowNew && NewFile(file) == nil {
			if line, err := locales.CheckFile([]byte(text)); err != nil {
				return &knowledge.Problem{File: file, Line: line, Message: err.Error()}
			}
			src.Messages[name] = []byte(text)
			return nil
		}
	}
	if _, ok := src.Docs[file]; ok {
		src.Docs[file] = text
		return nil
	}
	if _, ok := src.Modules[file]; ok {
		src.Modules[file] = text
		return nil
	}
	if !allowNew {
		return &knowledge.Problem{File: file, Message: "no such module, message file or document"}
	}
	if p := NewFile(file); p != nil {
		return p
	}
	if strings.HasSuffix(file, ".md") {
		src.Docs[file] = text
	} else {
		src.Modules[file] = text
	}
	return nil
}

// newModule and newMessages are where a new file may go: a module or a
// document in a topic's folder (rules/<topic>/<name>.rego or .md), or a
// topic's own texts (locales/<topic>/active.<lang>.toml).
var (
	newModule   = regexp.MustCompile(`^rules/[a-z][a-z0-9]*(_[a-z0-9]+)*/[a-z][a-z0-9_]*(\.[a-z]+)?\.(rego|md)$`)
	newMessages = regexp.MustCompile(`^locales/[a-z][a-z0-9]*(_[a-z0-9]+)*/active\.([a-z]+)\.toml$`)
)

// NewFile says what is wrong with file as the path of a new file of a
// draft, or nil: a topic is added as new files, its modules and documents
// in its folder (rules/notifications/causes.rego,
// rules/notifications/article.es.md) and its texts beside the others
// (locales/notifications/active.es.toml).
func NewFile(file string) *knowledge.Problem {
	if m := newMessages.FindStringSubmatch(file); m != nil {
		if !locales.Supported(m[2]) {
			return &knowledge.Problem{File: file, Message: fmt.Sprintf("a topic's texts are in the languages served (%s)", strings.Join(locales.Languages, ", "))}
		}
		return nil
	}
	if newModule.MatchString(file) {
		return nil
	}
	return &knowledge.Problem{File: file, Message: "no such module, message file or document; a new file goes in a topic's folder " +
		"(rules/<topic>/<name>.rego or .md, with lower-case names) or holds a topic's texts (locales/<topic>/active.<lang>.toml)"}
}

// cloneForDraft is a copy of src whose maps a draft may add new files to.
func cloneForDraft(src knowledge.Source) knowledge.Source {
	draft := src.Clone()
	if draft.Modules == nil {
		draft.Modules = make(map[string]string)
	}
	if draft.Docs == nil {
		draft.Docs = make(map[string]string)
	}
	if draft.Messages == nil {
		draft.Messages = make(map[string][]byte)
	}
	return draft
}

// ApplyDraft applies an admin's draft, kept file by file, to the source
// being served. A drafted file whose served text is no longer the one it
// entered the draft with (its base) was changed by someone else since:
// publishing the draft would undo that change, so it is a problem naming
// the file, as is a file that no longer exists or a message file that is
// not TOML. Every problem is reported at once, and then no source.
func ApplyDraft(cur knowledge.Source, files []store.DraftFile) (knowledge.Source, error) {
	if len(files) == 0 {
		return knowledge.Source{}, knowledge.Problems{{File: "draft", Message: "your draft is empty: open a module or a message file and save it to your draft"}}
	}
	served := Files(cur)
	draft := cloneForDraft(cur)
	var problems knowledge.Problems
	for _, f := range files {
		text, ok := served[f.Path]
		if ok && text != f.Base {
			problems = append(problems, knowledge.Problem{File: f.Path, Message: "changed by someone else since you drafted it; " +
				"see what your text would undo in the diff, then keep your text over theirs, " +
				"or remove it from your draft and redo your change on the text served now"})
			continue
		}
		if !ok && f.Base != "" {
			// It was served when drafted (a new file has no base).
			problems = append(problems, knowledge.Problem{File: f.Path, Message: "no such module, message file or document: removed since you drafted it"})
			continue
		}
		if p := setFile(draft, f.Path, f.Text, true); p != nil {
			problems = append(problems, *p)
		}
	}
	if len(problems) > 0 {
		return knowledge.Source{}, problems
	}
	return draft, nil
}

// WithDraft is the source being served with the texts of an admin's
// drafted files in place, whether or not they would still apply (see
// ApplyDraft): the rules as the admin's editor shows them, which a form
// that adds to the draft adds to. A drafted file the source no longer has,
// or a message file that is not TOML, is a problem naming it.
func WithDraft(cur knowledge.Source, files []store.DraftFile) (knowledge.Source, error) {
	draft := cloneForDraft(cur)
	var problems knowledge.Problems
	for _, f := range files {
		if p := setFile(draft, f.Path, f.Text, true); p != nil {
			problems = append(problems, *p)
		}
	}
	if len(problems) > 0 {
		return knowledge.Source{}, problems
	}
	return draft, nil
}

// ChangedFiles lists, sorted, the files whose text differs from before to
// after, named as Files names them.
func ChangedFiles(before, after knowledge.Source) []string {
	was, is := Files(before), Files(after)
	var changed []string
	for _, file := range slices.Sorted(maps.Keys(is)) {
		if text, ok := was[file]; !ok || text != is[file] {
			changed = append(changed, file)
		}
	}
	return changed
}

// DraftDiff is a unified diff, file by file, of what an admin's draft
// changes in the source being served. It shows each drafted file's text
// against the served one whether or not the draft applies.
func DraftDiff(cur knowledge.Source, files []store.DraftFile) string {
	served, drafted := make(map[string]string), make(map[string]string)
	all := Files(cur)
	for _, f := range files {
		served[f.Path], drafted[f.Path] = all[f.Path], f.Text
	}
	return diffFiles(served, drafted)
}

// DraftCauseTexts sets a cause's title and advice in every language given.
func DraftCauseTexts(cur knowledge.Source, cause string, texts map[string]CauseTexts) (knowledge.Source, error) {
	if problems := checkCauseTexts(texts); len(problems) > 0 {
		return knowledge.Source{}, problems
	}
	draft := cur.Clone()
	for _, lang := range locales.Languages {
		t := texts[lang]
		name := locales.FileName(lang)
		file, err := locales.SetMessages(draft.Messages[name],
			locales.Message{ID: locales.CauseTitle(cause), Description: "Title of the cause " + cause, Text: NormalizeText(t.Title)},
			locales.Message{ID: locales.CauseAdvice(cause), Description: "Advice for the cause " + cause, Text: NormalizeText(t.Advice)})
		if err != nil {
			return knowledge.Source{}, knowledge.Problems{{File: locales.Path(lang), Message: err.Error()}}
		}
		draft.Messages[name] = file
	}
	return draft, nil
}

// NewCause is what an admin gives to add a cause: the module its rule goes
// into, its id, the rule (with its # METADATA), optional Rego tests for the
// module's _test.rego, and its texts in every language.
type NewCause struct {
	Module string
	ID     string
	Rule   string
	Tests  string
	Texts  map[string]CauseTexts
}

var causeID = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// DraftNewCause appends a new cause's rule to its module, its tests to the
// module's tests and its texts to the message files. The rule's metadata
// is read here only to give a clear message early; that the built draft
// declares the cause is checked by CheckNewCause.
func DraftNewCause(cur *rules.Policy, nc NewCause) (knowledge.Source, error) {
	return DraftNewCauseOn(cur.Catalog, cur.Source, nc)
}

// DraftNewCauseOn adds the new cause to src, a source whose causes are
// cat's: the rules served (DraftNewCause), or those with the admin's draft
// in place (WithDraft), for the cause to be saved to the draft.
func DraftNewCauseOn(cat knowledge.Catalog, src knowledge.Source, nc NewCause) (knowledge.Source, error) {
	var problems knowledge.Problems
	if c, ok := cat.Cause(nc.ID); ok {
		problems = append(problems, knowledge.Problem{File: c.File, Line: c.Line, Message: fmt.Sprintf("cause %s already exists; edit its texts instead", nc.ID)})
	}
	if !causeID.MatchString(nc.ID) {
		problems = append(problems, knowledge.Problem{File: nc.Module, Message: fmt.Sprintf("cause id %q must be snake_case (lower-case letters, digits and single underscores)", nc.ID)})
	}
	if _, ok := src.Modules[nc.Module]; !ok || knowledge.IsTest(nc.Module) {
		problems = append(problems, knowledge.Problem{File: nc.Module, Message: "choose one of the policy modules for the new rule"})
	}
	switch {
	case strings.TrimSpace(nc.Rule) == "":
		problems = append(problems, knowledge.Problem{File: nc.Module, Message: "the rule must not be empty"})
	case causeID.MatchString(nc.ID) && !rules.DeclaresCause(nc.Rule, nc.ID):
		problems = append(problems, knowledge.Problem{File: nc.Module, Message: fmt.Sprintf("the new rule must declare the cause: `default cause.<symptom>.%s := \"open\"` with its # METADATA", nc.ID)})
	}
	testFile := testModuleOf(nc.Module)
	if _, ok := src.Modules[testFile]; strings.TrimSpace(nc.Tests) != "" && !ok {
		problems = append(problems, knowledge.Problem{File: testFile, Message: "the module has no test file to add the tests to"})
	}
	if len(problems) > 0 {
		return knowledge.Source{}, problems
	}
	draft, err := DraftCauseTexts(src, nc.ID, nc.Texts)
	if err != nil {
		return knowledge.Source{}, err
	}
	draft.Modules[nc.Module] = appendBlock(draft.Modules[nc.Module], nc.Rule)
	// Every cause has its section in the admins' article and in the
	// contacts' explanations: the new one's is its title and advice, at
	// the document's end, for the admin to place and expand.
	for name, text := range draft.Docs {
		doc, lang, ok := docOf(name)
		if !ok {
			continue
		}
		t := nc.Texts[lang]
		title, advice := strings.TrimSpace(t.Title), strings.TrimSpace(t.Advice)
		switch doc {
		case "article":
			draft.Docs[name] = appendBlock(text, fmt.Sprintf("{#%s} **%s.** %s", nc.ID, title, advice))
		case "help":
			draft.Docs[name] = appendBlock(text, fmt.Sprintf("### %s {#%s}\n\n%s", title, nc.ID, advice))
		}
	}
	if strings.TrimSpace(nc.Tests) != "" {
		draft.Modules[testFile] = appendBlock(draft.Modules[testFile], nc.Tests)
	}
	return draft, nil
}

// docOf is which document (article, help) a file of the rules is, and its
// language, by its name (rules/login/article.es.md, rules/login/help.en.md).
func docOf(name string) (doc, lang string, ok bool) {
	base, isMD := strings.CutSuffix(path.Base(name), ".md")
	doc, lang, ok = strings.Cut(base, ".")
	return doc, lang, isMD && ok && (doc == "article" || doc == "help") && locales.Supported(lang)
}

// CheckNewCause says whether the built draft declares the new cause, and
// that it was not declared before.
func CheckNewCause(cur, draft *rules.Policy, nc NewCause) knowledge.Problems {
	if c, ok := cur.Catalog.Cause(nc.ID); ok {
		return knowledge.Problems{{File: c.File, Line: c.Line, Message: fmt.Sprintf("cause %s already exists; edit its texts instead", nc.ID)}}
	}
	if _, ok := draft.Catalog.Cause(nc.ID); !ok {
		return knowledge.Problems{{File: nc.Module, Message: fmt.Sprintf("the new rule must declare the cause: `default cause.<symptom>.%s := \"open\"` with its # METADATA", nc.ID)}}
	}
	return nil
}

func checkCauseTexts(texts map[string]CauseTexts) knowledge.Problems {
	var problems knowledge.Problems
	for _, lang := range locales.Languages {
		t := texts[lang]
		for _, f := range []struct{ name, text string }{{"title", t.Title}, {"advice", t.Advice}} {
			switch {
			case strings.TrimSpace(f.text) == "":
				problems = append(problems, knowledge.Problem{File: locales.Path(lang), Message: fmt.Sprintf("the %s %s must not be empty", lang, f.name)})
			case strings.Contains(f.text, "{{"):
				problems = append(problems, knowledge.Problem{File: locales.Path(lang), Message: fmt.Sprintf("the %s %s must not contain {{", lang, f.name)})
			}
		}
	}
	return problems
}

// NormalizeText turns a browser's CRLF line ends into LF.
func NormalizeText(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func appendBlock(text, block string) string {
	text = strings.TrimRight(text, "\n")
	return text + "\n\n" + strings.Trim(NormalizeText(block), "\n") + "\n"
}

func testModuleOf(file string) string { return strings.TrimSuffix(file, ".rego") + "_test.rego" }

// PolicyModules returns the source's modules that are not tests, sorted.
func PolicyModules(src knowledge.Source) []string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(src.Modules)) {
		if !knowledge.IsTest(name) {
			names = append(names, name)
		}
	}
	return names
}

// NewCauseTemplate is the rule the form to add a cause starts with: its
// # METADATA and the shape of a cause's rules, with <placeholders> for the
// admin to fill in. The cause goes after the causes before it in the
// module (custom.after places it elsewhere), and the facts it rests on are
// those its rules read: neither is written.
func NewCauseTemplate() string {
	return `# METADATA
# title: <what the cause is, for rule authors>
# description: <when it applies>
default cause.<symptom>.<id> := "open"

cause.<symptom>.<id> := "likely" if {
	input.facts.<fact> == true
} else := "ruled_out" if {
	input.facts.<fact> == false
}
`
}
