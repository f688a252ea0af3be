package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"acceso/apikey"
	"acceso/store"
)

// keyPattern is a key as acceso apikey add prints it: the prefix and 256
// bits in unpadded base64url.
var keyPattern = regexp.MustCompile(`^acc_[A-Za-z0-9_-]{43}$`)

// TestAPIKeyCommands makes, lists, uses and removes a key from the command
// line, and reads the database file: the key is not in it.
func TestAPIKeyCommands(t *testing.T) {
	data := t.TempDir()
	code, out, stderr := runCLI(t, "", "apikey", "add", "desk", "--scope", "decisions:read", "--data", data)
	key := strings.TrimSpace(out)
	if code != 0 || !keyPattern.MatchString(key) || !strings.Contains(stderr, "only time it is shown") {
		t.Fatalf("run(apikey add desk) = %d, %q, %q; want 0, a key alone on stdout and a warning on stderr", code, out, stderr)
	}
	if code, out, _ := runCLI(t, "", "apikey", "add", "--data", data, "bare"); code != 0 || strings.TrimSpace(out) == key {
		t.Fatalf("run(apikey add bare) = %d, %q; want 0 and another key", code, out)
	}
	for _, tc := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"add", "desk"}, 1, "a key named desk exists"},
		{[]string{"add", "other", "--scope", "decisions:write"}, 1, `scope "decisions:write"`},
		{[]string{"add", "no spaces"}, 1, `key name "no spaces"`},
		{[]string{"add"}, 2, "NAME is missing"},
		{[]string{"remove", "nobody"}, 1, "no key is named nobody"},
		{[]string{"list", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"rotate", "desk"}, 2, `unknown subcommand "rotate"; want add or list or remove`},
	} {
		code, _, stderr := runCLI(t, "", append(append([]string{"apikey"}, tc.args...), "--data", data)...)
		if code != tc.code || !strings.Contains(stderr, tc.inStderr) {
			t.Errorf("run(apikey %q) = %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.inStderr)
		}
	}

	db, err := store.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := apikey.Check(context.Background(), db, key); err != nil || k.Name != "desk" || !apikey.Allows(k, apikey.ScopeDecisionsRead) {
		t.Errorf("Check(the printed key) = %+v, %v; want desk with decisions:read", k, err)
	}
	db.Close()
	code, out, _ = runCLI(t, "", "apikey", "list", "--data", data)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[1], "bare ") || !strings.Contains(lines[1], "none") ||
		!strings.HasPrefix(lines[2], "desk ") || !strings.Contains(lines[2], "decisions:read") || !strings.HasSuffix(lines[2], "never") {
		t.Errorf("run(apikey list) = %d,\n%s\nwant a header, bare (no scope) and desk (decisions:read), neither used", code, out)
	}
	if strings.Contains(out, key) {
		t.Errorf("apikey list shows the key")
	}
	files, _ := filepath.Glob(filepath.Join(data, "*"))
	if len(files) == 0 {
		t.Fatalf("no database file in %s", data)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), key) || strings.Contains(string(b), strings.TrimPrefix(key, apikey.Prefix)) {
			t.Errorf("%s holds the key in clear", filepath.Base(f))
		}
	}

	if code, out, stderr := runCLI(t, "", "apikey", "remove", "desk", "--data", data); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("run(apikey remove desk) = %d, %q %q", code, out, stderr)
	}
	db, err = store.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := apikey.Check(context.Background(), db, key); err != apikey.ErrInvalid { //nolint:errorlint // the sentinel itself
		t.Errorf("Check(a removed key) = %v; want ErrInvalid", err)
	}
}
