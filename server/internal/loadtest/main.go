// Command loadtest compares Acceso's POST /api/v1/evaluate with OPA's own
// REST server answering the same rules and input, on this machine, in one
// run: `make bench` runs it.
//
// It builds the acceso binary and OPA (the one pinned in go.mod, as
// `go tool opa` runs it), starts both on 127.0.0.1 with their default
// logging (sent to /dev/null), checks that they decide the same request the
// same way, then loads each with vegeta's library, one after the other: at
// the maximum rate a few workers can reach, and at a constant rate. It
// prints requests per second and the p50 and p99 latencies of each, and the
// ratios, as a Markdown table.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// request is what an integration would post: SPEC's example, a contact
// whose code did not arrive, with personal data to compare.
const request = `{"symptom":"code_not_received","lang":"en","facts":{"identifier":"Ana@Example.com ","registered_emails":["ana@example.com"],"channels_tried":["email"],"spam_checked":false}}`

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each measured attack")
	warmup := flag.Duration("warmup", 2*time.Second, "length of the unmeasured attack before each target's runs")
	rate := flag.Int("rate", 300, "requests per second of the constant-rate attack")
	workers := flag.Uint64("workers", 4, "concurrent workers (and connections) of the max-rate attack")
	rounds := flag.Int("rounds", 4, "rounds each run is split in, alternating which server goes first")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *duration, *warmup, *rate, *workers, max(1, *rounds)); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// target is one server under test and how to ask it.
type target struct {
	name string
	url  string
	body []byte
	pid  int // the server's process, whose CPU time is counted
	// decision reads the ids of the decision out of an answer, so that the
	// two servers can be checked to agree before they are compared.
	decision func([]byte) (decision, error)
}

type decision struct {
	Outcome   string
	Findings  []string
	RuledOut  []string
	Questions []string
}

func run(ctx context.Context, duration, warmup time.Duration, rate int, workers uint64, rounds int) error {
	root, err := output(ctx, "go", "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return fmt.Errorf("finding the module: %w", err)
	}
	dir, err := os.MkdirTemp("", "acceso-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	logf("building acceso and opa")
	acceso := filepath.Join(dir, "acceso")
	if _, err := output(ctx, "go", "build", "-C", root, "-o", acceso, "."); err != nil {
		return fmt.Errorf("building acceso: %w", err)
	}
	opa, err := output(ctx, "go", "tool", "-n", "opa")
	if err != nil {
		return fmt.Errorf("building opa: %w", err)
	}
	modules, err := filepath.Glob(filepath.Join(root, "rules", "login", "*.rego"))
	if err != nil {
		return err
	}
	modules = slices.DeleteFunc(modules, func(m string) bool { return strings.HasSuffix(m, "_test.rego") })

	accesoAddr, opaAddr := freeAddr(), freeAddr()
	accesoPID, stopAcceso, err := start(ctx, acceso, "serve", "--addr", accesoAddr, "--data", filepath.Join(dir, "data"), "--api-rate", "1e9")
	if err != nil {
		return err
	}
	defer stopAcceso()
	opaPID, stopOPA, err := start(ctx, opa, append([]string{"run", "--server", "--addr", opaAddr}, modules...)...)
	if err != nil {
		return err
	}
	defer stopOPA()

	var input struct {
		Symptom string         `json:"symptom"`
		Facts   map[string]any `json:"facts"`
	}
	if err := json.Unmarshal([]byte(request), &input); err != nil {
		return err
	}
	opaBody, err := json.Marshal(map[string]any{"input": input})
	if err != nil {
		return err
	}
	targets := []target{
		{name: "Acceso", url: "http://" + accesoAddr + "/api/v1/evaluate", body: []byte(request), pid: accesoPID, decision: accesoDecision},
		{name: "OPA server", url: "http://" + opaAddr + "/v1/data/login/decision", body: opaBody, pid: opaPID, decision: opaDecision},
	}
	if err := waitReady(ctx, "http://"+accesoAddr+"/readyz", "http://"+opaAddr+"/health"); err != nil {
		return err
	}
	if err := sameDecision(targets); err != nil {
		return err
	}

	type mode struct {
		name    string
		pacer   vegeta.Pacer
		workers uint64
		max     uint64
	}
	modes := []mode{
		{fmt.Sprintf("max rate, %d workers", workers), vegeta.Rate{}, workers, workers},
		{fmt.Sprintf("constant %d/s", rate), vegeta.Rate{Freq: rate, Per: time.Second}, workers, vegeta.DefaultMaxWorkers},
	}
	for _, t := range targets {
		logf("warming up %s for %v", t.name, warmup)
		attack(ctx, t, vegeta.Rate{}, workers, workers, warmup, &measure{})
	}
	// Each mode runs in rounds that alternate which server goes first, so
	// that whatever else the machine does weighs on both alike.
	results := make(map[string]map[string]*measure)
	for _, t := range targets {
		results[t.name] = make(map[string]*measure)
		for _, m := range modes {
			results[t.name][m.name] = &measure{}
		}
	}
	for _, m := range modes {
		for round := range rounds {
			order := slices.Clone(targets)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, t := range order {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				logf("%s: %s, round %d of %d, %v", t.name, m.name, round+1, rounds, duration/time.Duration(rounds))
				attack(ctx, t, m.pacer, m.workers, m.max, duration/time.Duration(rounds), results[t.name][m.name])
			}
		}
	}

	fmt.Printf("POST of one realistic request (%d bytes), %v per server and load in %d alternating rounds, loopback, %s\n\n",
		len(request), duration, rounds, machine())
	fmt.Println("| server | load | requests/s | p50 | p99 | success | server CPU per request |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, m := range modes {
		for _, t := range targets {
			r := results[t.name][m.name]
			fmt.Printf("| %s | %s | %.0f | %v | %v | %.2f%% | %v |\n", t.name, m.name, r.throughput(),
				r.all.Latencies.P50.Round(time.Microsecond), r.all.Latencies.P99.Round(time.Microsecond), 100*r.all.Success,
				r.cpuPerRequest().Round(time.Microsecond))
		}
	}
	fmt.Println()
	a, o := results[targets[0].name], results[targets[1].name]
	for _, m := range modes {
		fmt.Printf("- %s: Acceso/OPA requests/s = %.2fx; p99 Acceso/OPA = %.2fx; CPU per request Acceso/OPA = %.2fx\n", m.name,
			a[m.name].throughput()/o[m.name].throughput(),
			float64(a[m.name].all.Latencies.P99)/float64(o[m.name].all.Latencies.P99),
			float64(a[m.name].cpuPerRequest())/float64(o[m.name].cpuPerRequest()))
	}
	for _, t := range targets {
		for _, m := range modes {
			if r := results[t.name][m.name].all; r.Success < 1 {
				fmt.Printf("- %s, %s: status codes %v, errors %v\n", t.name, m.name, r.StatusCodes, r.Errors)
			}
		}
	}
	return nil
}

// measure accumulates the rounds of one server under one load: every
// request's latency, and the successes and time of every round.
type measure struct {
	all       vegeta.Metrics
	successes int
	elapsed   time.Duration
	cpu       time.Duration // the server's CPU time
}

// cpuPerRequest is the server's CPU time per request answered.
func (m *measure) cpuPerRequest() time.Duration {
	if m.all.Requests == 0 {
		return 0
	}
	return m.cpu / time.Duration(m.all.Requests)
}

// throughput is successful requests per second over the rounds' time.
func (m *measure) throughput() float64 {
	if m.elapsed == 0 {
		return 0
	}
	return float64(m.successes) / m.elapsed.Seconds()
}

// attack loads t for d and adds what it measured to into.
func attack(ctx context.Context, t target, pacer vegeta.Pacer, workers, maxWorkers uint64, d time.Duration, into *measure) {
	header := http.Header{"Content-Type": {"application/json"}}
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: t.url, Body: t.body, Header: header})
	attacker := vegeta.NewAttacker(vegeta.Workers(workers), vegeta.MaxWorkers(maxWorkers), vegeta.Timeout(10*time.Second), vegeta.KeepAlive(true))
	var round vegeta.Metrics
	cpuBefore := cpuTime(t.pid)
	results := attacker.Attack(targeter, pacer, d, t.name)
	for {
		select {
		case r, ok := <-results:
			if !ok {
				round.Close()
				into.all.Close()
				into.successes += int(round.Success*float64(round.Requests) + 0.5)
				into.elapsed += round.Duration + round.Wait
				into.cpu += cpuTime(t.pid) - cpuBefore
				return
			}
			round.Add(r)
			into.all.Add(r)
		case <-ctx.Done():
			attacker.Stop()
		}
	}
}

