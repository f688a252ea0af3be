package locales

import (
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestSetMessages(t *testing.T) {
	const file = "# a comment\n[Greeting]\ndescription = \"d\"\nother = \"Hola\"\n\n[Farewell]\nother = \"\"\"\nAdiós\ny más\"\"\"\n"
	tests := []struct {
		name string
		msgs []Message
		want map[string]map[string]string
	}{
		{"change one", []Message{{ID: "Greeting", Description: "ignored", Text: "Buenas"}},
			map[string]map[string]string{"Greeting": {"description": "d", "other": "Buenas"}, "Farewell": {"other": "Adiós\ny más"}}},
		{"add one", []Message{{ID: "Thanks", Description: "new", Text: "Gracias \"ya\""}},
			map[string]map[string]string{"Greeting": {"description": "d", "other": "Hola"}, "Farewell": {"other": "Adiós\ny más"}, "Thanks": {"description": "new", "other": "Gracias \"ya\""}}},
		{"change and add", []Message{{ID: "Farewell", Text: "Chao"}, {ID: "Odd key.x", Description: "dotted", Text: "x"}},
			map[string]map[string]string{"Greeting": {"description": "d", "other": "Hola"}, "Farewell": {"other": "Chao"}, "Odd key.x": {"description": "dotted", "other": "x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := SetMessages([]byte(file), tc.msgs...)
			if err != nil {
				t.Fatalf("SetMessages = %v", err)
			}
			var got map[string]map[string]string
			if _, err := toml.Decode(string(out), &got); err != nil {
				t.Fatalf("SetMessages wrote a file that does not parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SetMessages = %v; want %v\n%s", got, tc.want, out)
			}
			if _, order, _ := decodeFile(out); order[0] != "Greeting" || order[1] != "Farewell" {
				t.Errorf("SetMessages order = %v; want the file's order kept, new messages last", order)
			}
		})
	}
	if _, err := SetMessages([]byte("[Greeting\n"), Message{ID: "Greeting", Text: "x"}); err == nil {
		t.Error("SetMessages(broken TOML) = nil error; want one")
	}
}

func TestSetMessagesKeepsTheEmbeddedFilesParsable(t *testing.T) {
	for name, file := range Embedded() {
		out, err := SetMessages(file, Message{ID: "CauseCheckSpamAdvice", Text: "x"})
		if err != nil {
			t.Fatalf("SetMessages(%s) = %v", name, err)
		}
		files := Embedded()
		files[name] = out
		texts, err := Parse(files)
		if err != nil {
			t.Fatalf("the edited %s does not parse: %v", name, err)
		}
		lang := name[len("active.") : len(name)-len(".toml")]
		if got, _ := texts.Text(lang, "CauseCheckSpamAdvice"); got != "x" {
			t.Errorf("edited %s: CauseCheckSpamAdvice = %q; want x", name, got)
		}
		before, _ := Parse(Embedded())
		if len(texts.IDs(lang)) != len(before.IDs(lang)) {
			t.Errorf("edited %s has %d messages; want %d", name, len(texts.IDs(lang)), len(before.IDs(lang)))
		}
	}
}

func TestCheckFile(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		wantLine int
		wantErr  bool
	}{
		{"the embedded Spanish file", string(Embedded()[FileName("es")]), 0, false},
		{"an unclosed table", "[Greeting]\nother = \"Hola\"\n\n[Farewell\nother = \"Adiós\"\n", 4, true},
		{"an unclosed string", "[Greeting]\ndescription = \"d\"\nother = \"Hola\n", 3, true},
		{"a text that is not a string", "[Greeting]\nother = 3\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, err := CheckFile([]byte(tc.file))
			if (err != nil) != tc.wantErr || line != tc.wantLine {
				t.Errorf("CheckFile = %d, %v; want line %d and an error: %v", line, err, tc.wantLine, tc.wantErr)
			}
		})
	}
}
