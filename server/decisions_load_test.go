package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"acceso/apikey"
	"acceso/knowledge"
	"acceso/store"
)

// TestDecisionLookupLoad measures GET /api/v1/decisions/{reference} (key
// checked, decision read, continued for its open questions, worded) with
// a million kept decisions on SQLite, beside the same look-up among a
// thousand and GET /healthz on the same kind of server, in rotating
// rounds so that the machine's other load falls on all three alike. It
// runs only with ACCESO_LOADTEST set to the measuring time per round and
// target:
//
//	ACCESO_LOADTEST=5s go test ./server -run DecisionLookupLoad -v -timeout 30m
//
// ACCESO_LOADTEST_ROWS changes the million. Figures are in BENCHMARKS.md.
func TestDecisionLookupLoad(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("ACCESO_LOADTEST"))
	if err != nil || d <= 0 {
		t.Skip("set ACCESO_LOADTEST to a duration (e.g. 5s) to measure")
	}
	rows := 1_000_000
	if v := os.Getenv("ACCESO_LOADTEST_ROWS"); v != "" {
		if _, err := fmt.Sscan(v, &rows); err != nil || rows < 1000 {
			t.Fatalf("ACCESO_LOADTEST_ROWS=%q: want a number of at least 1000", v)
		}
	}
	type target struct {
		name string
		ts   *testServer
		key  string
		refs []string
		path func(ref string) string
		lat  []time.Duration
	}
	seeded := func(n int) (*testServer, string, []string) {
		ts := newTestServerIn(t, t.TempDir())
		t.Cleanup(ts.Close)
		start := time.Now()
		refs := seedKept(t, ts.db, ts.policy.Revision, n)
		t.Logf("%d decisions kept in %v", n, time.Since(start).Round(time.Millisecond))
		key, err := apikey.Add(context.Background(), ts.db, "load", []string{apikey.ScopeDecisionsRead}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ts, key, refs
	}
	bigTS, bigKey, bigRefs := seeded(rows)
	smallTS, smallKey, smallRefs := seeded(1000)
	lookup := func(ref string) string { return "/api/v1/decisions/" + ref + "?lang=en" }
	targets := []*target{
		{name: fmt.Sprintf("decision, %d kept", rows), ts: bigTS, key: bigKey, refs: bigRefs, path: lookup},
		{name: "decision, 1000 kept", ts: smallTS, key: smallKey, refs: smallRefs, path: lookup},
		{name: "healthz", ts: bigTS, refs: []string{""}, path: func(string) string { return "/healthz" }},
	}
	const workers, rounds = 4, 3
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	measure := func(tg *target, dur time.Duration, keep bool) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := time.Now().Add(dur)
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				var mine []time.Duration
				for time.Now().Before(stop) {
					req, _ := http.NewRequest(http.MethodGet, tg.ts.URL+tg.path(tg.refs[rng.IntN(len(tg.refs))]), nil)
					if tg.key != "" {
						req.Header.Set("Authorization", "Bearer "+tg.key)
					}
					start := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						t.Errorf("%s: %v", tg.name, err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					took := time.Since(start)
					if resp.StatusCode != http.StatusOK {
						t.Errorf("%s: GET %s = %d %s; want 200", tg.name, req.URL.Path, resp.StatusCode, body)
						return
					}
					mine = append(mine, took)
				}
				if keep {
					mu.Lock()
					tg.lat = append(tg.lat, mine...)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	for _, tg := range targets {
		measure(tg, time.Second, false) // warm-up: connections, caches, pages
	}
	perRound := make([][]time.Duration, len(targets))
	for range rounds {
		for i, tg := range targets {
			n := len(tg.lat)
			measure(tg, d, true)
			perRound[i] = append(perRound[i], percentile(tg.lat[n:], 50))
		}
	}
	t.Logf("%d workers, %d rounds of %v per target", workers, rounds, d)
	t.Logf("| target | requests/s | p50 | p99 | p50 per round |")
	t.Logf("|---|---:|---:|---:|---|")
	for i, tg := range targets {
		t.Logf("| %s | %.0f | %s | %s | %v |", tg.name, float64(len(tg.lat))/(rounds*d.Seconds()),
			ms(percentile(tg.lat, 50)), ms(percentile(tg.lat, 99)), perRound[i])
	}
	// The store's part alone, in this process: one read by reference.
	for _, tg := range targets[:2] {
		var lat []time.Duration
		for i := range 20_000 {
			start := time.Now()
			if _, err := tg.ts.db.Decision(context.Background(), tg.refs[(i*7919)%len(tg.refs)]); err != nil {
				t.Fatalf("Decision = %v", err)
			}
			lat = append(lat, time.Since(start))
		}
		t.Logf("DB.Decision, %s: p50 %s, p99 %s", tg.name, ms(percentile(lat, 50)), ms(percentile(lat, 99)))
	}
	big, small := targets[0], targets[1]
	t.Logf("p50 %s / 1000 kept: %.2f×; p99: %.2f×", big.name, ratio(big.lat, small.lat, 50), ratio(big.lat, small.lat, 99))
}

// seedKept keeps n decisions in db, in transactions of 20,000 (the
// store's own multi-row inserts), with references drawn as the server
// draws them (the store keeps the first of two that collide), and returns
// their references.
func seedKept(tb testing.TB, db *store.DB, revision string, n int) []string {
	tb.Helper()
	facts := []map[string]any{
		{"channels_tried": []string{"email", "sms"}, "spam_checked": true, "online": true},
		{"channels_tried": []string{"email"}, "spam_checked": false},
		{"incognito": false, "cookies_autodelete": true},
		{"vpn": true, "used_latest_code": true},
	}
	symptoms := []string{"code_not_received", "code_not_received", "code_needed_often", "code_not_accepted"}
	at := time.Now().UTC().Add(-time.Hour)
	refs := make([]string, 0, n)
	const batch = 20_000
	decs := make([]store.Kept, 0, batch)
	var seed [8]byte
	for i := range n {
		binary.LittleEndian.PutUint64(seed[:], uint64(i))
		h := sha256.Sum256(seed[:])
		ref := knowledge.ReferenceOf(h[:])
		refs = append(refs, ref)
		decs = append(decs, store.Kept{Reference: ref, At: at, Source: "site", Revision: revision,
			Symptom: symptoms[i%4], Facts: facts[i%4], Findings: []string{}, Outcome: knowledge.OutcomeNeedsAnswers})
		if len(decs) == batch || i == n-1 {
			if _, err := db.AddDecisions(context.Background(), decs); err != nil {
				tb.Fatalf("AddDecisions = %v", err)
			}
			decs = decs[:0]
		}
	}
	return refs
}

// percentile is the p-th percentile of lat.
func percentile(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// ratio is the p-th percentile of a over b's.
func ratio(a, b []time.Duration, p int) float64 {
	return float64(percentile(a, p)) / float64(percentile(b, p))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
