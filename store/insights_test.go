package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestInsightCounts: steps and look-ups add up day by day; counting the
// complete days into decision_days changes no number, twice changes
// nothing more, and a new day is counted once it is over; purging drops
// the counts of the days before the retention.
func TestInsightCounts(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	day := Day(now)
	step := Step{Day: day, Revision: "r1", Symptom: "code_not_received", Asked: "online", Answered: "spam_checked", Unknown: true}
	first := Step{Day: day - 2, Revision: "r1", Symptom: "code_not_received", Asked: "channels_tried"}
	for range 2 {
		if err := db.AddSteps(ctx, map[Step]int{step: 2, first: 3}); err != nil {
			t.Fatalf("AddSteps = %v", err)
		}
	}
	for _, source := range []string{"site", "site", ""} {
		if err := db.CountLookup(ctx, now, source, "r1"); err != nil {
			t.Fatalf("CountLookup = %v", err)
		}
	}
	decisions := []Kept{
		{Reference: "a", At: now.AddDate(0, 0, -3), Source: "site", Revision: "r1", Symptom: "code_not_received", Findings: []string{"check_spam"}, Outcome: "causes_found"},
		{Reference: "b", At: now.AddDate(0, 0, -3), Source: "api", Revision: "r2", Symptom: "", Findings: []string{}, Outcome: "needs_answers", ToTry: 2},
		{Reference: "c", At: now.AddDate(0, 0, -1), Source: "site", Revision: "r1", Symptom: "code_not_received", Findings: []string{}, Outcome: "needs_answers"},
		{Reference: "d", At: now, Source: "site", Revision: "r2", Symptom: "code_not_received", Findings: []string{"check_spam", "old_code"}, Outcome: "causes_found"},
	}
	for i := range decisions {
		decisions[i].Facts = map[string]any{}
	}
	if collided, err := db.AddDecisions(ctx, decisions); err != nil || len(collided) > 0 {
		t.Fatalf("AddDecisions = %d collided, %v", len(collided), err)
	}
	want := Insights{
		Symptoms:  []SymptomCount{{Symptom: "", API: 1}, {Symptom: "code_not_received", Started: 6, Outcomes: 3}},
		Questions: []QuestionCount{{Symptom: "code_not_received", Fact: "channels_tried", Reached: 6, Stopped: 6}, {Symptom: "code_not_received", Fact: "online", Reached: 4, Stopped: 4}, {Symptom: "code_not_received", Fact: "spam_checked", Answered: 4, Unknown: 4}},
		Outcomes:  []SourceCount{{Key: ClassCausesFound, Site: 2}, {Key: ClassToTry, API: 1}, {Key: ClassNeedsAnswers, Site: 1}, {Key: ClassNoKnownCause}},
		Causes:    []SourceCount{{Key: "check_spam", Site: 2}, {Key: "old_code", Site: 1}},
		Lookups:   []KeyCount{{Key: "", N: 1}, {Key: "site", N: 2}},
	}
	check := func(when string) {
		t.Helper()
		got, err := db.Insights(ctx, InsightsFilter{From: now.AddDate(0, 0, -6)}, now)
		if err != nil {
			t.Fatalf("%s: Insights = %v", when, err)
		}
		if !slices.Equal(got.Symptoms, want.Symptoms) || !slices.Equal(got.Questions, want.Questions) ||
			!slices.Equal(got.Outcomes, want.Outcomes) || !slices.Equal(got.Causes, want.Causes) || !slices.Equal(got.Lookups, want.Lookups) {
			t.Errorf("%s: Insights =\n%+v\n%+v\n%+v\n%+v\n%+v\nwant\n%+v\n%+v\n%+v\n%+v\n%+v", when,
				got.Symptoms, got.Questions, got.Outcomes, got.Causes, got.Lookups,
				want.Symptoms, want.Questions, want.Outcomes, want.Causes, want.Lookups)
		}
		weeks := 0
		for _, w := range got.Weeks {
			weeks += w.Site + w.API
		}
		if len(got.Weeks) != 2 || weeks != 4 {
			t.Errorf("%s: Insights.Weeks = %+v; want the two weeks the period touches, 4 decisions", when, got.Weeks)
		}
	}
	check("from the decisions")
	for range 2 {
		if err := db.RollUpInsights(ctx, now); err != nil {
			t.Fatalf("RollUpInsights = %v", err)
		}
		check("after counting the days")
	}
	var rows int
	if err := db.queryRow(ctx, nil, `SELECT count(*) FROM decision_days`).Scan(&rows); err != nil || rows != 3 {
		t.Errorf("decision_days has %d rows, %v; want 3 (two days, one of them with two kinds)", rows, err)
	}
	// Tomorrow, an hour and more after today ended, today is counted too.
	if err := db.RollUpInsights(ctx, now.Add(13*time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("after counting today")
	if err := db.PurgeInsights(ctx, now.AddDate(0, 0, -1)); err != nil {
		t.Fatalf("PurgeInsights = %v", err)
	}
	got, err := db.Insights(ctx, InsightsFilter{From: now.AddDate(0, 0, -6)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Symptoms) != 1 || got.Symptoms[0].Started != 0 || got.Symptoms[0].Outcomes != 2 {
		t.Errorf("after PurgeInsights(yesterday), Symptoms = %+v; want code_not_received: 0 started, 2 outcomes (yesterday's and today's)", got.Symptoms)
	}
}
