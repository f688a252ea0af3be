package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

var update = flag.Bool("update", false, "rewrite rules/capabilities.json from this OPA version's capabilities")

// refusedBuiltins are the builtins rules may not call, each with why. A
// builtin that OPA marks nondeterministic must be here (the test checks it).
var refusedBuiltins = []struct{ name, why string }{
	{"http.send", "reaches the network"},
	{"net.lookup_ip_addr", "reaches the network (DNS) and its answer varies"},
	{"opa.runtime", "reads the process's environment and configuration"},
	{"rand.intn", "varies between evaluations"},
	{"time.now_ns", "varies between evaluations: facts carry any time the rules need"},
	{"uuid.rfc4122", "varies between evaluations"},
	{"io.jwt.decode_verify", "checks expiry against the current time, so it varies"},
	{"io.jwt.encode_sign", "ECDSA and PSS signatures are random, so the output varies"},
	{"io.jwt.encode_sign_raw", "ECDSA and PSS signatures are random, so the output varies"},
	{"json.match_schema", "a schema's remote $ref is fetched over the network"},
	{"json.verify_schema", "a schema's remote $ref is fetched over the network"},
	{"crypto.x509.parse_and_verify_certificates", "verifies validity against the current time, so it varies"},
	{"crypto.x509.parse_and_verify_certificates_with_options", "verifies validity against the current time unless told otherwise, so it varies"},
	{"trace", "writes to the evaluation's tracer, outside the answer; nothing in Acceso reads it"},
	// Kept on purpose: print and internal.print. Build compiles with print
	// statements disabled, so the compiler erases every print call before
	// evaluation; they only print under a local `opa test`, where they help.
}

// TestCapabilitiesFileIsCurrent rebuilds capabilities.json from this OPA
// version's capabilities less refusedBuiltins and compares it with the
// committed file; -update rewrites the file.
func TestCapabilitiesFileIsCurrent(t *testing.T) {
	all := ast.CapabilitiesForThisVersion()
	refused := make(map[string]bool)
	for _, r := range refusedBuiltins {
		if _, ok := ast.BuiltinMap[r.name]; !ok {
			t.Errorf("refusedBuiltins lists %s, which this OPA version does not have", r.name)
		}
		refused[r.name] = true
	}
	for _, b := range all.Builtins {
		if b.Nondeterministic && !refused[b.Name] {
			t.Errorf("OPA marks %s nondeterministic; add it to refusedBuiltins", b.Name)
		}
	}
	// The file mirrors ast.Capabilities, except that allow_net is written
	// even when empty: empty means no host, absent means any host.
	file := struct {
		Builtins        []*ast.Builtin       `json:"builtins"`
		FutureKeywords  []string             `json:"future_keywords"`
		WasmABIVersions []ast.WasmABIVersion `json:"wasm_abi_versions"`
		Features        []string             `json:"features"`
		AllowNet        []string             `json:"allow_net"`
	}{
		Builtins:        slices.DeleteFunc(slices.Clone(all.Builtins), func(b *ast.Builtin) bool { return refused[b.Name] }),
		FutureKeywords:  all.FutureKeywords,
		WasmABIVersions: all.WasmABIVersions,
		Features:        all.Features,
		AllowNet:        []string{},
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(file); err != nil {
		t.Fatal(err)
	}
	const path = "capabilities.json"
	if *update {
		if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v (run go test ./rules/ -run TestCapabilitiesFileIsCurrent -update)", path, err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%s is not this OPA version's capabilities less refusedBuiltins; run go test ./rules/ -run TestCapabilitiesFileIsCurrent -update and review the diff", path)
	}
	if !bytes.Equal(capabilitiesJSON, got) {
		t.Errorf("the embedded capabilities differ from %s; rebuild the test binary", path)
	}
	caps, err := capabilities()
	if err != nil {
		t.Fatalf("capabilities() = %v", err)
	}
	if caps.AllowNet == nil || len(caps.AllowNet) != 0 {
		t.Errorf("capabilities().AllowNet = %#v; want an empty, non-nil list (no host)", caps.AllowNet)
	}
}

// TestBuildRefusesBuiltinsThatReachOutside checks that a policy or a test
// calling a refused builtin is refused at its file:line, naming the builtin.
func TestBuildRefusesBuiltinsThatReachOutside(t *testing.T) {
	tests := []struct {
		name, file, call string
	}{
		{"http.send", "rules/login/outside.rego", `http.send({"method": "GET", "url": "https://example.com"})`},
		{"net.lookup_ip_addr", "rules/login/outside.rego", `net.lookup_ip_addr("example.com")`},
		{"opa.runtime", "rules/login/outside.rego", `opa.runtime()`},
		{"time.now_ns", "rules/login/outside.rego", `time.now_ns()`},
		{"rand.intn", "rules/login/outside.rego", `rand.intn("x", 10)`},
		{"uuid.rfc4122", "rules/login/outside.rego", `uuid.rfc4122("x")`},
		{"http.send", "rules/login/outside_test.rego", `http.send({"method": "GET", "url": "https://example.com"})`},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.name, func(t *testing.T) {
			pkg := "login"
			if IsTest(tc.file) {
				pkg = "login_test"
			}
			// The call is on line 6.
			module := "package " + pkg + "\n\n# METADATA\n# title: Outside\n_outside := x if {\n\tx := " + tc.call + "\n}\n"
			src := Embedded().Clone()
			src.Modules[tc.file] = module
			p, err := Build(context.Background(), src, Options{})
			if err == nil {
				t.Fatalf("Build(%s calling %s) = %v, nil; want an error", tc.file, tc.name, p)
			}
			problems, ok := AsProblems(err)
			if !ok {
				t.Fatalf("Build error %v is not Problems", err)
			}
			want := Problem{File: tc.file, Line: 6, Message: "undefined function " + tc.name + refusedNote}
			if !slices.Contains(problems, want) {
				t.Errorf("Build problems = %v; want one %v", problems, want)
			}
		})
	}
}

// TestEmbeddedRulesUseOnlyAllowedBuiltins checks the builtins the shipped
// rules rely on stay in the capabilities.
func TestEmbeddedRulesUseOnlyAllowedBuiltins(t *testing.T) {
	caps, err := capabilities()
	if err != nil {
		t.Fatalf("capabilities() = %v", err)
	}
	allowed := make(map[string]bool)
	for _, b := range caps.Builtins {
		allowed[b.Name] = true
	}
	for _, name := range []string{"rego.metadata.rule", "regex.replace", "object.get", "trim_space", "lower", "array.slice", "sort", "concat", "startswith", "contains", "print"} {
		if !allowed[name] {
			t.Errorf("capabilities lack %s; the rules need it", name)
		}
	}
	if _, err := Build(context.Background(), Embedded(), Options{}); err != nil {
		t.Errorf("Build(embedded) = %v; want nil", err)
	}
}
