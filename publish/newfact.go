package publish

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"acceso/knowledge"
	"acceso/locales"
)

// NewFact is what an admin gives to add a fact: its name, the type of its
// value (with its choices for a choices fact), who is asked about it
// (knowledge.AskedOfContact, knowledge.AskedOfAdmin, or "" for nobody), whether
// it is personal data, and what it means, for integrators.
type NewFact struct {
	Name        string
	Type        string
	Choices     []string
	AskedOf     string
	Personal    bool
	Description string
}

// factTypes are the types a fact's value may have, as the rules read them.
var factTypes = []string{knowledge.TypeBoolean, knowledge.TypeChoices, knowledge.TypeCount, knowledge.TypeString, knowledge.TypeStrings}

// FactTypes are the types a new fact may have, in the form's order.
func FactTypes() []string { return slices.Clone(factTypes) }

// maxAskedChoices is how many choices a fact someone is asked about may
// have, as the rules allow: the site offers every combination as a link.
const maxAskedChoices = 4

// Check says what is wrong with the form's fields, each problem naming
// its field (File is the field's name); decls are the facts declared
// already.
func (nf NewFact) check(decls map[string]map[string]any) knowledge.Problems {
	var problems knowledge.Problems
	bad := func(field, format string, args ...any) {
		problems = append(problems, knowledge.Problem{File: field, Message: fmt.Sprintf(format, args...)})
	}
	switch _, exists := decls[nf.Name]; {
	case nf.Name == "":
		bad("name", "give the fact a name, in snake_case (sms_filter_app)")
	case !causeID.MatchString(nf.Name):
		bad("name", "%q must be snake_case: lower-case letters, digits and single underscores (sms_filter_app)", nf.Name)
	case exists:
		bad("name", "a fact %s is declared already", nf.Name)
	}
	if !slices.Contains(factTypes, nf.Type) {
		bad("type", "choose one of %s", strings.Join(factTypes, ", "))
	}
	switch {
	case nf.Type == knowledge.TypeChoices && len(nf.Choices) == 0:
		bad("choices", "a choices fact lists its choices, separated by commas (email, sms)")
	case nf.Type != knowledge.TypeChoices && len(nf.Choices) > 0:
		bad("choices", "only a choices fact has choices: leave them out, or choose the type choices")
	case nf.AskedOf != "" && len(nf.Choices) > maxAskedChoices:
		bad("choices", "a fact someone is asked about has at most %d choices: the site offers every combination as a link", maxAskedChoices)
	}
	for i, c := range nf.Choices {
		switch {
		case !causeID.MatchString(c):
			bad("choices", "choice %q must be snake_case: lower-case letters, digits and single underscores", c)
		case slices.Contains(nf.Choices[:i], c):
			bad("choices", "choice %s is listed twice", c)
		}
	}
	switch {
	case nf.AskedOf != "" && nf.AskedOf != knowledge.AskedOfContact && nf.AskedOf != knowledge.AskedOfAdmin:
		bad("asked_of", "choose who is asked: %s, %s, or nobody", knowledge.AskedOfContact, knowledge.AskedOfAdmin)
	case nf.AskedOf != "" && nf.Personal:
		bad("asked_of", "a personal fact is never asked: its answer would end up in a URL; choose nobody, or make it not personal")
	case nf.AskedOf != "" && nf.Type != knowledge.TypeBoolean && nf.Type != knowledge.TypeChoices:
		bad("asked_of", "only boolean and choices facts can be asked; choose nobody, or another type")
	}
	if strings.TrimSpace(nf.Description) == "" {
		bad("description", "say what the fact means, in English, for integrators (the OpenAPI document shows it)")
	}
	return problems
}

