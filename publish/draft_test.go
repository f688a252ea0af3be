package publish

import (
	"strings"
	"testing"

	"acceso/knowledge"
	"acceso/store"
)

// draftTestSource is a source of one module and the message files, small
// enough to read in a failure.
func draftTestSource() knowledge.Source {
	return knowledge.Source{
		Modules: map[string]string{"rules/login/facts.rego": "package login\n"},
		Messages: map[string][]byte{
			"active.es.toml": []byte("[A]\ndescription = \"d\"\nother = \"a\"\n"),
			"active.en.toml": []byte("[A]\ndescription = \"d\"\nother = \"a\"\n"),
		},
	}
}

func TestDraftFile(t *testing.T) {
	cur := draftTestSource()
	tests := []struct {
		name, file, text string
		want             string // the problem, or "" for none
	}{
		{"a module", "rules/login/facts.rego", "package login\r\n# edited\r\n", ""},
		{"a message file", "locales/active.en.toml", "[A]\ndescription = \"d\"\nother = \"b\"\n", ""},
		{"a message file that is not TOML", "locales/active.en.toml", "[A]\nother = \"b\n", "locales/active.en.toml:2: "},
		{"a module that does not exist", "rules/login/nope.rego", "package login\n", "rules/login/nope.rego: no such module, message file or document"},
		{"a message file that does not exist", "locales/active.fr.toml", "", "locales/active.fr.toml: no such module, message file or document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			draft, err := DraftFile(cur, tc.file, tc.text)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("DraftFile(%s) = %v; want a problem %q", tc.file, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("DraftFile(%s) = %v; want no problem", tc.file, err)
			}
			if got, want := Files(draft)[tc.file], NormalizeText(tc.text); got != want {
				t.Errorf("DraftFile(%s): the draft's text = %q; want %q", tc.file, got, want)
			}
			if Files(cur)[tc.file] == Files(draft)[tc.file] {
				t.Errorf("DraftFile(%s) changed the source it was given", tc.file)
			}
		})
	}
}

func TestApplyDraft(t *testing.T) {
	cur := draftTestSource()
	served := Files(cur)
	drafted := func(path, text string) store.DraftFile {
		return store.DraftFile{Path: path, Base: served[path], Text: text}
	}
	module := drafted("rules/login/facts.rego", "package login\n# edited\n")
	texts := drafted("locales/active.en.toml", "[A]\ndescription = \"d\"\nother = \"b\"\n")
	stale := module
	stale.Base = "package login\n# what it was before someone else published\n"
	tests := []struct {
		name  string
		files []store.DraftFile
		want  []string // the problems' texts, or none
	}{
		{"a module and a message file, as one source", []store.DraftFile{module, texts}, nil},
		{"an empty draft", nil, []string{"draft: your draft is empty"}},
		{"a file someone else changed", []store.DraftFile{stale, texts}, []string{"rules/login/facts.rego: changed by someone else since you drafted it"}},
		{"a message file that is not TOML, with a stale file", []store.DraftFile{stale, drafted("locales/active.es.toml", "[A\n")},
			[]string{"locales/active.es.toml:1: ", "rules/login/facts.rego: changed by someone else"}},
		{"a file that no longer exists", []store.DraftFile{{Path: "rules/login/gone.rego", Base: "package login\n", Text: "package login\n"}},
			[]string{"rules/login/gone.rego: no such module, message file or document"}},
		{"a new file in a topic's folder, and its texts", []store.DraftFile{
			{Path: "rules/billing/decision.rego", Text: "package billing\n"},
			{Path: "rules/billing/article.es.md", Text: "# Facturación\n"},
			{Path: "locales/billing/active.en.toml", Text: "[A]\nother = \"b\"\n"}}, nil},
		{"a new file elsewhere", []store.DraftFile{{Path: "rules/billing/sub/x.rego", Text: "package billing\n"}},
			[]string{"rules/billing/sub/x.rego: no such module, message file or document; a new file goes in a topic's folder"}},
		{"a new file of texts in a language not served", []store.DraftFile{{Path: "locales/billing/active.fr.toml", Text: "[A]\nother = \"b\"\n"}},
			[]string{"locales/billing/active.fr.toml: a topic's texts are in the languages served"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			draft, err := ApplyDraft(cur, tc.files)
			if len(tc.want) > 0 {
				for _, want := range tc.want {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("ApplyDraft = %v; want a problem %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyDraft = %v; want no problem", err)
			}
			got := Files(draft)
			for _, f := range tc.files {
				if got[f.Path] != f.Text {
					t.Errorf("ApplyDraft: %s = %q; want the draft's %q", f.Path, got[f.Path], f.Text)
				}
			}
			if got["locales/active.es.toml"] != served["locales/active.es.toml"] {
				t.Errorf("ApplyDraft changed a file that is not in the draft")
			}
		})
	}
}

func TestDraftDiff(t *testing.T) {
	cur := draftTestSource()
	stale := store.DraftFile{Path: "rules/login/facts.rego", Base: "something else\n", Text: "package login\n# edited\n"}
	same := store.DraftFile{Path: "locales/active.en.toml", Base: Files(cur)["locales/active.en.toml"], Text: Files(cur)["locales/active.en.toml"]}
	d := DraftDiff(cur, []store.DraftFile{stale, same})
	if !strings.Contains(d, "+++ b/rules/login/facts.rego") || !strings.Contains(d, "+# edited") {
		t.Errorf("DraftDiff = %q; want the module's change against what is served, stale or not", d)
	}
	if strings.Contains(d, "active.en.toml") {
		t.Errorf("DraftDiff = %q; want nothing for a drafted file that changes nothing", d)
	}
}
