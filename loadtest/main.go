// Command loadtest compares Acceso's POST /api/v1/evaluate with OPA's own
// REST server deciding from the same rules and data, and with Acceso's own
// GET /healthz, on this machine, in one run: `make bench` runs it.
//
// It builds the acceso binary and OPA (the one pinned in go.mod, as
// `go tool opa` runs it) and starts Acceso on 127.0.0.1 with its default
// logging (sent to /dev/null), the per-client API rate limit raised out of
// the way (--api-rate 1e9) and a bundle token. It downloads the bundle
// Acceso serves (GET /bundles/acceso.tar.gz: the policy modules, which
// read nothing else) and starts
// `opa run --server` on that file, so that both decide from identical
// rules and data.
//
// The load is the shared mix (../shared/bench/mix.jsonl from the module
// root: 500 distinct requests), sent in turn and cycled: to Acceso each line
// as it is, to OPA {"input": …} holding what the rules read of it (the
// symptom and the non-null facts; not lang). Before measuring, it asks both
// servers to decide every request of the mix and stops unless they agree on
// each (outcome, symptoms, findings, ruled out,
// questions).
//
// Then it loads each target at the maximum rate a few keep-alive workers
// reach, in rounds that rotate which target goes first, so that whatever
// else the shared machine does weighs on all alike. It prints requests per
// second answered 200, the p50 and p99 latencies of those, every other
// status counted apart (503 overloaded is Acceso shedding load), the
// server's CPU time per request, and the ratios from the same run, as
// Markdown.
//
// Acceso runs with its decision cache on (the default). The warm-up sends
// the whole mix first, so the measured rounds reuse decisions: the cache
// holds 10,000 and the mix has 500 requests. A second Acceso, started with
// --decision-cache 0, evaluates every request, for the uncached figures.
// Acceso's metrics listener gives each Acceso target's decision cache hit
// rate over its rounds.
//
// OPA's server is loaded twice over: through its data API, which evaluates
// the rules alone (they try an answer to every unknown fact), and through
// its query API with the query Acceso's engine evaluates, told which facts
// each cause reads (data.<topic>._reads, from GET /api/v1/causes), so that
// only answers that could settle an open cause are tried. The query API
// compiles its query for every request, which the data API does not.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"acceso/internal/interop"
)

func main() {
	duration := flag.Duration("duration", 20*time.Second, "measured time per target, split over the rounds")
	warmup := flag.Duration("warmup", 3*time.Second, "unmeasured load on each target before the rounds")
	workers := flag.Uint64("workers", 4, "concurrent workers (and keep-alive connections) of the max-rate attack")
	rounds := flag.Int("rounds", 6, "rounds each target's time is split in, rotating which target goes first")
	mix := flag.String("mix", "../shared/bench/mix.jsonl", "requests to send in turn, one JSON body a line; relative to the acceso folder")
	unique := flag.Int("unique", 200_000, "requests of the never-repeating mix, made up from the served catalog; 0 leaves that mix out")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *mix, *unique, *duration, *warmup, *workers, max(1, *rounds)); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// target is one endpoint under test and what is sent to it, in turn.
type target struct {
	name   string
	method string
	url    string
	bodies [][]byte // nil for a GET
	pid    int      // the server's process, whose CPU time is counted
	// sent counts the requests sent to the target over every attack, so
	// that each attack goes on through the bodies where the last one
	// stopped: a never-repeating mix stays that over the rounds.
	sent *atomic.Uint64
	// metrics is the server's Prometheus endpoint when its decision
	// cache's hits and misses are counted over each attack, else "".
	metrics string
	// adhoc is set for OPA's query API, which answers {"result": [{"x": …}]}
	// instead of the data API's {"result": …}.
	adhoc bool
}

// bundleToken is the bearer token Acceso's bundle endpoint is given; the
// server listens on loopback only, for the length of the run.
const bundleToken = "loadtest-bundle-token-of-32-characters-or-more"

