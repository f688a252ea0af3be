package locales

import (
	"strings"
	"testing"
)

// withText returns the embedded message files with the Spanish text of
// HomeDiagnoseLink replaced by text (a TOML basic string's content), and
// the line that text is on.
func withText(t *testing.T, text string) (map[string][]byte, int) {
	t.Helper()
	files := Embedded()
	es := string(files[FileName("es")])
	head := "[HomeDiagnoseLink]\n"
	i := strings.Index(es, head)
	if i < 0 {
		t.Fatal("no [HomeDiagnoseLink] in active.es.toml")
	}
	j := strings.Index(es[i:], "other = ")
	if j < 0 {
		t.Fatal("no other = under [HomeDiagnoseLink]")
	}
	start := i + j
	end := start + strings.IndexByte(es[start:], '\n')
	files[FileName("es")] = []byte(es[:start] + "other = \"" + text + "\"" + es[end:])
	return files, strings.Count(es[:start], "\n") + 1
}

func TestParseRefusesTextsThatAreNotPlain(t *testing.T) {
	tests := []struct {
		name, text, want string // want "" accepts the text
	}{
		{"plain", "Empezar", ""},
		{"named placeholder", "Hola, {{.Name}}", ""},
		{"template loop", "{{range 3}}x{{end}}", "holds {{range 3}}"},
		{"template loop of the probe", "Empezar {{range 3000000}}0123456789{{end}}", "holds {{range 3000000}}"},
		{"pipeline", "{{.Name | printf \\\"%v\\\"}}", "no template actions"},
		{"define", "{{define \\\"x\\\"}}y{{end}}", "no template actions"},
		{"unclosed", "Empezar {{ ya", "unclosed {{"},
		{"right-to-left override", "Empezar \u202Egol", "U+202E"},
		{"left-to-right isolate", "Empezar \u2066x\u2069", "U+2066"},
		{"right-to-left mark", "Empezar \u200F", "U+200F"},
		{"Arabic letter mark", "Empezar \u061C", "U+061C"},
		{"longest text", strings.Repeat("a", MaxText), ""},
		{"too long", strings.Repeat("a", MaxText+1), "at most 2000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, line := withText(t, tc.text)
			_, err := Parse(files)
			if tc.want == "" {
				if err != nil {
					t.Errorf("Parse(%q) = %v; want nil", tc.text, err)
				}
				return
			}
			ps, ok := err.(TextProblems)
			if !ok {
				t.Fatalf("Parse(%q) = %v (%T); want TextProblems", tc.text, err, err)
			}
			for _, p := range ps {
				if p.File == "locales/active.es.toml" && p.Line == line && strings.Contains(p.Message, tc.want) {
					return
				}
			}
			t.Errorf("Parse(%q) = %v; want a problem at locales/active.es.toml:%d containing %q", tc.text, ps, line, tc.want)
		})
	}
}
