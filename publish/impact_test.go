package publish

import (
	"context"
	"strings"
	"testing"

	"acceso/flow"
	"acceso/rules"
	"acceso/sandbox"
	"acceso/store"
)

// examined is what Verify previews of draft for a change keeping kept, as
// the sandbox answers it.
func examined(t *testing.T, draft *rules.Policy, kept []store.Kept) *Preview {
	t.Helper()
	exam := examOf(Change{Kept: kept})
	exam.Explore = false
	res, err := sandbox.Examine(context.Background(), draft, exam)
	if err != nil {
		t.Fatalf("Examine = %v", err)
	}
	// Exploring without flow.Check: the draft loses a cause on purpose.
	m, err := flow.Explore(context.Background(), draft, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &Preview{States: verdicts(m), Decided: res.Decided}
}

// TestImpactOf compares the login rules with a draft where the spam folder
// never matters: every state that found check_spam changes, and so does a
// kept decision that found it.
func TestImpactOf(t *testing.T) {
	ctx := context.Background()
	cur, err := rules.Build(ctx, rules.Embedded(), rules.Options{SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	src := rules.Embedded().Clone()
	const file = "rules/login/causes.rego"
	before := src.Modules[file]
	src.Modules[file] = strings.Replace(before, "\t\"email\" in input.facts.channels_tried\n\tinput.facts.spam_checked == false\n", "\tfalse\n", 1)
	if src.Modules[file] == before {
		t.Fatal("cannot find check_spam's likely branch in causes.rego")
	}
	draft, err := rules.Build(ctx, src, rules.Options{SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	kept := []store.Kept{
		{Reference: "AAAA-AAAA", Symptom: "code_not_received", Facts: map[string]any{"channels_tried": []string{"email"}, "spam_checked": false, "online": true},
			Findings: []string{"try_other_channel", "check_spam"}, Outcome: "causes_found"},
		{Reference: "CCCC-CCCC", Symptom: "code_needed_often", Facts: map[string]any{"incognito": true},
			Findings: []string{"incognito_mode"}, Outcome: "causes_found"},
	}
	im, err := ImpactOf(ctx, cur, examined(t, draft, kept), kept)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.States) == 0 {
		t.Fatal("ImpactOf found no state that changes")
	}
	for _, st := range im.States {
		if !strings.Contains(strings.Join(st.Before.Findings, " "), "check_spam") || strings.Contains(strings.Join(st.After.Findings, " "), "check_spam") {
			t.Errorf("state %s changes from %v to %v; want only states that lose check_spam", st.Path, st.Before, st.After)
		}
	}
	if im.Decisions != 2 || im.Changed != 1 || len(im.Examples) != 1 || im.Examples[0].Reference != "AAAA-AAAA" {
		t.Errorf("ImpactOf on kept decisions = %d decided, %d changed, %+v; want 2, 1, AAAA-AAAA", im.Decisions, im.Changed, im.Examples)
	}
	same, err := ImpactOf(ctx, cur, examined(t, cur, kept), kept)
	if err != nil || len(same.States) != 0 || same.Changed != 0 {
		t.Errorf("ImpactOf(the same rules) = %+v, %v; want nothing", same, err)
	}
}
