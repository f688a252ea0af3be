package sandbox

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestKeptCrossesToTheChildTyped: the kept decisions of an exam reach the
// child (as JSON, the only way across) with their facts typed as the store
// gave them, so that the draft decides them as the serving process would.
func TestKeptCrossesToTheChildTyped(t *testing.T) {
	tests := []Exam{
		{Kept: []Kept{{Symptom: "code_not_received", Facts: map[string]any{"online": true, "codes_requested": 3, "channels_tried": []string{"email"}}}}},
		{Kept: []Kept{{Facts: map[string]any{}}}},
	}
	for _, exam := range tests {
		b, err := json.Marshal(exam)
		if err != nil {
			t.Fatal(err)
		}
		var got Exam
		if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, exam) {
			t.Errorf("Exam through %s = %#v, %v; want %#v", b, got, err, exam)
		}
	}
	var bad Exam
	if err := json.Unmarshal([]byte(`{"kept":[{"facts":{"codes_requested":2.5}}]}`), &bad); err == nil {
		t.Errorf("an exam whose kept fact is 2.5 reads as %#v; want an error", bad)
	}
}
