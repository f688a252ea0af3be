package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"acceso/knowledge"
	"acceso/rules"
)

// TestMain makes the test binary its own child: Check runs os.Executable(),
// which here is this binary, with the child's environment.
func TestMain(m *testing.M) {
	if IsChild() {
		os.Exit(Main(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

const causesFile = "rules/login/causes.rego"

// withModule returns the embedded source with one module added or replaced.
func withModule(name, text string) knowledge.Source {
	src := rules.Embedded().Clone()
	src.Modules[name] = text
	return src
}

// problemsOf returns the problems carried by err, failing the test when err
// carries none.
func problemsOf(t *testing.T, err error) knowledge.Problems {
	t.Helper()
	if err == nil {
		t.Fatal("Check = nil; want problems")
	}
	ps, ok := knowledge.AsProblems(err)
	if !ok {
		t.Fatalf("Check = %v (%T); want knowledge.Problems", err, err)
	}
	return ps
}

func TestCheckAcceptsTheEmbeddedRules(t *testing.T) {
	if err := Check(context.Background(), rules.Embedded(), Limits{}); err != nil {
		t.Errorf("Check(embedded) = %v; want nil", err)
	}
}

func TestCheckRefusesADraft(t *testing.T) {
	embedded := rules.Embedded()
	tests := []struct {
		name     string
		src      knowledge.Source
		file     string
		line     int
		contains string
	}{
		{"syntax error", withModule(causesFile, embedded.Modules[causesFile]+"\nverdicts contains if {\n"),
			causesFile, strings.Count(embedded.Modules[causesFile], "\n") + 2, "unexpected"},
		{"http.send", withModule("rules/login/outside.rego",
			"package login\n\n_outside := x if {\n\tx := http.send({\"method\": \"GET\", \"url\": \"https://example.com\"})\n}\n"),
			"rules/login/outside.rego", 4, "undefined function http.send (not allowed: rules may call only the builtins in rules/capabilities.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := problemsOf(t, Check(context.Background(), tc.src, Limits{}))
			for _, p := range ps {
				if p.File == tc.file && p.Line == tc.line && strings.Contains(p.Message, tc.contains) {
					return
				}
			}
			t.Errorf("Check = %v; want a problem at %s:%d containing %q", ps, tc.file, tc.line, tc.contains)
		})
	}
}

// TestCheckStopsARunawayDraft gives drafts whose tests never end within
// small limits: each is refused in time, saying which limit it ran into,
// and the parent's heap does not grow.
func TestCheckStopsARunawayDraft(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs children until their CPU and memory limits stop them, which takes seconds by design")
	}
	const allocates = "package login_test\n\ntest_runaway if {\n\tcount(numbers.range(1, 100000000)) > 0\n}\n"
	const spins = "package login_test\n\ntest_spin if {\n\tr := numbers.range(1, 200000)\n\tevery i in r {\n\t\tevery j in r {\n\t\t\ti != 0 - j\n\t\t}\n\t}\n}\n"
	tests := []struct {
		name     string
		test     string
		lim      Limits
		contains []string // one of these
	}{
		// The child runs at a lower priority: on a busy machine (the test
		// suite runs packages side by side) it may get so little of the CPU
		// that the Rego test runner's own 10 s timeout stops it before its
		// CPU limit does. Either way the draft is refused, in bounded time,
		// away from this process.
		{"allocates without end", allocates, Limits{Wall: 60 * time.Second, CPU: 8 * time.Second},
			[]string{"needed more than 2 GiB of memory", "eval_cancel_error"}},
		{"spins past its CPU time", spins, Limits{Wall: 60 * time.Second, CPU: 2 * time.Second},
			[]string{"used more than 2s of CPU time", "eval_cancel_error"}},
		{"spins past the wall clock", spins, Limits{Wall: time.Second, CPU: 20 * time.Second}, []string{"took longer than 1s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := withModule("rules/login/runaway_test.rego", tc.test)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := Check(context.Background(), src, tc.lim)
			took := time.Since(start)
			runtime.GC()
			runtime.ReadMemStats(&after)

			ps := problemsOf(t, err)
			if len(ps) != 1 || !slices.ContainsFunc(tc.contains, func(c string) bool { return strings.Contains(ps[0].Message, c) }) {
				t.Errorf("Check = %v; want one problem containing one of %q", ps, tc.contains)
			}
			if took > tc.lim.Wall+2*time.Second {
				t.Errorf("Check took %v; want at most the wall clock %v and a little", took, tc.lim.Wall)
			}
			const maxGrowth = 4 << 20
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > maxGrowth {
				t.Errorf("parent HeapInuse grew by %d bytes; want at most %d", grew, maxGrowth)
			}
			t.Logf("refused in %v; parent HeapInuse %d → %d bytes; %s", took.Round(time.Millisecond), before.HeapInuse, after.HeapInuse, ps)
		})
	}
}

func TestCheckEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Check(ctx, rules.Embedded(), Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Check(cancelled) = %v; want context.Canceled", err)
	}
	if _, ok := knowledge.AsProblems(err); ok {
		t.Errorf("Check(cancelled) = %v; want an error that is not the draft's problems", err)
	}
}

// TestVerdict turns children that end in every way into the parent's
// answer. The children are shell scripts standing in for the check.
func TestVerdict(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("this test needs sh: %v", err)
	}
	const revision = "0123456789abcdef"
	tests := []struct {
		name, script string
		want         string // "" for nil
	}{
		{"ok", `echo '{"ok":true,"revision":"0123456789abcdef"}'`, ""},
		{"problems", `echo '{"problems":[{"file":"rules/x.rego","line":3,"message":"bad"}]}'`, "rules/x.rego:3: bad"},
		{"not JSON", `echo 'hello'`, "malformed reply"},
		{"unknown field", `echo '{"ok":true,"revision":"0123456789abcdef","extra":1}'`, "malformed reply"},
		{"two replies", `echo '{"ok":true,"revision":"0123456789abcdef"}{"ok":true}'`, "malformed reply (more than one value)"},
		{"another revision", `echo '{"ok":true,"revision":"ffff"}'`, "malformed reply (revision"},
		{"refused without problems", `echo '{"ok":false}'`, "malformed reply (refused without a problem)"},
		{"ok with problems", `echo '{"ok":true,"revision":"0123456789abcdef","problems":[{"file":"a","message":"b"}]}'`, "malformed reply (ok with problems)"},
		{"panic", `echo 'panic: boom' >&2; echo 'goroutine 1' >&2; exit 2`, "crashed (exit status 2: panic: boom)"},
		{"killed by a signal", `kill -TERM $$`, "crashed (signal: terminated)"},
		{"out of memory", `echo 'fatal error: runtime: out of memory' >&2; exit 2`, "needed more than 2 GiB of memory"},
		{"CPU limit, caught", `exit 3`, "used more than 20s of CPU time"},
		{"CPU limit, SIGXCPU", `kill -XCPU $$`, "used more than 20s of CPU time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(sh, "-c", tc.script)
			stdout, stderr := &capped{max: maxOutput}, &capped{max: maxOutput}
			cmd.Stdout, cmd.Stderr = stdout, stderr
			if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
				t.Fatalf("running %q: %v", tc.script, err)
			}
			_, err := verdict(outcome{state: cmd.ProcessState, stdout: stdout, stderr: stderr,
				revision: revision, cpuLimit: DefaultCPU, memoryLim: DefaultMemory})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("verdict(%s) = %v; want nil", tc.script, err)
			case tc.want == "":
			case err == nil:
				t.Errorf("verdict(%s) = nil; want problems containing %q", tc.script, tc.want)
			default:
				if _, ok := knowledge.AsProblems(err); !ok || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("verdict(%s) = %v (%T); want knowledge.Problems containing %q", tc.script, err, err, tc.want)
				}
			}
		})
	}
}

func TestCappedKeepsTheStart(t *testing.T) {
	c := &capped{max: 4}
	for _, s := range []string{"ab", "cde", "f"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
		}
	}
	if got := c.String(); got != "abcd" || !c.truncated {
		t.Errorf("capped = %q, truncated %v; want \"abcd\", true", got, c.truncated)
	}
}
