package rules

import (
	"context"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"acceso/locales"
)

// Kinds of answer a question takes, as the API names them.
const (
	// QuestionBoolean is a yes/no question.
	QuestionBoolean = "boolean"
	// QuestionMultipleChoice is a question whose answer is any number of
	// the fact's choices.
	QuestionMultipleChoice = "multiple_choice"
)

// QuestionType is the kind of answer a question about a fact of type
// typ takes: a list of choices is a multiple choice, anything else yes/no.
func QuestionType(typ string) string {
	if typ == TypeChoices {
		return QuestionMultipleChoice
	}
	return QuestionBoolean
}

// Catalog is what the rules know, read from their metadata and data: the
// symptoms and causes in article order and the facts, in asking order (the
// contact's first, then the admin's, then those nobody is asked).
type Catalog struct {
	Symptoms []string
	Causes   []Cause
	Facts    []Fact
}

// Cause is one cause as its rule's metadata declares it.
type Cause struct {
	ID          string
	Symptom     string
	Order       int
	Facts       []string
	Title       string // the rule's own title, for rule authors
	Description string
	File        string
	Line        int
}

// Cause returns the cause with the given id.
func (c Catalog) Cause(id string) (Cause, bool) {
	i := slices.IndexFunc(c.Causes, func(x Cause) bool { return x.ID == id })
	if i < 0 {
		return Cause{}, false
	}
	return c.Causes[i], true
}

// readCatalog reads the causes from the rule annotations whose custom
// section has an id, and the symptoms and question types from the data the
// rules define. Every problem found names the rule's file and line.
func readCatalog(ctx context.Context, compiler *ast.Compiler) (Catalog, Problems) {
	var c Catalog
	var problems Problems
	rs, err := rego.New(
		rego.Query("symptoms := data.login.symptoms; facts := data.login.facts"),
		rego.Compiler(compiler),
	).Eval(ctx)
	if err != nil || len(rs) != 1 {
		return c, Problems{{File: "rules", Message: fmt.Sprintf("reading data.login.symptoms and data.login.facts: %v", err)}}
	}
	for _, s := range asSlice(rs[0].Bindings["symptoms"]) {
		if str, ok := s.(string); ok {
			c.Symptoms = append(c.Symptoms, str)
		}
	}
	c.Facts, problems = readFacts(rs[0].Bindings["facts"])

	for _, ref := range compiler.GetAnnotationSet().Flatten() {
		a := ref.Annotations
		if a == nil || a.Custom["id"] == nil || ref.GetRule() == nil {
			continue
		}
		cause, errs := causeFrom(a)
		if ref.Location != nil {
			cause.File, cause.Line = ref.Location.File, ref.Location.Row
		}
		for _, e := range errs {
			problems = append(problems, Problem{File: cause.File, Line: cause.Line, Message: e})
		}
		if len(errs) > 0 {
			continue
		}
		if !slices.Contains(c.Symptoms, cause.Symptom) {
			problems = append(problems, Problem{File: cause.File, Line: cause.Line, Message: fmt.Sprintf("cause %s: unknown symptom %q", cause.ID, cause.Symptom)})
		}
		for _, f := range cause.Facts {
			if _, ok := c.Fact(f); !ok {
				problems = append(problems, Problem{File: cause.File, Line: cause.Line, Message: fmt.Sprintf("cause %s: unknown fact %q", cause.ID, f)})
			}
		}
		if prev, dup := c.Cause(cause.ID); dup {
			problems = append(problems, Problem{File: cause.File, Line: cause.Line, Message: fmt.Sprintf("cause %s is declared twice (also at %s:%d)", cause.ID, prev.File, prev.Line)})
		}
		c.Causes = append(c.Causes, cause)
	}
	if len(c.Causes) == 0 {
		problems = append(problems, Problem{File: "rules", Message: "no causes: a cause is a rule whose metadata has custom.id"})
	}
	slices.SortStableFunc(c.Causes, func(a, b Cause) int { return a.Order - b.Order })
	for i := 1; i < len(c.Causes); i++ {
		if a, b := c.Causes[i-1], c.Causes[i]; a.Order == b.Order {
			problems = append(problems, Problem{File: b.File, Line: b.Line, Message: fmt.Sprintf("cause %s has the same order (%d) as %s", b.ID, b.Order, a.ID)})
		}
	}
	return c, problems
}

