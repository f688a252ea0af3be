package rules

import (
	"acceso/knowledge"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

var update = flag.Bool("update", false, "rewrite rules/capabilities.json from allowedBuiltins and this OPA version's capabilities")

// allowedBuiltins are the only builtins rules may call, each with why its
// cost is bounded by the size of its (bounded) inputs and its answer is the
// same on every server. Inputs are bounded: a request's facts are a few
// short values, and a module's literals are bounded by the draft's size.
// Everything else OPA has is refused, among them: bits.* (a shift's result
// grows with the shift's value, not its size: bits.lsh(1, 1099511627776) is
// 128 GiB in one call), graph.* (reachable paths are exponential in the
// graph), strings.render_template and sprintf (a template loop or a field
// width writes far more than its input, and neither stops at the deadline),
// json.marshal_with_options and yaml.* (an indent multiplies the output),
// net.cidr_expand and walk (their output grows with a value or a depth,
// and they do not stop at the deadline), time functions that take a zone or a layout (they read
// the process's zone: "Local"), and everything that reaches the network,
// the environment or randomness (http.send, opa.runtime, rand.intn,
// time.now_ns, uuid.*, crypto.x509 verification). TestCapabilitiesFileIsCurrent
// fails when capabilities.json and this list differ.
var allowedBuiltins = []struct{ name, why string }{
	// Unification, comparison and the operators the compiler rewrites to.
	{"assign", "binds a variable; constant work"},
	{"eq", "unifies two terms; linear in their size"},
	{"equal", "compares two terms; linear in their size"},
	{"neq", "compares two terms; linear in their size"},
	{"lt", "compares two terms; linear in their size"},
	{"lte", "compares two terms; linear in their size"},
	{"gt", "compares two terms; linear in their size"},
	{"gte", "compares two terms; linear in their size"},
	{"internal.member_2", "`x in xs`: one pass over xs"},
	{"internal.member_3", "`k, v in xs`: one pass over xs"},
	{"internal.print", "what print compiles to; erased before evaluation (print statements are off)"},
	{"print", "erased before evaluation (print statements are off); prints only under a local opa test"},
	{"internal.test_case", "used by the test runner to report a test; constant work"},
	{"internal.template_string", "a $\"...{x}\" string: its output is its parts, concatenated"},
	// Arithmetic: a product's digits are the sum of its operands' digits,
	// so a value can at most double per step, and each step is a rule the
	// deadline interrupts between.
	{"plus", "output digits at most one more than the larger operand's"},
	{"minus", "numbers: as plus; sets: the difference is no larger than the left set"},
	{"mul", "output digits at most the sum of the operands' digits"},
	{"div", "output within the operands' precision"},
	{"rem", "output no larger than the divisor"},
	{"abs", "output the size of the input"},
	{"ceil", "output the size of the input"},
	{"floor", "output the size of the input"},
	{"round", "output the size of the input"},
	{"to_number", "parses a string; linear in its length"},
	{"format_int", "writes a number in a base; output bounded by the number's size"},
	// Sets.
	{"and", "set intersection: no larger than the smaller set"},
	{"or", "set union: no larger than both sets together"},
	{"intersection", "no larger than the smallest set given"},
	{"union", "no larger than all the sets given together"},
	// Aggregates: one pass over a collection.
	{"count", "one pass (or a stored length)"},
	{"sum", "one pass"},
	{"product", "one pass; digits at most the sum of the elements' digits"},
	{"max", "one pass"},
	{"min", "one pass"},
	{"sort", "n log n comparisons; output the size of the input"},
	{"all", "one pass (deprecated but harmless)"},
	{"any", "one pass (deprecated but harmless)"},
	// Types.
	{"is_array", "constant work"},
	{"is_boolean", "constant work"},
	{"is_null", "constant work"},
	{"is_number", "constant work"},
	{"is_object", "constant work"},
	{"is_set", "constant work"},
	{"is_string", "constant work"},
	{"type_name", "constant work"},
	// Arrays and objects: outputs no larger than their inputs together.
	{"array.concat", "output the two arrays together"},
	{"array.slice", "output part of the input"},
	{"array.reverse", "output the size of the input"},
	{"object.get", "one lookup (a path: one per key)"},
	{"object.keys", "output no larger than the object"},
	{"object.remove", "output no larger than the object"},
	{"object.filter", "output no larger than the object"},
	{"object.union", "output no larger than both objects together"},
	{"object.union_n", "output no larger than all objects together"},
	{"object.subset", "one pass over the subset, lookups in the superset"},
	// Strings: outputs bounded by their inputs; the ones that build a new
	// string write it through OPA's sink, which stops at the deadline.
	{"concat", "output the parts together; written through a sink that stops at the deadline"},
	{"contains", "linear search"},
	{"startswith", "compares a prefix"},
	{"endswith", "compares a suffix"},
	{"indexof", "linear search"},
	{"indexof_n", "linear search; output at most one index per character"},
	{"lower", "output the size of the input (a few bytes per rune at most)"},
	{"upper", "output the size of the input (a few bytes per rune at most)"},
	{"split", "output the pieces of the input"},
	{"strings.split_n", "output at most the pieces of the input"},
	{"strings.count", "linear search"},
	{"strings.reverse", "output the size of the input"},
	{"strings.any_prefix_match", "compares each pair: product of two bounded lists"},
	{"strings.any_suffix_match", "compares each pair: product of two bounded lists"},
	{"substring", "output part of the input"},
	{"replace", "output bounded by the input and the replacement; written through a sink that stops at the deadline"},
	{"strings.replace_n", "as replace: a sink that stops at the deadline"},
	{"trim", "output part of the input"},
	{"trim_left", "output part of the input"},
	{"trim_right", "output part of the input"},
	{"trim_prefix", "output part of the input"},
	{"trim_suffix", "output part of the input"},
	{"trim_space", "output part of the input"},
	// Regular expressions: Go's RE2 runs in time linear in the input, and a
	// pattern's program is bounded by its length (and by RE2's own limits).
	{"regex.match", "RE2: linear in the input"},
	{"re_match", "RE2: linear in the input (the deprecated name of regex.match)"},
	{"regex.is_valid", "compiles the pattern: bounded by its length"},
	{"regex.split", "RE2: linear; output the pieces of the input"},
	{"regex.find_n", "RE2: linear; output parts of the input"},
	{"regex.find_all_string_submatch_n", "RE2: linear; output parts of the input"},
	{"regex.replace", "RE2: linear; written through a sink that stops at the deadline"},
	// Ranges: their output grows with a value, but OPA checks the deadline
	// between numbers, so one call stops within it (the sandbox's tests rely
	// on them to build runaway drafts).
	{"numbers.range", "stops at the deadline: OPA checks for cancellation between numbers"},
	{"numbers.range_step", "stops at the deadline: OPA checks for cancellation between numbers"},
	// Encodings whose output is a constant factor of their input.
	{"json.marshal", "compact JSON: at most six bytes per input byte"},
	{"json.unmarshal", "parses a string; the value is no larger than the text"},
	{"json.is_valid", "one pass"},
	{"base64.encode", "output four thirds of the input"},
	{"base64.decode", "output three quarters of the input"},
	{"base64.is_valid", "one pass"},
	// Time, in UTC only: no zone, no layout, no clock.
	{"time.parse_rfc3339_ns", "parses a fixed layout with a numeric offset; the same instant everywhere"},
	{"time.parse_duration_ns", "parses a duration; linear in its length"},
	// The rules' own annotations, which the catalog is built from.
	{"rego.metadata.rule", "returns the rule's annotations, already in memory"},
	{"rego.metadata.chain", "returns the annotations up the package chain, already in memory"},
}

// TestCapabilitiesFileIsCurrent rebuilds capabilities.json from this OPA
// version's capabilities, keeping allowedBuiltins only, and compares it with
// the committed file; -update rewrites the file.
func TestCapabilitiesFileIsCurrent(t *testing.T) {
	all := ast.CapabilitiesForThisVersion()
	allowed := make(map[string]bool)
	for _, a := range allowedBuiltins {
		if _, ok := ast.BuiltinMap[a.name]; !ok {
			t.Errorf("allowedBuiltins lists %s, which this OPA version does not have", a.name)
		}
		if allowed[a.name] {
			t.Errorf("allowedBuiltins lists %s twice", a.name)
		}
		if strings.TrimSpace(a.why) == "" {
			t.Errorf("allowedBuiltins lists %s without saying why it is bounded", a.name)
		}
		allowed[a.name] = true
	}
	for _, b := range all.Builtins {
		if b.Nondeterministic && allowed[b.Name] {
			t.Errorf("OPA marks %s nondeterministic; it cannot be allowed", b.Name)
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
		Builtins:        slices.DeleteFunc(slices.Clone(all.Builtins), func(b *ast.Builtin) bool { return !allowed[b.Name] }),
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
		t.Errorf("%s is not this OPA version's capabilities limited to allowedBuiltins; run go test ./rules/ -run TestCapabilitiesFileIsCurrent -update and review the diff", path)
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
// calling a builtin outside the allow-list is refused at its file:line, naming the builtin.
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
		// The probes of issue 17: each one took the server down, or could not
		// be stopped by the deadline.
		{"bits.lsh", "rules/login/outside.rego", `bits.lsh(1, input.facts.codes_requested)`},
		{"graph.reachable_paths", "rules/login/outside.rego", `graph.reachable_paths({"a": ["b"], "b": ["a"]}, {"a"})`},
		{"strings.render_template", "rules/login/outside.rego", `strings.render_template("{{range 20000000}}x{{end}}", {})`},
		{"json.marshal_with_options", "rules/login/outside.rego", `json.marshal_with_options([1, 2], {"pretty": true, "indent": "    "})`},
		{"time.format", "rules/login/outside.rego", `time.format([0, "Local", "MST"])`},
		{"sprintf", "rules/login/outside.rego", `sprintf("%01000000d", [1])`},
		{"walk", "rules/login/outside_test.rego", `[p | walk(input, [p, _])]`},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.name, func(t *testing.T) {
			pkg := "login"
			if knowledge.IsTest(tc.file) {
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
			problems, ok := knowledge.AsProblems(err)
			if !ok {
				t.Fatalf("Build error %v is not Problems", err)
			}
			want := knowledge.Problem{File: tc.file, Line: 6, Message: "undefined function " + tc.name + refusedNote}
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