// sameDecision asks each target once and checks they decide alike.
func sameDecision(targets []target) error {
	var first decision
	for i, t := range targets {
		resp, err := http.Post(t.url, "application/json", bytes.NewReader(t.body))
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %d: %s", t.name, resp.StatusCode, body)
		}
		d, err := t.decision(body)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if i == 0 {
			first = d
			logf("both must decide %+v", d)
			continue
		}
		if fmt.Sprint(d) != fmt.Sprint(first) {
			return fmt.Errorf("%s decides %+v; %s decides %+v", t.name, d, targets[0].name, first)
		}
	}
	return nil
}

func accesoDecision(body []byte) (decision, error) {
	var r struct {
		Outcome   string   `json:"outcome"`
		RuledOut  []string `json:"ruled_out"`
		Findings  []struct{ ID string }
		Questions []struct{ Fact string }
	}
	err := json.Unmarshal(body, &r)
	return toDecision(r.Outcome, r.RuledOut, r.Findings, r.Questions), err
}

func opaDecision(body []byte) (decision, error) {
	var r struct {
		Result struct {
			Outcome   string   `json:"outcome"`
			RuledOut  []string `json:"ruled_out"`
			Findings  []struct{ ID string }
			Questions []struct{ Fact string }
		}
	}
	err := json.Unmarshal(body, &r)
	return toDecision(r.Result.Outcome, r.Result.RuledOut, r.Result.Findings, r.Result.Questions), err
}

func toDecision(outcome string, ruledOut []string, findings []struct{ ID string }, questions []struct{ Fact string }) decision {
	d := decision{Outcome: outcome, RuledOut: ruledOut}
	for _, f := range findings {
		d.Findings = append(d.Findings, f.ID)
	}
	for _, q := range questions {
		d.Questions = append(d.Questions, q.Fact)
	}
	return d
}

// start runs a server in the background, its logs discarded, and returns
// its process id and a function that stops it (SIGTERM, then SIGKILL
// after 5s).
func start(ctx context.Context, bin string, args ...string) (int, func(), error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("starting %s: %w", filepath.Base(bin), err)
	}
	return cmd.Process.Pid, func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}, nil
}

// cpuTime is the user and system CPU time a process has used so far, read
// from /proc; zero where there is no /proc.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(fields[11], &utime)
	fmt.Sscan(fields[12], &stime)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// waitReady polls each URL until it answers 200, for up to 30s.
func waitReady(ctx context.Context, urls ...string) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range urls {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return errors.Join(fmt.Errorf("%s is not ready after 30s", u), err, ctx.Err())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// freeAddr returns a loopback address with a port free at the time of the
// call.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// machine describes the CPU the numbers were measured on.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs", model, runtime.NumCPU())
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+format+"\n", args...)
}
