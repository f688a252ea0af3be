package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"acceso/rules"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDiagnose(t *testing.T) {
	code, out, stderr := runCLI(t, `{"symptom":"code_not_received","facts":{"channels_tried":["email"],"spam_checked":false}}`, "diagnose", "--lang", "en")
	if code != 0 {
		t.Fatalf("diagnose exit %d; stderr: %s", code, stderr)
	}
	var resp struct {
		Lang     string `json:"lang"`
		Outcome  string `json:"outcome"`
		Findings []struct {
			ID, Title, Advice, ArticleURL string
		} `json:"findings"`
		Questions []struct{ Fact, Text string } `json:"questions"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("diagnose printed %q: %v", out, err)
	}
	var ids, facts []string
	for _, f := range resp.Findings {
		ids = append(ids, f.ID)
		if f.Title == "" || f.Advice == "" {
			t.Errorf("finding %s has no English title or advice", f.ID)
		}
	}
	for _, q := range resp.Questions {
		facts = append(facts, q.Fact)
	}
	if want := []string{"try_other_channel", "check_spam"}; !slices.Equal(ids, want) {
		t.Errorf("findings = %v; want %v", ids, want)
	}
	if want := []string{"identifier_registered", "opted_out", "online"}; !slices.Equal(facts, want) {
		t.Errorf("questions = %v; want %v", facts, want)
	}
	if resp.Lang != "en" {
		t.Errorf("lang = %q; want en", resp.Lang)
	}
}

func TestDiagnoseBadInput(t *testing.T) {
	tests := []struct{ name, body, code string }{
		{"truncated", `{"facts":`, "invalid_json"},
		{"wrong type", `{"facts":{"online":"yes"}}`, "invalid_facts"},
		{"over 64 KiB, even if valid", `{"facts":{}}` + strings.Repeat(" ", 70000), "too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, tc.body, "diagnose")
			if code != 2 || out != "" {
				t.Fatalf("diagnose(%s) exit %d, stdout %q; want exit 2 and nothing on stdout", tc.body, code, out)
			}
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(stderr), &e); err != nil || e.Error.Code != tc.code {
				t.Errorf("diagnose(%s) stderr %q; want error code %s", tc.body, stderr, tc.code)
			}
		})
	}
}

func TestServeRefusesABadAPIRate(t *testing.T) {
	for _, rate := range []string{"0", "-1", "NaN", "Inf", "1e-12", "abc"} {
		t.Run(rate, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", "serve", "--data", t.TempDir(), "--api-rate", rate)
			if code != 2 || !strings.Contains(stderr, "--api-rate") {
				t.Errorf("serve --api-rate %s: exit %d, %q; want exit 2 naming --api-rate", rate, code, stderr)
			}
		})
	}
}

func TestRulesTest(t *testing.T) {
	dir := t.TempDir()
	for path, text := range rules.Embedded().Modules {
		dst := filepath.Join(dir, filepath.Base(path))
		if err := os.WriteFile(dst, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, stderr := runCLI(t, "", "rules", "test", dir); code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Fatalf("rules test on the embedded rules: exit %d, %s%s", code, out, stderr)
	}
	broken := filepath.Join(dir, "causes.rego")
	if err := os.WriteFile(broken, []byte("package login\n\nverdicts contains x if {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "", "rules", "test", dir)
	if code != 1 {
		t.Errorf("rules test on a broken rule: exit %d; want 1", code)
	}
	if !regexp.MustCompile(`causes\.rego:\d+: `).MatchString(stderr) {
		t.Errorf("rules test on a broken rule printed %q; want file:line: message", stderr)
	}
}