func run(ctx context.Context, mixPath string, unique int, duration, warmup time.Duration, workers uint64, rounds int) error {
	// This command is a module of its own (its load generator stays out of
	// the product's go.mod); acceso's folder is where go.mod's replace
	// directive points.
	root, err := output(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "acceso")
	if err != nil {
		return fmt.Errorf("finding the acceso module: %w", err)
	}
	if !filepath.IsAbs(mixPath) {
		mixPath = filepath.Join(root, mixPath)
	}
	mix, err := interop.ReadMix(mixPath)
	if err != nil {
		return err
	}
	opaBodies := make([][]byte, len(mix))
	for i, body := range mix {
		if opaBodies[i], err = opaInput(body); err != nil {
			return fmt.Errorf("%s line %d: %w", mixPath, i+1, err)
		}
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
	opa, err := output(ctx, "go", "-C", root, "tool", "-n", "opa")
	if err != nil {
		return fmt.Errorf("building opa: %w", err)
	}
	opaVersion, _ := output(ctx, opa, "version")
	opaVersion, _, _ = strings.Cut(opaVersion, "\n")
	opaVersion = "OPA " + strings.TrimSpace(strings.TrimPrefix(opaVersion, "Version:"))

	accesoAddr, opaAddr, metricsAddr := freeAddr(), freeAddr(), freeAddr()
	accesoPID, stopAcceso, err := start(ctx, acceso, "serve", "--addr", accesoAddr, "--data", filepath.Join(dir, "data"),
		"--api-rate", "1e9", "--bundle-token", bundleToken, "--metrics-addr", metricsAddr)
	if err != nil {
		return err
	}
	defer stopAcceso()
	if err := waitReady(ctx, "http://"+accesoAddr+"/readyz"); err != nil {
		return err
	}
	// A second Acceso, its decision cache off, for the cost of evaluating
	// every request.
	uncachedAddr := freeAddr()
	uncachedPID, stopUncached, err := start(ctx, acceso, "serve", "--addr", uncachedAddr, "--data", filepath.Join(dir, "data-uncached"),
		"--api-rate", "1e9", "--decision-cache", "0")
	if err != nil {
		return err
	}
	defer stopUncached()
	if err := waitReady(ctx, "http://"+uncachedAddr+"/readyz"); err != nil {
		return err
	}
	bundle := filepath.Join(dir, "bundle.tar.gz")
	if err := download(ctx, "http://"+accesoAddr+"/bundles/acceso.tar.gz", bundleToken, bundle); err != nil {
		return fmt.Errorf("downloading Acceso's bundle: %w", err)
	}
	opaPID, stopOPA, err := start(ctx, opa, "run", "--server", "--addr", opaAddr, bundle)
	if err != nil {
		return err
	}
	defer stopOPA()
	if err := waitReady(ctx, "http://"+opaAddr+"/health?bundles"); err != nil {
		return err
	}

	metrics := "http://" + metricsAddr + "/metrics"
	evaluate := target{name: "Acceso evaluate", method: http.MethodPost, url: "http://" + accesoAddr + "/api/v1/evaluate", bodies: mix, pid: accesoPID, sent: new(atomic.Uint64), metrics: metrics}
	// The mix's requests name no topic: the default topic (the first the
	// catalog lists) decides them.
	topic, hint, err := readsHint(ctx, "http://"+accesoAddr)
	if err != nil {
		return err
	}
	opaTarget := target{name: "OPA server", method: http.MethodPost, url: "http://" + opaAddr + interop.DecisionPath(topic), bodies: opaBodies, pid: opaPID, sent: new(atomic.Uint64)}
	healthz := target{name: "Acceso healthz", method: http.MethodGet, url: "http://" + accesoAddr + "/healthz", pid: accesoPID, sent: new(atomic.Uint64)}
	uncached := target{name: "Acceso evaluate, cache off", method: http.MethodPost, url: "http://" + uncachedAddr + "/api/v1/evaluate", bodies: mix, pid: uncachedPID, sent: new(atomic.Uint64)}
	// OPA's server told what Acceso's engine tells the rules (which facts
	// each cause reads, so that only answers that could settle an open
	// cause are tried): the same query Acceso evaluates, through OPA's
	// query API. The data API above evaluates the rules alone, which try
	// every unknown fact.
	hintedBodies := make([][]byte, len(opaBodies))
	for i, body := range opaBodies {
		if hintedBodies[i], err = hintedQuery(topic, hint, body); err != nil {
			return fmt.Errorf("%s line %d: %w", mixPath, i+1, err)
		}
	}
	hinted := target{name: "OPA server, hinted", method: http.MethodPost, url: "http://" + opaAddr + "/v1/query", bodies: hintedBodies, pid: opaPID, sent: new(atomic.Uint64), adhoc: true}
	targets := []target{evaluate, opaTarget, healthz, uncached, hinted}

	logf("checking that both servers decide the %d requests of the mix alike", len(mix))
	agreed, err := sameDecisions(ctx, evaluate, opaTarget)
	if err != nil {
		return err
	}
	logf("they agree on all %d (%s)", len(mix), agreed)
	if agreed, err = sameDecisions(ctx, evaluate, hinted); err != nil {
		return err
	}
	logf("OPA's server, hinted, agrees on all %d too (%s)", len(mix), agreed)

	// The never-repeating mix: what the cache can reuse there is only what
	// the answers do not depend on.
	var uniqueEvaluate, uniqueOPA, uniqueHinted target
	if unique > 0 {
		symptoms, facts, err := catalogOf(ctx, "http://"+accesoAddr)
		if err != nil {
			return err
		}
		bodies, err := uniqueMix(symptoms, facts, unique, 1)
		if err != nil {
			return err
		}
		opaUnique := make([][]byte, len(bodies))
		for i, body := range bodies {
			if opaUnique[i], err = opaInput(body); err != nil {
				return fmt.Errorf("never-repeating request %d: %w", i+1, err)
			}
		}
		uniqueEvaluate = target{name: "Acceso evaluate, never-repeating", method: http.MethodPost, url: evaluate.url, bodies: bodies, pid: accesoPID, sent: new(atomic.Uint64), metrics: metrics}
		uniqueOPA = target{name: "OPA server, never-repeating", method: http.MethodPost, url: opaTarget.url, bodies: opaUnique, pid: opaPID, sent: new(atomic.Uint64)}
		check := uniqueEvaluate
		check.bodies = bodies[:200]
		checkOPA := uniqueOPA
		checkOPA.bodies = opaUnique[:200]
		logf("checking that both servers decide the first 200 of %d never-repeating requests alike", unique)
		agreedUnique, err := sameDecisions(ctx, check, checkOPA)
		if err != nil {
			return err
		}
		logf("they agree on all 200 (%s)", agreedUnique)
		hintedUnique := make([][]byte, len(opaUnique))
		for i, body := range opaUnique {
			if hintedUnique[i], err = hintedQuery(topic, hint, body); err != nil {
				return fmt.Errorf("never-repeating request %d: %w", i+1, err)
			}
		}
		uniqueHinted = target{name: "OPA server, hinted, never-repeating", method: http.MethodPost, url: hinted.url, bodies: hintedUnique, pid: opaPID, sent: new(atomic.Uint64), adhoc: true}
		checkHinted := uniqueHinted
		checkHinted.bodies = hintedUnique[:200]
		if agreedUnique, err = sameDecisions(ctx, check, checkHinted); err != nil {
			return err
		}
		logf("OPA's server, hinted, agrees on all 200 too (%s)", agreedUnique)
		targets = append(targets, uniqueEvaluate, uniqueOPA, uniqueHinted)
	}

	for _, t := range targets {
		logf("warming up %s for %v", t.name, warmup)
		attack(ctx, t, workers, warmup, &measure{})
	}
	results := make(map[string]*measure)
	for _, t := range targets {
		results[t.name] = &measure{codes: map[string]int{}}
	}
	for round := range rounds {
		// Rotate the order and reverse it every other round: each target
		// goes first, last, before and after each other one.
		order := slices.Clone(targets)
		slices.Reverse(order[:round%len(order)])
		slices.Reverse(order[round%len(order):])
		slices.Reverse(order)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			logf("%s: round %d of %d, %v", t.name, round+1, rounds, duration/time.Duration(rounds))
			attack(ctx, t, workers, duration/time.Duration(rounds), results[t.name])
		}
	}

	fmt.Printf("%d distinct requests (../shared/bench/mix.jsonl) in turn; max rate with %d keep-alive workers; %v per target in %d rotating rounds after a %v warm-up; loopback, load generator on the same CPUs; %s; %s, %s\n\n",
		len(mix), workers, duration, rounds, warmup, machine(), runtime.Version(), opaVersion)
	fmt.Println("| target | requests/s (200) | p50 | p99 | 200 | non-200 | errors | server CPU per request | decision cache hits |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, t := range targets {
		r := results[t.name]
		fmt.Printf("| %s | %.0f | %v | %v | %d | %s | %d | %v | %s |\n", t.name, r.throughput(),
			r.ok.Latencies.P50.Round(time.Microsecond), r.ok.Latencies.P99.Round(time.Microsecond),
			r.codes["200"], r.others(), r.errors, r.cpuPerRequest().Round(time.Microsecond), r.hitRate())
	}
	fmt.Println()
	e, o, h := results[evaluate.name], results[opaTarget.name], results[healthz.name]
	fmt.Printf("- Acceso/OPA requests/s = %.2fx (target >= 1.5x); p50 %.2fx, p99 %.2fx; CPU per request %.2fx\n",
		e.throughput()/o.throughput(),
		float64(e.ok.Latencies.P50)/float64(o.ok.Latencies.P50),
		float64(e.ok.Latencies.P99)/float64(o.ok.Latencies.P99),
		float64(e.cpuPerRequest())/float64(o.cpuPerRequest()))
	fmt.Printf("- evaluate/healthz requests/s = %.2fx (target >= 0.5x)\n", e.throughput()/h.throughput())
	fmt.Printf("- per round, Acceso/OPA: %s; evaluate/healthz: %s\n", ratios(e, o), ratios(e, h))
	u := results[uncached.name]
	fmt.Printf("- cache off: Acceso/OPA requests/s = %.2fx, CPU per request %.2fx; evaluate/healthz = %.2fx; per round, Acceso/OPA: %s\n",
		u.throughput()/o.throughput(), float64(u.cpuPerRequest())/float64(o.cpuPerRequest()), u.throughput()/h.throughput(), ratios(u, o))
	hr := results[hinted.name]
	fmt.Printf("- OPA server hinted (the query Acceso evaluates): Acceso/OPA requests/s = %.2fx, CPU per request %.2fx; cache off %.2fx, CPU per request %.2fx; per round, Acceso/OPA: %s; cache off: %s\n",
		e.throughput()/hr.throughput(), float64(e.cpuPerRequest())/float64(hr.cpuPerRequest()),
		u.throughput()/hr.throughput(), float64(u.cpuPerRequest())/float64(hr.cpuPerRequest()), ratios(e, hr), ratios(u, hr))
	if unique > 0 {
		ue, uh := results[uniqueEvaluate.name], results[uniqueHinted.name]
		fmt.Printf("- never-repeating mix against OPA server hinted: Acceso/OPA requests/s = %.2fx, CPU per request %.2fx; per round: %s\n",
			ue.throughput()/uh.throughput(), float64(ue.cpuPerRequest())/float64(uh.cpuPerRequest()), ratios(ue, uh))
	}
	if unique > 0 {
		ue, uo := results[uniqueEvaluate.name], results[uniqueOPA.name]
		sent := uniqueEvaluate.sent.Load()
		fmt.Printf("- never-repeating mix (%d requests made up, %d sent to Acceso, %d of them a second time): Acceso/OPA requests/s = %.2fx (target >= 1.2x), CPU per request %.2fx; per round: %s\n",
			unique, sent, max(0, int64(sent)-int64(unique)), ue.throughput()/uo.throughput(), float64(ue.cpuPerRequest())/float64(uo.cpuPerRequest()), ratios(ue, uo))
	}
	return nil
}

