package flow

import (
	"context"
	"strings"
	"sync"
	"testing"

	"acceso/knowledge"
	"acceso/rules"
)

var build = sync.OnceValues(func() (*rules.Policy, error) {
	return rules.Build(context.Background(), rules.Embedded(), rules.Options{})
})

func policy(t testing.TB) *rules.Policy {
	t.Helper()
	p, err := build()
	if err != nil {
		t.Fatalf("Build(embedded) = %v", err)
	}
	return p
}

func TestExploreTheLoginRules(t *testing.T) {
	p := policy(t)
	m, err := Explore(context.Background(), p, 0)
	if err != nil {
		t.Fatalf("Explore = %v", err)
	}
	if problems := m.Check(p.Catalog); len(problems) > 0 {
		t.Errorf("the login rules' flow has problems: %v", problems)
	}
	t.Logf("%d states", m.States())
	for _, tr := range m.Trees {
		root := tr.Nodes[0]
		if root.Question == "" || len(root.Diagnosis.Answers) != 0 {
			t.Errorf("%s starts at %+v; want a first question", tr.Symptom, root)
		}
		for _, n := range tr.Nodes {
			if n.Question == "" && n.Outcome == "" {
				t.Errorf("%s: a state with no question and no outcome at %s", tr.Symptom, n.Diagnosis.Path("es"))
			}
			// Every state is canonical: settling it changes nothing.
			st, err := Settle(context.Background(), decide, p, n.Diagnosis, "es")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := st.Diagnosis.Path("es"), n.Diagnosis.Path("es"); got != want {
				t.Errorf("Settle(%s) = %s; want the state itself", want, got)
			}
		}
	}
	if got, want := len(m.Trees), len(p.Catalog.Symptoms); got != want {
		t.Errorf("Explore gave %d trees; want one per symptom, %d", got, want)
	}
}

func TestExploreIsBounded(t *testing.T) {
	_, err := Explore(context.Background(), policy(t), 5)
	if err == nil || !strings.Contains(err.Error(), "more than 5 states") || !strings.Contains(err.Error(), "code_not_received") {
		t.Errorf("Explore(limit 5) = %v; want an error naming the symptom and the bound", err)
	}
}

// TestCheckNamesAnUnreachableCause adds a cause that rests on a fact nobody
// is asked: neither the contact nor the handoff can ever reach it.
func TestCheckNamesAnUnreachableCause(t *testing.T) {
	src := rules.Embedded().Clone()
	src.Modules["rules/login/causes.rego"] += `
# METADATA
# title: Too many codes
# description: The contact asked for too many codes.
default cause.code_not_accepted.too_many_codes := "open"

cause.code_not_accepted.too_many_codes := "likely" if input.facts.codes_requested > 5
`
	for _, lang := range []string{"es", "en"} {
		name := "active." + lang + ".toml"
		src.Messages[name] = append(src.Messages[name], "\n[CauseTooManyCodesTitle]\ndescription = \"t\"\nother = \"x\"\n\n[CauseTooManyCodesAdvice]\ndescription = \"a\"\nother = \"y\"\n"...)
	}
	for path, text := range src.Docs {
		src.Docs[path] = text + "\n{#too_many_codes} Too many codes.\n"
	}
	p, err := rules.Build(context.Background(), src, rules.Options{SkipTests: true})
	if err != nil {
		t.Fatalf("Build = %v", err)
	}
	problems := Check(context.Background(), p)
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "too_many_codes is unreachable") || problems[0].Line == 0 {
		t.Errorf("Check = %v; want one problem naming too_many_codes at its line", problems)
	}
}

func decide(ctx context.Context, p *rules.Policy, req knowledge.Request) (knowledge.Decision, error) {
	return p.Evaluate(ctx, req)
}
