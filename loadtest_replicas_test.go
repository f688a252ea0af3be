package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"acceso/answer"
	"acceso/internal/pgtest"
)

// TestReplicasThroughput measures the requests per second of POST
// /api/v1/evaluate on one replica and on three sharing one PostgreSQL, on
// this machine, with 16 clients for 5 s each (the numbers in README's
// "Running several replicas"). It runs only with ACCESO_LOADTEST=1.
func TestReplicasThroughput(t *testing.T) {
	if os.Getenv("ACCESO_LOADTEST") != "1" {
		t.Skip("a load test: run with ACCESO_LOADTEST=1")
	}
	url := pgtest.Start(t).NewDatabase(t)
	bin := buildTool(t, t.TempDir(), "acceso", ".")
	var reps []*process
	for range 3 {
		reps = append(reps, serveBinary(t, bin, freeAddr(t), "--database", url))
	}
	const body = `{"symptom":"code_not_received","lang":"en","facts":{"identifier":"Ana@Example.com ","registered_emails":["ana@example.com"],"channels_tried":["email"],"spam_checked":false}}`
	for _, n := range []int{1, 3} {
		var ok, failed atomic.Int64
		var statuses sync.Map // what the failed requests were answered → how many
		count := func(what string) {
			n, _ := statuses.LoadOrStore(what, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
		stop := time.Now().Add(5 * time.Second)
		var wg sync.WaitGroup
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		for c := range 16 {
			wg.Go(func() {
				for i := c; time.Now().Before(stop); i++ {
					resp, err := client.Post("http://"+reps[i%n].addr+"/api/v1/evaluate", "application/json", bytes.NewReader([]byte(body)))
					if err != nil {
						failed.Add(1)
						count("transport error")
						continue
					}
					var e answer.ErrorBody
					if resp.StatusCode != http.StatusOK {
						json.NewDecoder(resp.Body).Decode(&e)
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						ok.Add(1)
					} else {
						failed.Add(1)
						count(fmt.Sprint(resp.StatusCode, " ", e.Error.Code))
					}
				}
			})
		}
		wg.Wait()
		var why []string
		statuses.Range(func(k, v any) bool {
			why = append(why, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
			return true
		})
		slices.Sort(why)
		t.Logf("%d replica(s): %.0f requests/s, %d failed %v", n, float64(ok.Load())/5, failed.Load(), why)
	}
}
