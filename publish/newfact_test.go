package publish

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"acceso/locales"
	"acceso/rules"
)

// factsModule is the module of the embedded rules that declares the facts.
const factsModule = "rules/login/facts.rego"

// withoutOrders is src with every "order" key of its fact declarations
// taken out: rules that order their facts by position.
func withoutOrders(tb testing.TB, src rules.Source) rules.Source {
	tb.Helper()
	out := src.Clone()
	orders := regexp.MustCompile(`,\s*"order":\s*\d+`)
	out.Modules[factsModule] = orders.ReplaceAllString(out.Modules[factsModule], "")
	if strings.Contains(out.Modules[factsModule], `"order"`) {
		tb.Fatalf("%s still has an order after taking them out", factsModule)
	}
	return out
}

func TestNextFactOrder(t *testing.T) {
	n := func(i int64) any { return json.Number(strconv.FormatInt(i, 10)) }
	tests := []struct {
		name  string
		decls map[string]map[string]any
		want  int
		used  bool
	}{
		{"no fact has an order", map[string]map[string]any{"a": {"type": "boolean"}, "b": {"type": "count"}}, 0, false},
		{"after the highest", map[string]map[string]any{"a": {"order": n(2)}, "b": {"order": n(7)}, "c": {"type": "count"}}, 8, true},
		{"from metadata numbers", map[string]map[string]any{"a": {"order": 3}, "b": {"order": float64(4)}}, 5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, used := NextFactOrder(tc.decls)
			if got != tc.want || used != tc.used {
				t.Errorf("NextFactOrder(%v) = %d, %v; want %d, %v", tc.decls, got, used, tc.want, tc.used)
			}
		})
	}
}

// TestDraftNewFact adds an asked fact to rules whose facts have an order
// and to rules whose facts have none: the declaration is written as the
// others are, its question's texts are added empty, the check names each
// empty text at its line, and once they are written the rules build with
// the fact where it was declared.
func TestDraftNewFact(t *testing.T) {
	ctx := context.Background()
	embedded := rules.Embedded()
	nf := NewFact{Name: "sms_filter_app", Type: rules.TypeChoices, Choices: []string{"yes_app", "no_app"},
		AskedOf: rules.AskedOfContact, Description: `An app that filters SMS ("spam blockers") is installed.`}
	tests := []struct {
		name      string
		src       rules.Source
		wantOrder string // in the declaration written, or "" for no order at all
	}{
		{"facts with an order", embedded, `"order": 12`},
		{"facts by position", withoutOrders(t, embedded), ""},
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
				if f.AskedOf == rules.AskedOfContact {
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
	ok := NewFact{Name: "sms_filter_app", Type: rules.TypeBoolean, AskedOf: rules.AskedOfContact, Description: "d"}
	tests := []struct {
		name  string
		edit  func(*NewFact)
		field string
	}{
		{"no name", func(f *NewFact) { f.Name = "" }, "name"},
		{"a name not in snake_case", func(f *NewFact) { f.Name = "SmsFilter" }, "name"},
		{"a name declared already", func(f *NewFact) { f.Name = "vpn" }, "name"},
		{"an unknown type", func(f *NewFact) { f.Type = "number" }, "type"},
		{"a choices fact without choices", func(f *NewFact) { f.Type = rules.TypeChoices }, "choices"},
		{"choices of a boolean", func(f *NewFact) { f.Choices = []string{"a"} }, "choices"},
		{"a choice twice", func(f *NewFact) { f.Type, f.Choices = rules.TypeChoices, []string{"a", "a"} }, "choices"},
		{"too many choices to ask", func(f *NewFact) { f.Type, f.Choices = rules.TypeChoices, []string{"a", "b", "c", "d", "e"} }, "choices"},
		{"asked of someone else", func(f *NewFact) { f.AskedOf = "robot" }, "asked_of"},
		{"a personal fact asked", func(f *NewFact) { f.Personal = true }, "asked_of"},
		{"a count asked", func(f *NewFact) { f.Type = rules.TypeCount }, "asked_of"},
		{"no description", func(f *NewFact) { f.Description = " " }, "description"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nf := ok
			tc.edit(&nf)
			_, err := DraftNewFact(src, nf)
			problems, isProblems := rules.AsProblems(err)
			if !isProblems || len(problems) == 0 || problems[0].File != tc.field {
				t.Errorf("DraftNewFact(%+v) = %v; want a problem naming the field %s", nf, err, tc.field)
			}
		})
	}
	if _, err := DraftNewFact(src, ok); err != nil {
		t.Errorf("DraftNewFact(%+v) = %v; want it drafted", ok, err)
	}
}

// TestCauseFormatOf reads how the causes declare themselves, and the
// template of a new cause writes the same.
func TestCauseFormatOf(t *testing.T) {
	embedded := rules.Embedded()
	bare := embedded.Clone()
	for name, text := range bare.Modules {
		bare.Modules[name] = regexp.MustCompile(`(?m)^(#   (order|facts|contact_can_try): .*|# custom:)\n`).ReplaceAllString(text, "")
	}
	tests := []struct {
		name        string
		src         rules.Source
		want        CauseFormat
		wantInTempl []string
		notInTempl  []string
	}{
		{"custom.order and custom.facts", embedded, CauseFormat{Order: true, NextOrder: len(mustBuild(t, embedded).Catalog.Causes) + 1, Facts: true, CanTry: true},
			[]string{"#   order: 12\n", "#   facts: [<fact>]\n", "#   contact_can_try: false\n"}, nil},
		{"neither", bare, CauseFormat{NextOrder: 1}, nil, []string{"order:", "facts:", "custom:", "contact_can_try"}},
	}
	// The causes without their custom metadata still parse: what is read
	// is their metadata, not a module left out.
	for _, name := range PolicyModules(bare) {
		if _, err := ast.ParseModuleWithOpts(name, bare.Modules[name], ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1}); err != nil {
			t.Fatalf("%s without custom metadata: %v", name, err)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CauseFormatOf(tc.src); got != tc.want {
				t.Errorf("CauseFormatOf = %+v; want %+v", got, tc.want)
			}
			tmpl := NewCauseTemplate(tc.src)
			for _, want := range tc.wantInTempl {
				if !strings.Contains(tmpl, want) {
					t.Errorf("NewCauseTemplate lacks %q:\n%s", want, tmpl)
				}
			}
			for _, not := range tc.notInTempl {
				if strings.Contains(tmpl, not) {
					t.Errorf("NewCauseTemplate has %q:\n%s", not, tmpl)
				}
			}
		})
	}
}

func mustBuild(tb testing.TB, src rules.Source) *rules.Policy {
	tb.Helper()
	p, err := rules.Build(context.Background(), src, rules.Options{SkipTests: true, NoCache: true})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
