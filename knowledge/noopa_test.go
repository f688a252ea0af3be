package knowledge

import (
	"os/exec"
	"strings"
	"testing"
)

// opaModule is the module path of OPA; any package under it counts.
const opaModule = "github.com/open-policy-agent/opa"

// opaImporters lists the packages among pkg and its dependencies that
// import OPA directly, as "importer -> opa package", read from go list.
func opaImporters(t *testing.T, pkg string) []string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list %s's dependencies: %v", pkg, err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	var found []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], opaModule) {
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, opaModule) {
				found = append(found, fields[0]+" -> "+imp)
			}
		}
	}
	return found
}

// TestNoOPA keeps the domain types, the store and the templates free of
// OPA: only the engine (package rules) compiles it. The engine itself is
// listed to show the check finds OPA where it is.
func TestNoOPA(t *testing.T) {
	tests := []struct {
		pkg     string
		wantOPA bool
	}{
		{"acceso/knowledge", false},
		{"acceso/store", false},
		{"acceso/templates", false},
		{"acceso/locales", false},
		{"acceso/content", false},
		{"acceso/rules", true},
	}
	for _, tc := range tests {
		t.Run(tc.pkg, func(t *testing.T) {
			got := opaImporters(t, tc.pkg)
			if (len(got) > 0) != tc.wantOPA {
				t.Errorf("OPA among the dependencies of %s: %q; want OPA: %v", tc.pkg, got, tc.wantOPA)
			}
		})
	}
}
