package publish

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"acceso/knowledge"
	"acceso/sandbox"
	"acceso/store"
)

// TestMain lets the test binary be the sandbox's child, as acceso is.
func TestMain(m *testing.M) {
	if sandbox.IsChild() {
		os.Exit(sandbox.Main(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func newPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := Load(ctx, cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	return p
}

// TestIsolatedVerifyRefusesWhatRulesMayNotDo shows drafts that reach
// outside or run away refused by the sandbox, with the serving process's
// rules and memory untouched.
func TestIsolatedVerifyRefusesWhatRulesMayNotDo(t *testing.T) {
	isolate := func(ctx context.Context, src knowledge.Source, exam sandbox.Exam) (sandbox.Result, error) {
		return sandbox.Run(ctx, src, exam, sandbox.Limits{Wall: 15 * time.Second, CPU: 10 * time.Second})
	}
	p := newPublisher(t, Config{Isolate: isolate})
	cur := p.Engine().Current()
	tests := []struct {
		name, module, text, want string
	}{
		{"network", "rules/login/extra.rego", "package login\n\nx := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:1\"})\n", "http.send"},
		// Out of memory in the child, or, when the machine is busy and the
		// child (at a lower priority) starved, stopped by the Rego test
		// runner's timeout: refused either way, away from this process.
		{"runaway test", "rules/login/extra_test.rego", "package login_test\n\ntest_big if count([y | some y in numbers.range(1, 100000000)]) > 0\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" && testing.Short() {
				t.Skip("end-to-end: the runaway child runs until its limits stop it, seconds by design; make test runs it")
			}
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			src := cur.Source.Clone()
			src.Modules[tc.module] = tc.text
			start := time.Now()
			_, _, err := p.Verify(context.Background(), Change{Source: src})
			took := time.Since(start)
			problems, ok := knowledge.AsProblems(err)
			if !ok || len(problems) == 0 {
				t.Fatalf("Verify(%s) = %v; want problems", tc.name, err)
			}
			if !strings.Contains(problems.Error(), tc.want) {
				t.Errorf("Verify(%s) = %v; want a problem naming %q", tc.name, problems, tc.want)
			}
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 64<<20 {
				t.Errorf("Verify(%s) grew this process's heap by %d MB; want the draft run elsewhere", tc.name, grew>>20)
			}
			if p.Engine().Current() != cur {
				t.Errorf("Verify(%s) changed the rules being served", tc.name)
			}
			t.Logf("%s: refused in %v: %v", tc.name, took.Round(time.Millisecond), problems)
		})
	}
}

// TestDecisionCacheSwitch serves the same request twice: the second is
// reused by default, and evaluated again with NoCache (serve's
// --decision-cache 0).
func TestDecisionCacheSwitch(t *testing.T) {
	t.Parallel()
	req := knowledge.Request{Symptom: "code_needed_often", Facts: map[string]any{"incognito": true}}
	for _, tc := range []struct {
		name     string
		cfg      Config
		wantHits bool
	}{
		{"default", Config{}, true},
		{"sized", Config{CacheSize: 1}, true},
		{"off", Config{NoCache: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPublisher(t, tc.cfg).Engine().Current()
			h0, _ := p.CacheStats()
			for range 2 {
				if _, err := p.Evaluate(context.Background(), req); err != nil {
					t.Fatal(err)
				}
			}
			if hits, _ := p.CacheStats(); (hits > h0) != tc.wantHits {
				t.Errorf("Config%+v: %d answers reused of 2; want reuse %v", tc.cfg, hits-h0, tc.wantHits)
			}
		})
	}
}
