package publish

import (
	"context"
	"strings"
	"testing"

	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
)

// factsModule is the module of the embedded rules that declares the facts.
const factsModule = "rules/login/facts.rego"

// TestDraftNewFact adds an asked fact: the declaration is written as the
// others are (no order: facts are asked in the order they are declared),
// its question's texts are added empty, the check names each empty text at
// its line, and once they are written the rules build with the fact where
// it was declared.
func TestDraftNewFact(t *testing.T) {
	ctx := context.Background()
	embedded := rules.Embedded()
	nf := NewFact{Name: "sms_filter_app", Type: knowledge.TypeChoices, Choices: []string{"yes_app", "no_app"},
		AskedOf: knowledge.AskedOfContact, Description: `An app that filters SMS ("spam blockers") is installed.`}
	tests := []struct {
		name      string
		src       knowledge.Source
		wantOrder string // in the declaration written, or "" for no order at all
	}{
		{"the built-in rules", embedded, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			draft, err := DraftNewFact(tc.src, nf)
			if err != nil {
				t.Fatalf("DraftNewFact = %v", err)
			}
			if got := ChangedFiles(tc.src, draft); strings.Join(got, " ") != "locales/active.en.toml locales/active.es.toml "+factsModule {
				t.Errorf("DraftNewFact changed %v; want the facts module and both message files", got)
			}
			text := draft.Modules[factsModule]
			_, decl, _ := strings.Cut(text, `"sms_filter_app": {`)
			decl, _, _ = strings.Cut(decl, "},")
			if tc.wantOrder != "" && !strings.Contains(decl, tc.wantOrder) {
				t.Errorf("declaration %s; want %s", decl, tc.wantOrder)
			}
			if tc.wantOrder == "" && strings.Contains(text, `"order"`) {
				t.Errorf("the facts module has an order after adding a fact to facts without one:\n%s", decl)
			}

			_, err = rules.Build(ctx, draft, rules.Options{SkipTests: true, NoCache: true})
			for _, id := range NewFactTexts(nf) {
				for _, lang := range locales.Languages {
					want := locales.Path(lang) + ":"
					if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "message "+id+" is empty") {
						t.Errorf("Build with the empty texts = %v; want %s… message %s is empty", err, want, id)
					}
				}
			}

			for _, lang := range locales.Languages {
				var msgs []locales.Message
				for _, id := range NewFactTexts(nf) {
					msgs = append(msgs, locales.Message{ID: id, Text: id + " " + lang})
				}
				file, err := locales.SetMessages(draft.Messages[locales.FileName(lang)], msgs...)
				if err != nil {
					t.Fatal(err)
				}
				draft.Messages[locales.FileName(lang)] = file
			}
			p, err := rules.Build(ctx, draft, rules.Options{NoCache: true})
			if err != nil {
				t.Fatalf("Build once the texts are written = %v", err)
			}
			f, ok := p.Catalog.Fact(nf.Name)
			if !ok || f.Type != nf.Type || f.AskedOf != nf.AskedOf || f.Description != nf.Description || strings.Join(f.Choices, ",") != "yes_app,no_app" {
				t.Errorf("Catalog.Fact(%s) = %+v, %v; want it as declared", nf.Name, f, ok)
			}
			// Asked last of the contact's questions: after the facts declared before it.
			var contact []string
			for _, f := range p.Catalog.Facts {
				if f.AskedOf == knowledge.AskedOfContact {
					contact = append(contact, f.Name)
				}
			}
			if tc.wantOrder != "" && contact[len(contact)-1] != nf.Name {
				t.Errorf("contact facts in asking order = %v; want %s last", contact, nf.Name)
			}
		})
	}
}

// TestDraftNewFactNamesTheField refuses each mistaken field, naming it.
func TestDraftNewFactNamesTheField(t *testing.T) {
	src := rules.Embedded()
	ok := NewFact{Name: "sms_filter_app", Type: knowledge.TypeBoolean, AskedOf: knowledge.AskedOfContact, Description: "d"}
	tests := []struct {
		name  string
		edit  func(*NewFact)
		field string
	}{
		{"no name", func(f *NewFact) { f.Name = "" }, "name"},
		{"a name not in snake_case", func(f *NewFact) { f.Name = "SmsFilter" }, "name"},
		{"a name declared already", func(f *NewFact) { f.Name = "vpn" }, "name"},
		{"an unknown type", func(f *NewFact) { f.Type = "number" }, "type"},
		{"a choices fact without choices", func(f *NewFact) { f.Type = knowledge.TypeChoices }, "choices"},
		{"choices of a boolean", func(f *NewFact) { f.Choices = []string{"a"} }, "choices"},
		{"a choice twice", func(f *NewFact) { f.Type, f.Choices = knowledge.TypeChoices, []string{"a", "a"} }, "choices"},
		{"too many choices to ask", func(f *NewFact) { f.Type, f.Choices = knowledge.TypeChoices, []string{"a", "b", "c", "d", "e"} }, "choices"},
		{"asked of someone else", func(f *NewFact) { f.AskedOf = "robot" }, "asked_of"},
		{"a personal fact asked", func(f *NewFact) { f.Personal = true }, "asked_of"},
		{"a count asked", func(f *NewFact) { f.Type = knowledge.TypeCount }, "asked_of"},
		{"no description", func(f *NewFact) { f.Description = " " }, "description"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nf := ok
			tc.edit(&nf)
			_, err := DraftNewFact(src, nf)
			problems, isProblems := knowledge.AsProblems(err)
			if !isProblems || len(problems) == 0 || problems[0].File != tc.field {
				t.Errorf("DraftNewFact(%+v) = %v; want a problem naming the field %s", nf, err, tc.field)
			}
		})
	}
	if _, err := DraftNewFact(src, ok); err != nil {
		t.Errorf("DraftNewFact(%+v) = %v; want it drafted", ok, err)
	}
}

func mustBuild(tb testing.TB, src knowledge.Source) *rules.Policy {
	tb.Helper()
	p, err := rules.Build(context.Background(), src, rules.Options{SkipTests: true, NoCache: true})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
