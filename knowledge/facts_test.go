package knowledge

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeFacts(t *testing.T) {
	tests := []struct {
		json    string
		want    map[string]any
		wantErr string
	}{
		{`{}`, map[string]any{}, ""},
		{`{"a": true, "b": 3, "c": "x", "d": ["p", "q"], "e": []}`,
			map[string]any{"a": true, "b": 3, "c": "x", "d": []string{"p", "q"}, "e": []string{}}, ""},
		{`{"b": 2.5}`, nil, `fact "b"`},
		{`{"d": ["p", 1]}`, nil, `fact "d"`},
		{`{"o": {"x": 1}}`, nil, `fact "o"`},
		{`{"n": null}`, nil, `fact "n"`},
		{`[1]`, nil, "cannot unmarshal"},
	}
	for _, tc := range tests {
		got, err := DecodeFacts([]byte(tc.json))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("DecodeFacts(%s) = %v, %v; want an error saying %q", tc.json, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DecodeFacts(%s) = %#v, %v; want %#v", tc.json, got, err, tc.want)
		}
	}
}

// TestDecodeFactsRoundTrip: the facts of a request, written as the store
// writes them, read back as they were.
func TestDecodeFactsRoundTrip(t *testing.T) {
	facts := map[string]any{"a": false, "b": MaxCount, "c": "á", "d": []string{"x"}}
	b, err := json.Marshal(facts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFacts(b)
	if err != nil || !reflect.DeepEqual(got, facts) {
		t.Errorf("DecodeFacts(%s) = %#v, %v; want %#v", b, got, err, facts)
	}
}

func TestRequestOf(t *testing.T) {
	cat := Catalog{
		Symptoms: []string{"no_login"},
		Facts: []Fact{
			{Name: "flag", Type: TypeBoolean},
			{Name: "count", Type: TypeCount},
			{Name: "email", Type: TypeString},
			{Name: "emails", Type: TypeStrings},
			{Name: "where", Type: TypeChoices, Choices: []string{"web", "app"}},
		},
	}
	long := strings.Repeat("a", MaxStringLen+1)
	tests := []struct {
		name     string
		symptom  string
		facts    map[string]any
		want     Request
		wantLeft []string
	}{
		{"all fit", "no_login",
			map[string]any{"flag": true, "count": 0, "email": "a@b.c", "emails": []string{}, "where": []string{"app"}},
			Request{Symptom: "no_login", Facts: map[string]any{"flag": true, "count": 0, "email": "a@b.c", "emails": []string{}, "where": []string{"app"}}}, nil},
		{"nothing", "", nil, Request{Facts: map[string]any{}}, nil},
		{"unknown symptom and fact", "gone", map[string]any{"flag": false, "retired": true},
			Request{Facts: map[string]any{"flag": false}}, []string{"symptom", "facts.retired"}},
		{"wrong types", "", map[string]any{"flag": "yes", "count": 2.0, "email": true, "emails": []any{"x"}},
			Request{Facts: map[string]any{}}, []string{"facts.count", "facts.email", "facts.emails", "facts.flag"}},
		{"beyond limits", "", map[string]any{"count": MaxCount + 1, "email": long, "emails": make([]string, MaxListLen+1), "where": []string{"fax"}},
			Request{Facts: map[string]any{}}, []string{"facts.count", "facts.email", "facts.emails", "facts.where"}},
		{"blank string", "", map[string]any{"email": "  "}, Request{Facts: map[string]any{}}, []string{"facts.email"}},
	}
	for _, tc := range tests {
		got, left := cat.RequestOf("", tc.symptom, tc.facts)
		if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(left, tc.wantLeft) {
			t.Errorf("%s: RequestOf(%q, %v) = %#v, %q; want %#v, %q", tc.name, tc.symptom, tc.facts, got, left, tc.want, tc.wantLeft)
		}
	}
}
