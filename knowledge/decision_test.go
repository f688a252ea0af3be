package knowledge

import (
	"reflect"
	"testing"
)

// TestCloneSharesNothing: changing every list of a clone leaves the
// decision it was cloned from as it was (the engine keeps decisions in a
// cache and hands out clones).
func TestCloneSharesNothing(t *testing.T) {
	d := Decision{Revision: "r", Symptoms: []string{"s"}, Outcome: OutcomeCausesFound,
		Findings: []Finding{{ID: "c", Symptom: "s", Because: []string{"f"}}}, RuledOut: []string{"o"},
		ToTry: []string{"t"}, Questions: []Question{{Fact: "q", Type: QuestionBoolean, AskedOf: AskedOfContact}}}
	want := Decision{Revision: "r", Symptoms: []string{"s"}, Outcome: OutcomeCausesFound,
		Findings: []Finding{{ID: "c", Symptom: "s", Because: []string{"f"}}}, RuledOut: []string{"o"},
		ToTry: []string{"t"}, Questions: []Question{{Fact: "q", Type: QuestionBoolean, AskedOf: AskedOfContact}}}
	c := d.Clone()
	if !reflect.DeepEqual(c, d) {
		t.Fatalf("Clone() = %+v; want %+v", c, d)
	}
	c.Symptoms[0], c.RuledOut[0], c.ToTry[0] = "x", "x", "x"
	c.Findings[0].ID, c.Findings[0].Because[0] = "x", "x"
	c.Questions[0].Fact = "x"
	if !reflect.DeepEqual(d, want) {
		t.Errorf("after changing its clone, the decision = %+v; want %+v", d, want)
	}
}

func TestQuestionType(t *testing.T) {
	for typ, want := range map[string]string{TypeChoices: QuestionMultipleChoice, TypeBoolean: QuestionBoolean} {
		if got := QuestionType(typ); got != want {
			t.Errorf("QuestionType(%s) = %s; want %s", typ, got, want)
		}
	}
}