// causeFrom reads one cause from its annotations; errs says what is missing
// or malformed.
func causeFrom(a *ast.Annotations) (c Cause, errs []string) {
	c.Title, c.Description = a.Title, a.Description
	var ok bool
	if c.ID, ok = a.Custom["id"].(string); !ok || c.ID == "" {
		errs = append(errs, "metadata custom.id must be a non-empty string")
	}
	if c.Symptom, ok = a.Custom["symptom"].(string); !ok {
		errs = append(errs, fmt.Sprintf("cause %s: metadata custom.symptom must be a string", c.ID))
	}
	switch n := a.Custom["order"].(type) {
	case int:
		c.Order = n
	case float64:
		c.Order = int(n)
	default:
		errs = append(errs, fmt.Sprintf("cause %s: metadata custom.order must be a number", c.ID))
	}
	for _, f := range asSlice(a.Custom["facts"]) {
		if s, ok := f.(string); ok {
			c.Facts = append(c.Facts, s)
		}
	}
	if len(c.Facts) == 0 {
		errs = append(errs, fmt.Sprintf("cause %s: metadata custom.facts must list the facts it rests on", c.ID))
	}
	return c, errs
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// Messages returns the ids of every message the catalog needs, each with
// where the need comes from.
func (c Catalog) Messages() []NeededMessage {
	var need []NeededMessage
	for _, s := range c.Symptoms {
		need = append(need,
			NeededMessage{ID: locales.SymptomTitle(s), For: "symptom " + s},
			NeededMessage{ID: locales.SymptomDescription(s), For: "symptom " + s})
	}
	for _, cause := range c.Causes {
		for _, id := range []string{locales.CauseTitle(cause.ID), locales.CauseAdvice(cause.ID)} {
			need = append(need, NeededMessage{ID: id, For: "cause " + cause.ID, File: cause.File, Line: cause.Line})
		}
	}
	for _, f := range c.Facts {
		if !f.Asked() {
			continue
		}
		need = append(need,
			NeededMessage{ID: locales.Question(f.Name), For: "question " + f.Name},
			NeededMessage{ID: locales.QuestionHelp(f.Name), For: "question " + f.Name})
		for _, choice := range f.Choices {
			need = append(need, NeededMessage{ID: locales.Choice(f.Name, choice), For: "choice " + choice + " of " + f.Name})
		}
	}
	return need
}

// NeededMessage is a message the rules need, and which rule needs it.
type NeededMessage struct {
	ID, For string
	File    string
	Line    int
}

// checkTexts reports every needed message missing in a language, located at
// the rule that needs it.
func (c Catalog) checkTexts(texts *locales.Texts) Problems {
	var problems Problems
	needed := c.Messages()
	for _, lang := range locales.Languages {
		for _, m := range needed {
			if _, ok := texts.Text(lang, m.ID); ok {
				continue
			}
			p := Problem{File: m.File, Line: m.Line, Message: fmt.Sprintf("%s has no %s text: add %s to %s", m.For, lang, m.ID, locales.Path(lang))}
			if p.File == "" {
				p.File = locales.Path(lang)
			}
			problems = append(problems, p)
		}
	}
	return problems
}

// DeclaresCause reports whether a rule's text (one or more rules, without a
// package line) declares the cause id in its # METADATA, as read by the
// same parser that builds the catalog.
func DeclaresCause(rule, id string) bool {
	m, err := ast.ParseModuleWithOpts("rule.rego", "package draft\n\n"+rule,
		ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err != nil {
		return false
	}
	for _, a := range m.Annotations {
		if got, _ := a.Custom["id"].(string); got == id {
			return true
		}
	}
	return false
}
