package publish

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
)

// otherDomain is the cause whose helper reads a personal fact: with
// the decision cache on, ana@allowed.example was given bea@other.example's
// finding, because the cache keys on what is derived from personal facts
// only.
const otherDomain = `
# METADATA
# title: Another domain
# description: The contact logs in with an address of another domain.
default cause.code_not_received.other_domain := "open"

cause.code_not_received.other_domain := "likely" if {
	input.facts.online == true
	_other_domain
}

_other_domain if endswith(input.facts.identifier, "@other.example")
`

// withOtherDomain is src with the cause, its texts in every language and
// its sections in the article and the contacts' explanations: complete, so
// that reading the personal fact is its only problem.
func withOtherDomain(t *testing.T, src knowledge.Source) knowledge.Source {
	t.Helper()
	src = src.Clone()
	src.Modules["rules/login/causes.rego"] += otherDomain
	for path, text := range src.Docs {
		src.Docs[path] = text + "\n{#other_domain} Another domain.\n"
	}
	for _, lang := range locales.Languages {
		b, err := locales.SetMessages(src.Messages[locales.FileName(lang)],
			locales.Message{ID: locales.CauseTitle("other_domain"), Description: "t", Text: "Another domain"},
			locales.Message{ID: locales.CauseAdvice("other_domain"), Description: "a", Text: "Use the address of your organization."})
		if err != nil {
			t.Fatal(err)
		}
		src.Messages[locales.FileName(lang)] = b
	}
	return src
}

// TestPublishRefusesPersonalReads publishes the two rules that read
// a personal fact, a cause's helper and a scope that changes on the
// identifier: each is refused at the file and line of the read, the rules
// served stay, and with the decision cache on two contacts who differ only
// in personal facts each get their own answer (the cross-contact
// case: ana@allowed.example was given bea@other.example's finding).
func TestPublishRefusesPersonalReads(t *testing.T) {
	t.Parallel()
	p := newPublisher(t, Config{})
	cur := p.Engine().Current()
	const causes, decision = "rules/login/causes.rego", "rules/login/decision.rego"
	helper := withOtherDomain(t, cur.Source)
	scope := cur.Source.Clone()
	scope.Modules[decision] = strings.Replace(scope.Modules[decision], "scope := [input.symptom] if {\n\tinput.symptom\n",
		"scope := [input.symptom] if {\n\tinput.symptom\n\tnot endswith(input.facts.identifier, \"@evil.test\")\n", 1)
	tests := []struct {
		name string
		src  knowledge.Source
		want knowledge.Problem
	}{
		{"a cause's helper", helper, knowledge.Problem{File: causes, Line: lineOf(t, helper.Modules[causes], "_other_domain if endswith(input.facts.identifier"),
			Message: "rule _other_domain reads the personal fact identifier: only the derivation (derived) may read personal facts"}},
		{"the scope", scope, knowledge.Problem{File: decision, Line: lineOf(t, scope.Modules[decision], `not endswith(input.facts.identifier, "@evil.test")`),
			Message: "rule scope reads the personal fact identifier: only the derivation (derived) may read personal facts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.src.Revision() == cur.Source.Revision() {
				t.Fatal("the change changed nothing")
			}
			_, _, err := p.Publish(context.Background(), Change{Source: tc.src, Admin: "ana", Note: "reads a personal fact"})
			ps, _ := knowledge.AsProblems(err)
			found := false
			for _, p := range ps {
				found = found || (p.File == tc.want.File && p.Line == tc.want.Line && strings.HasPrefix(p.Message, tc.want.Message))
			}
			if !found {
				t.Errorf("Publish(%s reading identifier) = %v; want %s:%d: %s…", tc.name, err, tc.want.File, tc.want.Line, tc.want.Message)
			}
			if p.Engine().Current() != cur {
				t.Errorf("the refused publish changed the rules served")
			}
		})
	}

	t.Run("two contacts differing only in personal facts", func(t *testing.T) {
		served := p.Engine().Current()
		alone, err := rules.Build(context.Background(), served.Source, rules.Options{NoCache: true, SkipTests: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{
			`{"symptom":"code_not_received","facts":{"online":true,"identifier":"bea@other.example","registered_emails":["bea@other.example"]}}`,
			`{"symptom":"code_not_received","facts":{"online":true,"identifier":"ana@allowed.example","registered_emails":["ana@allowed.example"]}}`,
			`{"symptom":"code_not_received","facts":{"online":true,"identifier":"ana@allowed.example","registered_emails":["bea@other.example"]}}`,
		} {
			req, err := answer.Decode(served.Catalog, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := served.Evaluate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := alone.Evaluate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("served with the cache, %s = %+v; evaluated on its own %+v", body, got, want)
			}
		}
		if hits, _ := served.CacheStats(); hits == 0 {
			t.Errorf("no answer came from the cache; want bea's and ana's matching cards to share one")
		}
	})
}
