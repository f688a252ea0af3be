package publish

import (
	"acceso/knowledge"
	"fmt"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	var lines []string
	for i := 1; i <= 30; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	text := strings.Join(lines, "\n") + "\n"
	src := func(module string, messages string) knowledge.Source {
		s := knowledge.Source{Modules: map[string]string{}, Messages: map[string][]byte{}}
		if module != "" {
			s.Modules["rules/login/a.rego"] = module
		}
		if messages != "" {
			s.Messages["active.es.toml"] = []byte(messages)
		}
		return s
	}
	tests := []struct {
		name  string
		a, b  knowledge.Source
		files []string
	}{
		{"equal", src(text, "x"), src(text, "x"), nil},
		{"one line of a module", src(text, "x"), src(strings.Replace(text, "line 15", "changed", 1), "x"), []string{"rules/login/a.rego"}},
		{"a message file", src(text, "x\n"), src(text, "y\n"), []string{"locales/active.es.toml"}},
		{"a module added", src("", "x"), src(text, "x"), []string{"rules/login/a.rego"}},
		{"a module removed", src(text, "x"), src("", "x"), []string{"rules/login/a.rego"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(tc.a, tc.b)
			var files []string
			for _, line := range strings.Split(d, "\n") {
				if name, ok := strings.CutPrefix(line, "+++ b/"); ok {
					files = append(files, name)
				}
			}
			if fmt.Sprint(files) != fmt.Sprint(tc.files) {
				t.Fatalf("Diff touches %v; want %v\n%s", files, tc.files, d)
			}
			// Every line removed from a and added to b is in the diff.
			fa, fb := Files(tc.a), Files(tc.b)
			for _, name := range files {
				for _, line := range strings.Split(strings.TrimSuffix(fa[name], "\n"), "\n") {
					if !strings.Contains(fb[name], line) && !strings.Contains(d, "\n-"+line+"\n") {
						t.Errorf("Diff lacks the removed line %q", line)
					}
				}
				for _, line := range strings.Split(strings.TrimSuffix(fb[name], "\n"), "\n") {
					if !strings.Contains(fa[name], line) && !strings.Contains(d, "\n+"+line+"\n") {
						t.Errorf("Diff lacks the added line %q", line)
					}
				}
			}
		})
	}
}