// DraftNewFact adds nf's declaration to the facts that src declares
// (facts := {…}, at the end, written as the others are: with the next
// free "order" when they have one), and, for a fact someone is asked
// about, the texts its question needs to every message file: its question
// (Question<Fact>), how to check the answer (QuestionHelp<Fact>) and each
// choice (Choice<Fact><Choice>), left empty for the admin to write; the
// check names each one still empty at its file and line. A text the files
// have already is kept. Problems with the form's fields name the field.
func DraftNewFact(src knowledge.Source, nf NewFact) (knowledge.Source, error) {
	facts, err := findFacts(src)
	if err != nil {
		return knowledge.Source{}, err
	}
	if problems := nf.check(facts.decls); len(problems) > 0 {
		return knowledge.Source{}, problems
	}
	draft := src.Clone()
	text := draft.Modules[facts.module]
	head := strings.TrimRight(text[:facts.end], " \t\n")
	if !strings.HasSuffix(head, ",") && !strings.HasSuffix(head, "{") {
		head += ","
	}
	draft.Modules[facts.module] = head + "\n" + factDeclaration(nf) + "}" + text[facts.end+1:]
	if nf.AskedOf == "" {
		return draft, nil
	}
	msgs := []locales.Message{
		{ID: locales.Question(nf.Name), Description: fmt.Sprintf("Question about the fact %s, asked of the %s", nf.Name, nf.AskedOf)},
		{ID: locales.QuestionHelp(nf.Name), Description: fmt.Sprintf("How to check the answer to the question about %s", nf.Name)},
	}
	for _, c := range nf.Choices {
		msgs = append(msgs, locales.Message{ID: locales.Choice(nf.Name, c), Description: fmt.Sprintf("Choice %s of the fact %s", c, nf.Name)})
	}
	for _, lang := range locales.Languages {
		name := locales.FileName(lang)
		file := draft.Messages[name]
		var add []locales.Message
		for _, m := range msgs {
			if !bytes.Contains(file, []byte("["+m.ID+"]")) {
				add = append(add, m)
			}
		}
		if len(add) == 0 {
			continue
		}
		// The new tables are appended, so the file keeps its comments and
		// its diff shows only them.
		if line, err := locales.CheckFile(file); err != nil {
			return knowledge.Source{}, knowledge.Problems{{File: locales.Path(lang), Line: line, Message: err.Error()}}
		}
		tables, err := locales.SetMessages(nil, add...)
		if err != nil {
			return knowledge.Source{}, knowledge.Problems{{File: locales.Path(lang), Message: err.Error()}}
		}
		draft.Messages[name] = append(append(bytes.TrimRight(slices.Clone(file), "\n"), "\n\n"...), tables...)
	}
	return draft, nil
}

// NewFactTexts are the ids of the texts DraftNewFact adds for nf, for the
// form to say what is left to write.
func NewFactTexts(nf NewFact) []string {
	if nf.AskedOf == "" {
		return nil
	}
	ids := []string{locales.Question(nf.Name), locales.QuestionHelp(nf.Name)}
	for _, c := range nf.Choices {
		ids = append(ids, locales.Choice(nf.Name, c))
	}
	return ids
}

// factDeclaration writes nf's declaration as the facts of facts.rego are
// written: one entry of the object, indented by a tab, with a comma after
// it.
func factDeclaration(nf NewFact) string {
	q := func(s string) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		return strings.TrimSuffix(b.String(), "\n")
	}
	fields := []string{`"type": ` + q(nf.Type)}
	if len(nf.Choices) > 0 {
		quoted := make([]string, len(nf.Choices))
		for i, c := range nf.Choices {
			quoted[i] = q(c)
		}
		fields = append(fields, `"choices": [`+strings.Join(quoted, ", ")+`]`)
	}
	if nf.Personal {
		fields = append(fields, `"personal": true`)
	}
	if nf.AskedOf != "" {
		fields = append(fields, `"asked_of": `+q(nf.AskedOf))
	}
	description := strings.Join(strings.Fields(nf.Description), " ")
	return "\t" + q(nf.Name) + ": {\n\t\t" + strings.Join(fields, ", ") + ",\n\t\t\"description\": " + q(description) + ",\n\t},\n"
}

// factsDecl is where a source declares its facts: the module, the text of
// the facts object and its offset in the module's text, and the
// declarations read from it.
type factsDecl struct {
	module string
	start  int // offset of the object's opening brace
	end    int // offset of its closing brace
	decls  map[string]map[string]any
}

// findFacts finds the rule facts := {…} among src's policy modules.
func findFacts(src knowledge.Source) (factsDecl, error) {
	for _, name := range PolicyModules(src) {
		text := src.Modules[name]
		m, err := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			continue
		}
		for _, r := range m.Rules {
			if r.Head.Name != "facts" && !r.Head.Ref().Equal(ast.Ref{ast.VarTerm("facts")}) {
				continue
			}
			if r.Head.Value == nil || r.Head.Value.Location == nil {
				continue
			}
			obj, ok := r.Head.Value.Value.(ast.Object)
			if !ok {
				continue
			}
			loc := r.Head.Value.Location
			start, end := loc.Offset, loc.Offset+len(loc.Text)-1
			if start < 0 || end >= len(text) || text[start] != '{' || text[end] != '}' {
				continue
			}
			d := factsDecl{module: name, start: start, end: end, decls: make(map[string]map[string]any)}
			var v map[string]any
			if raw, err := ast.JSON(obj); err == nil {
				v, _ = raw.(map[string]any)
			}
			for k, decl := range v {
				if m, ok := decl.(map[string]any); ok {
					d.decls[k] = m
				}
			}
			return d, nil
		}
	}
	return factsDecl{}, knowledge.Problems{{File: "rules", Message: "no module declares the facts (facts := {…}); add the fact to the module that should"}}
}
