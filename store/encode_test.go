package store

import (
	"encoding/json"
	"testing"
)

// TestRowEncodingMatchesJSON checks that a decision's facts and findings
// are kept exactly as json.Marshal writes them, on the values a request
// holds and on those written through json.Marshal itself (escapes, other
// types), so that no kept decision reads differently.
func TestRowEncodingMatchesJSON(t *testing.T) {
	facts := []map[string]any{
		nil,
		{},
		{"codes_requested": 3, "spam_checked": true, "tried": false, "negative": -12},
		{"email_provider": "gmail", "channels": []string{"sms", "email"}, "none": []string{}, "nil": []string(nil)},
		{"b": 1, "a": 2, "c": "x", "ab": true, "a_b": "y"},
		{"html": "<b>&</b>", "quote": `say "hi"`, "slash": `a\b`, "tab": "a\tb", "utf8": "ñandú", "bad": "\xff", "sep": "\u2028"},
		{"lt": "<"}, {"gt": ">"}, {"amp": "&"}, {"quote": `"`}, {"backslash": `\`}, {"nl": "\n"}, {"del": "\x7f"}, {"e": "é"},
		{"list": []string{"ok", "<"}}, {"list": []string{"&"}},
		{"float": 1.5, "number": json.Number("7"), "any": []any{"x", 1}, "map": map[string]any{"k": "v"}},
		{"we\"ird": true},
	}
	for _, f := range facts {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeFacts(f)
		if err != nil || got != string(want) {
			t.Errorf("encodeFacts(%#v) = %s, %v; want %s", f, got, err, want)
		}
	}
	for _, list := range [][]string{nil, {}, {"check_spam"}, {"a", "b"}, {"<", "y"}, {">"}, {"&"}, {`"`}, {"ñ"}} {
		want, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeStrings(list)
		if err != nil || got != string(want) {
			t.Errorf("encodeStrings(%#v) = %s, %v; want %s", list, got, err, want)
		}
	}
	if _, err := encodeFacts(map[string]any{"ch": make(chan int)}); err == nil {
		t.Error("encodeFacts(a channel) = nil error; want json.Marshal's")
	}
}
