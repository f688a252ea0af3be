package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"acceso/apikey"
	"acceso/knowledge"
	"acceso/store"
)

// TestKeptFactsTheRulesNoLongerReadAreLeftOut: a kept decision continues on
// the facts it was made on, read back typed from the store, whatever else
// it holds. A fact the rules being served no longer declare (or no longer
// read so) is left out, alone, and named in the log; the others still count.
func TestKeptFactsTheRulesNoLongerReadAreLeftOut(t *testing.T) {
	ctx := context.Background()
	p, err := testPolicy()
	if err != nil {
		t.Fatal(err)
	}
	ts := serveWith(t, p)
	facts := map[string]any{"channels_tried": []string{"email", "sms"}, "spam_checked": true, "online": true, "codes_requested": 2}
	withMore := map[string]any{"retired_fact": true, "online_or_not": "yes"}
	for name, v := range facts {
		withMore[name] = v
	}
	kept := []struct {
		ref   string
		facts map[string]any
	}{
		{"K7M4-QX9P", facts},
		{"K7M4-QX9Q", withMore},
		{"K7M4-QX9R", map[string]any{}},
	}
	for _, k := range kept {
		if _, err := ts.db.AddDecisions(ctx, []store.Kept{{Reference: k.ref, At: time.Now(), Source: "site", Revision: p.Revision,
			Symptom: "code_not_received", Facts: k.facts, Outcome: knowledge.OutcomeNeedsAnswers}}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := apikey.Add(ctx, ts.db, "desk", []string{apikey.ScopeDecisionsRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := make(map[string]string)
	for _, k := range kept {
		c := withKey(continueDecisionCall(k.ref, `{}`), key)
		resp, body := ts.do(t, c)
		d := decodeDecision(t, c, resp, body)
		var toTry []string
		for _, x := range d.ToTry {
			toTry = append(toTry, x.ID)
		}
		now[k.ref] = fmt.Sprintf("outcome %s, findings %v, questions %v, to try %v", d.Outcome, causeIDs(d.Findings), d.Questions, toTry)
	}
	if now[kept[0].ref] == now[kept[2].ref] {
		t.Fatalf("continued on its facts or on none, a kept decision answers alike (%s): the test would prove nothing", now[kept[0].ref])
	}
	if now[kept[1].ref] != now[kept[0].ref] {
		t.Errorf("continue %s (its facts and two the rules do not declare) = %s; want %s, as on its facts alone", kept[1].ref, now[kept[1].ref], now[kept[0].ref])
	}
	logged := strings.Join(ts.logs.Lines(), "\n")
	for _, name := range []string{"facts.retired_fact", "facts.online_or_not"} {
		if !strings.Contains(logged, name) {
			t.Errorf("the log does not name %s, left out of %s", name, kept[1].ref)
		}
	}
}
