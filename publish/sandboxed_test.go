package publish

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"acceso/knowledge"
	"acceso/rules"
	"acceso/sandbox"
	"acceso/store"
)

// isolated is the sandbox as serve uses it, with limits a busy test
// machine can meet.
func isolated(ctx context.Context, src knowledge.Source, exam sandbox.Exam) (sandbox.Result, error) {
	return sandbox.Run(ctx, src, exam, sandbox.Limits{Wall: 20 * time.Second, CPU: 15 * time.Second})
}

// probeModule is a policy whose helper calls call, on line 6, only when a
// contact has asked for 777 codes: a value neither the Rego tests nor the
// engine's samples send, as an attacker's personal trigger would be.
func probeModule(call string) string {
	return "package login\n\n# METADATA\n# title: Probe\n_probe if {\n\tx := " + call + "\n\tinput.facts.codes_requested == 777\n\tx != null\n}\n"
}

const probeFile = "rules/login/probe.rego"

// issue17Probes are the builtins an outside probe used to take the server
// down or to run past the deadline (issue 17).
var issue17Probes = []struct{ builtin, call string }{
	{"bits.lsh", `bits.lsh(1, 1099511627776)`},
	{"graph.reachable_paths", `graph.reachable_paths({"a": ["b"], "b": ["a"]}, {"a"})`},
	{"strings.render_template", `strings.render_template("{{range 20000000}}x{{end}}", {})`},
	{"json.marshal_with_options", `json.marshal_with_options([1], {"pretty": true, "indent": "    "})`},
	{"time.format", `time.format([0, "Local", "MST"])`},
}

// TestProbesAreRefusedAtFileLine publishes each probe as an admin does
// (through the sandbox) and serves it as --rules DIR: both refuse it at
// probe.rego:6, naming the builtin.
func TestProbesAreRefusedAtFileLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPublisher(t, Config{Isolate: isolated})
	cur := p.Engine().Current()
	for _, pr := range issue17Probes {
		want := "undefined function " + pr.builtin + " (not allowed"
		t.Run("publish/"+pr.builtin, func(t *testing.T) {
			src := cur.Source.Clone()
			src.Modules[probeFile] = probeModule(pr.call)
			_, _, err := p.Publish(ctx, Change{Source: src, Sample: []byte(`{"facts": {"codes_requested": 777}}`)})
			assertProblemAt(t, err, probeFile, 6, want)
			if p.Engine().Current() != cur {
				t.Errorf("Publish(%s) changed the rules being served", pr.builtin)
			}
		})
		t.Run("rules-dir/"+pr.builtin, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range rules.Embedded().Modules {
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "probe.rego"), []byte(probeModule(pr.call)), 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := store.Open(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			_, err = Load(ctx, Config{RulesDir: dir, Isolate: isolated}, db, slog.New(slog.DiscardHandler))
			assertProblemAt(t, err, "probe.rego", 6, want)
		})
	}
}

// assertProblemAt fails unless err holds a problem in a file ending in
// file, at line, whose message contains want.
func assertProblemAt(t *testing.T, err error, file string, line int, want string) {
	t.Helper()
	problems, ok := knowledge.AsProblems(err)
	if !ok {
		t.Fatalf("error %v (%T); want knowledge.Problems", err, err)
	}
	for _, p := range problems {
		if strings.HasSuffix(p.File, file) && p.Line == line && strings.Contains(p.Message, want) {
			return
		}
	}
	t.Errorf("problems = %v; want one at %s:%d containing %q", problems, file, line, want)
}

// memory reads this process's resident memory and its peak (VmRSS and
// VmHWM of /proc/self/status), in bytes.
func memory(t *testing.T) (rss, peak int64) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak
}

// TestPreviewRunsInTheSandbox previews a draft whose helper builds a
// hundred million numbers only for the admin's sample (a personal
// trigger): the sandbox refuses it, and this process's peak resident
// memory stays flat, since only the sandbox evaluated the draft. A sample
// without the trigger is answered there too, and shown here.
func TestPreviewRunsInTheSandbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPublisher(t, Config{Isolate: isolated})
	cur := p.Engine().Current()
	src := cur.Source.Clone()
	src.Modules[probeFile] = "package login\n\n# METADATA\n# title: Probe\n_probe if {\n\tinput.facts.codes_requested == 777\n\tcount([x | some x in numbers.range(1, 100000000)]) > 0\n}\n"
	// The spam folder's cause asks for the probe when the folder was checked.
	const causes, branch = "rules/login/causes.rego", "\tinput.facts.spam_checked == true\n"
	if !strings.Contains(src.Modules[causes], branch) {
		t.Fatalf("cannot find %q in %s", branch, causes)
	}
	src.Modules[causes] = strings.Replace(src.Modules[causes], branch, branch+"\tnot _probe\n", 1)

	rss0, peak0 := memory(t)
	_, _, err := p.Verify(ctx, Change{Source: src, Sample: []byte(`{"facts": {"codes_requested": 777, "spam_checked": true}}`)})
	rss1, peak1 := memory(t)
	t.Logf("this process: resident %d MB before the preview, %d MB after; peak %d MB before, %d MB after",
		rss0>>20, rss1>>20, peak0>>20, peak1>>20)
	if _, ok := knowledge.AsProblems(err); !ok {
		t.Errorf("Verify(a sample that runs away) = %v; want problems", err)
	}
	// Answered here, the sample raised the peak by about 33 MB before the
	// 250 ms deadline stopped it (measured with Isolate unset); answered in
	// the sandbox, by nothing measurable.
	if grew := peak1 - peak0; grew > 16<<20 {
		t.Errorf("the preview raised this process's peak memory by %d MB; want the sample answered in the sandbox", grew>>20)
	}
	if p.Engine().Current() != cur {
		t.Error("Verify changed the rules being served")
	}

	_, pv, err := p.Verify(ctx, Change{Source: src, Sample: []byte(`{"facts": {"codes_requested": 2, "spam_checked": true}}`)})
	if err != nil {
		t.Fatalf("Verify(a harmless sample) = %v; want nil", err)
	}
	if got := len(pv.Draft); got != 2 || pv.Draft["es"].Outcome == "" || len(pv.States) == 0 {
		t.Errorf("Verify(a harmless sample) preview = %d answers (es outcome %q), %d states; want 2 answers with an outcome and the states", got, pv.Draft["es"].Outcome, len(pv.States))
	}
}

// TestTemplateInAMessageFileIsRefused checks and publishes a message file
// whose text is a template loop: both refuse it at its file and line, and
// the text is never run.
func TestTemplateInAMessageFileIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPublisher(t, Config{Isolate: isolated})
	cur := p.Engine().Current()
	src := cur.Source.Clone()
	const name, text = "active.es.toml", `other = "Empezar el diagnóstico paso a paso"`
	es := string(src.Messages[name])
	i := strings.Index(es, text)
	if i < 0 {
		t.Fatalf("cannot find %s in %s", text, name)
	}
	src.Messages[name] = []byte(es[:i] + `other = "{{range 3}}x{{end}}"` + es[i+len(text):])
	line := strings.Count(es[:i], "\n") + 1
	_, _, err := p.Verify(ctx, Change{Source: src})
	assertProblemAt(t, err, "locales/"+name, line, "holds {{range 3}}")
	_, _, err = p.Publish(ctx, Change{Source: src})
	assertProblemAt(t, err, "locales/"+name, line, "holds {{range 3}}")
	if p.Engine().Current() != cur {
		t.Error("Publish changed the rules being served")
	}
}