// ratios lists the throughput ratio of a to b round by round.
func ratios(a, b *measure) string {
	var out []string
	for i := range min(len(a.rounds), len(b.rounds)) {
		out = append(out, fmt.Sprintf("%.2f", a.rounds[i]/b.rounds[i]))
	}
	return strings.Join(out, " ")
}

// opaInput is the body for OPA's data API holding what the rules read of
// an API request (rules.Policy.input): the symptom when there is one and
// the facts that are not null; lang is Acceso's, not the rules'.
func opaInput(body []byte) ([]byte, error) {
	var req struct {
		Symptom string                     `json:"symptom"`
		Facts   map[string]json.RawMessage `json:"facts"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	facts := make(map[string]json.RawMessage, len(req.Facts))
	for name, v := range req.Facts {
		if string(bytes.TrimSpace(v)) != "null" {
			facts[name] = v
		}
	}
	in := map[string]any{"facts": facts}
	if req.Symptom != "" {
		in["symptom"] = req.Symptom
	}
	return json.Marshal(map[string]any{"input": in})
}

// measure accumulates the rounds of one target.
type measure struct {
	ok      vegeta.Metrics // the 200 answers only
	codes   map[string]int // every answer's status
	errors  int            // requests with no answer
	elapsed time.Duration
	cpu     time.Duration // the server's CPU time
	rounds  []float64     // requests/s answered 200, round by round
	// hits and misses are the decision cache's counts over the rounds,
	// for a target whose metrics are read.
	hits, misses float64
	counted      bool
}

// hitRate is the share of the cache's lookups that hit, or "–" when the
// target's cache is not read.
func (m *measure) hitRate() string {
	if !m.counted {
		return "–"
	}
	if m.hits+m.misses == 0 {
		return "0 of 0"
	}
	return fmt.Sprintf("%.1f %% (%.0f of %.0f)", 100*m.hits/(m.hits+m.misses), m.hits, m.hits+m.misses)
}

// cacheCounts reads the decision cache's hits and misses from Acceso's
// metrics; ok is false when they cannot be read.
func cacheCounts(ctx context.Context, url string) (hits, misses float64, ok bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, 0, false
	}
	return parseCacheCounts(string(b))
}

// parseCacheCounts reads the decision cache's hits and misses from
// Prometheus's text format; ok is false unless both are there.
func parseCacheCounts(text string) (hits, misses float64, ok bool) {
	var found int
	for line := range strings.Lines(text) {
		name, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		var into *float64
		switch name {
		case "acceso_decision_cache_hits_total":
			into = &hits
		case "acceso_decision_cache_misses_total":
			into = &misses
		default:
			continue
		}
		if _, err := fmt.Sscan(value, into); err == nil {
			found++
		}
	}
	return hits, misses, found == 2
}

// throughput is the 200 answers per second over the rounds' time.
func (m *measure) throughput() float64 {
	if m.elapsed == 0 {
		return 0
	}
	return float64(m.codes["200"]) / m.elapsed.Seconds()
}

// cpuPerRequest is the server's CPU time per request sent.
func (m *measure) cpuPerRequest() time.Duration {
	n := 0
	for _, c := range m.codes {
		n += c
	}
	if n == 0 {
		return 0
	}
	return m.cpu / time.Duration(n)
}

// others counts the answers other than 200 by status, or "0".
func (m *measure) others() string {
	var out []string
	for _, code := range slices.Sorted(maps.Keys(m.codes)) {
		if code != "200" && m.codes[code] > 0 {
			out = append(out, fmt.Sprintf("%d × %s", m.codes[code], code))
		}
	}
	if len(out) == 0 {
		return "0"
	}
	return strings.Join(out, ", ")
}

// attack loads t at the maximum rate workers reach for d, sending its
// bodies in turn, and adds what it measured to into.
func attack(ctx context.Context, t target, workers uint64, d time.Duration, into *measure) {
	header := http.Header{}
	var ts []vegeta.Target
	if t.bodies == nil {
		ts = []vegeta.Target{{Method: t.method, URL: t.url}}
	} else {
		header.Set("Content-Type", "application/json")
		for _, b := range t.bodies {
			ts = append(ts, vegeta.Target{Method: t.method, URL: t.url, Body: b, Header: header})
		}
	}
	attacker := vegeta.NewAttacker(vegeta.Workers(workers), vegeta.MaxWorkers(workers), vegeta.Timeout(10*time.Second), vegeta.KeepAlive(true))
	if into.codes == nil {
		into.codes = map[string]int{}
	}
	var hits0, misses0 float64
	counting := false
	if t.metrics != "" {
		hits0, misses0, counting = cacheCounts(ctx, t.metrics)
	}
	cpuBefore := cpuTime(t.pid)
	began := time.Now()
	oks := 0
	if t.sent == nil {
		t.sent = new(atomic.Uint64)
	}
	next := func(tgt *vegeta.Target) error {
		*tgt = ts[(t.sent.Add(1)-1)%uint64(len(ts))]
		return nil
	}
	results := attacker.Attack(next, vegeta.Rate{}, d, t.name)
	for {
		select {
		case r, ok := <-results:
			if !ok {
				elapsed := time.Since(began)
				into.ok.Close()
				into.elapsed += elapsed
				into.cpu += cpuTime(t.pid) - cpuBefore
				into.rounds = append(into.rounds, float64(oks)/elapsed.Seconds())
				if counting {
					if hits, misses, ok := cacheCounts(ctx, t.metrics); ok {
						into.hits += hits - hits0
						into.misses += misses - misses0
						into.counted = true
					}
				}
				return
			}
			switch {
			case r.Code == http.StatusOK:
				oks++
				into.ok.Add(r)
				into.codes["200"]++
			case r.Code == 0:
				into.errors++
			default:
				into.codes[fmt.Sprint(r.Code)]++
			}
		case <-ctx.Done():
			attacker.Stop()
		}
	}
}

// sameDecisions asks both servers to decide every request of the mix, one
// after the other, and fails on the first that they decide differently.
// It returns a count of the outcomes they agreed on.
func sameDecisions(ctx context.Context, acceso, opa target) (string, error) {
	outcomes := map[string]int{}
	findings := 0
	for i := range acceso.bodies {
		a, err := post(ctx, acceso.url, acceso.bodies[i])
		if err != nil {
			return "", fmt.Errorf("%s, mix line %d: %w", acceso.name, i+1, err)
		}
		o, err := post(ctx, opa.url, opa.bodies[i])
		if err != nil {
			return "", fmt.Errorf("%s, mix line %d: %w", opa.name, i+1, err)
		}
		da, err := interop.FromAPI(a)
		if err != nil {
			return "", fmt.Errorf("%s, mix line %d: %w", acceso.name, i+1, err)
		}
		if opa.adhoc {
			if o, err = fromQueryAPI(o); err != nil {
				return "", fmt.Errorf("%s, mix line %d: %w", opa.name, i+1, err)
			}
		}
		do, err := interop.FromOPAServer(o)
		if err != nil {
			return "", fmt.Errorf("%s, mix line %d: %w", opa.name, i+1, err)
		}
		if fmt.Sprint(da) != fmt.Sprint(do) {
			return "", fmt.Errorf("mix line %d %s:\n%s decides %+v\n%s decides %+v", i+1, acceso.bodies[i], acceso.name, da, opa.name, do)
		}
		outcomes[da.Outcome]++
		findings += len(da.Findings)
	}
	var parts []string
	for _, o := range slices.Sorted(maps.Keys(outcomes)) {
		parts = append(parts, fmt.Sprintf("%s %d", o, outcomes[o]))
	}
	return fmt.Sprintf("outcomes: %s; %d findings", strings.Join(parts, ", "), findings), nil
}

func post(ctx context.Context, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %d: %s", resp.StatusCode, b)
	}
	return b, nil
}

// download saves what url answers a bearer token to path.
func download(ctx context.Context, url, token, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, b)
	}
	return os.WriteFile(path, b, 0o600)
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

// readsHint is the default topic (the first GET /api/v1/causes lists) and
// the value Acceso's engine gives its data.<topic>._reads: each of the
// topic's causes' id and the facts it reads, as the catalog lists them.
func readsHint(ctx context.Context, base string) (string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/causes", nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	var cat struct {
		Topics []struct {
			ID string `json:"id"`
		} `json:"topics"`
		Causes []struct {
			ID    string   `json:"id"`
			Topic string   `json:"topic"`
			Facts []string `json:"facts"`
		} `json:"causes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil {
		return "", nil, fmt.Errorf("GET /api/v1/causes: %w", err)
	}
	if len(cat.Topics) == 0 {
		return "", nil, errors.New("GET /api/v1/causes lists no topic")
	}
	topic := cat.Topics[0].ID
	reads := make(map[string][]string, len(cat.Causes))
	for _, c := range cat.Causes {
		if c.Topic == topic {
			reads[c.ID] = append([]string{}, c.Facts...)
		}
	}
	hint, err := json.Marshal(reads)
	return topic, hint, err
}

// hintedQuery turns a data API body ({"input": …}) into a query API body
// asking for the topic's decision with the hint, as Acceso's engine does.
func hintedQuery(topic string, hint, body []byte) ([]byte, error) {
	var in struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"query": "x := " + interop.DecisionQuery(topic) + " with data." + topic + "._reads as " + string(hint),
		"input": in.Input,
	})
}

// fromQueryAPI turns the query API's answer for x into the data API's
// shape ({"result": x}); an answer with no binding of x is an error.
func fromQueryAPI(body []byte) ([]byte, error) {
	var r struct {
		Result []struct {
			X json.RawMessage `json:"x"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	if len(r.Result) != 1 || r.Result[0].X == nil {
		return nil, fmt.Errorf("no decision in %s", body)
	}
	return json.Marshal(map[string]json.RawMessage{"result": r.Result[0].X})
}
