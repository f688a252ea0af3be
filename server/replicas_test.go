package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"acceso/answer"
	"acceso/internal/pgtest"
	"acceso/knowledge"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/admin"
	"acceso/store"
)

// replica is one Acceso server of several sharing a PostgreSQL database.
type replica struct {
	*testServer
	pub *publish.Publisher
}

// startReplicas starts n servers on the database at url, each following
// the others' publishes, until the test ends.
func startReplicas(t *testing.T, url string, n int) []*replica {
	t.Helper()
	return startReplicasFollowing(t, url, n, true)
}

// startReplicasFollowing is startReplicas; with follow false, the servers
// do not run Follow: they learn of another's publish only when they catch
// up by themselves (a publish, an admin page).
func startReplicasFollowing(t *testing.T, url string, n int, follow bool) []*replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var reps []*replica
	for i := range n {
		db, err := store.OpenURL(ctx, url)
		if err != nil {
			t.Fatalf("replica %d: OpenURL = %v", i, err)
		}
		t.Cleanup(func() { db.Close() })
		logs := &syncBuffer{}
		log := slog.New(slog.NewJSONHandler(logs, nil)).With("replica", i)
		// The test is about agreement, not speed: on a machine busy with
		// other tests, an evaluation may pass the server's 250 ms.
		pub, err := publish.Load(ctx, publish.Config{Follow: true, Deadline: 10 * time.Second}, db, log)
		if err != nil {
			t.Fatalf("replica %d: publish.Load = %v", i, err)
		}
		s := mustNew(t, Config{APIRate: 1e6, APIBurst: 1e6, TrustedProxies: []string{"127.0.0.0/8"}}, pub, db, log)
		t.Cleanup(s.Close)
		hs := httptest.NewServer(s.Handler())
		t.Cleanup(hs.Close)
		if follow {
			wg.Go(func() { pub.Follow(ctx) })
		}
		reps = append(reps, &replica{testServer: &testServer{Server: s, URL: hs.URL, db: db, logs: logs}, pub: pub})
	}
	return reps
}

// variantSource is the embedded rules with a comment of its own: another
// revision that decides alike.
func variantSource(n int) knowledge.Source {
	src := rules.Embedded().Clone()
	src.Modules["rules/login/decision.rego"] += fmt.Sprintf("\n# variant %d\n", n)
	return src
}

// TestReplicasAgree runs three replicas on one PostgreSQL database while
// four clients spread over them and 20 publishes and rollbacks happen on
// different replicas: no request fails, every answer comes from a
// revision that was published, and after the last publish every replica
// serves it (the time it took is logged).
func TestReplicasAgree(t *testing.T) {
	url := pgtest.Start(t).NewDatabase(t)
	reps := startReplicas(t, url, 3)
	ctx := context.Background()

	var mu sync.Mutex
	published := map[string]bool{reps[0].engine.Current().Revision: true}
	stop := make(chan struct{})
	var requests, failed atomic.Int64
	var clients sync.WaitGroup
	var seen sync.Map // revision → true
	for c := range 4 {
		clients.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := reps[(c+i)%len(reps)]
				resp, body := r.do(t, evaluate(bundleSamples[i%len(bundleSamples)]))
				requests.Add(1)
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					t.Errorf("client %d, replica %d: POST /api/v1/evaluate = %d\n%.300s", c, (c+i)%len(reps), resp.StatusCode, body)
					continue
				}
				seen.Store(revisionOf(t, body), true)
			}
		})
	}

	var last string
	for i := range 20 {
		r := reps[i%len(reps)]
		var rev store.Revision
		var err error
		mu.Lock()
		if i%4 == 3 { // a rollback to the revision published two steps ago
			var list []store.Revision
			if list, err = r.db.Revisions(ctx, 3); err == nil {
				rev, err = r.pub.Rollback(ctx, list[2].Seq, "luis")
			}
		} else {
			rev, _, err = r.pub.Publish(ctx, publish.Change{Source: variantSource(i), Admin: "ana", Note: fmt.Sprint("publish ", i)})
		}
		if err == nil {
			published[rev.ID] = true
			last = rev.ID
		}
		mu.Unlock()
		if err != nil {
			t.Fatalf("publish %d on replica %d = %v", i, i%len(reps), err)
		}
		time.Sleep(150 * time.Millisecond)
	}

	// Replicas follow within about a second (README); the bound is wider
	// for a busy machine, and the time taken is logged.
	lastPublished := time.Now()
	deadline := lastPublished.Add(30 * time.Second)
	for _, r := range reps {
		for r.engine.Current().Revision != last {
			if time.Now().After(deadline) {
				t.Fatalf("30 s after the last publish, a replica serves %s; want %s", r.engine.Current().Revision, last)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("every replica served the last publish %v after it", time.Since(lastPublished).Round(time.Millisecond))
	close(stop)
	clients.Wait()
	for i, r := range reps {
		_, body := r.do(t, evaluate(`{}`))
		if rev := revisionOf(t, body); rev != last {
			t.Errorf("replica %d answers with %s after the last publish; want %s", i, rev, last)
		}
	}
	seen.Range(func(k, _ any) bool {
		if !published[k.(string)] {
			t.Errorf("an answer came from revision %s, which was never published", k)
		}
		return true
	})
	if failed.Load() > 0 || requests.Load() < 20 {
		t.Errorf("%d of %d requests failed; want 0 of at least 20", failed.Load(), requests.Load())
	}
	t.Logf("%d requests over 3 replicas during 20 publishes and rollbacks, 0 failed", requests.Load())
}

// TestReplicasShareTheSignInThrottle fails sign-ins on one replica and
// finds the name throttled on another.
func TestReplicasShareTheSignInThrottle(t *testing.T) {
	url := pgtest.Start(t).NewDatabase(t)
	reps := startReplicas(t, url, 2)
	if err := addTestAdmin(reps[0].db, testAdmin); err != nil {
		t.Fatal(err)
	}
	attempt := func(r *replica, n int, password string) int {
		a := newAdminClient(t, r.testServer)
		form := a.formOf(t, "/admin/signin")
		form.Set("name", testAdmin)
		form.Set("password", password)
		resp, _ := a.do(t, http.MethodPost, "/admin/signin", form, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", n))
		return resp.StatusCode
	}
	for i := range admin.SignInFreeFailures {
		if got := attempt(reps[0], i, "wrong"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d on replica 0 = %d; want 401", i+1, got)
		}
	}
	if got := attempt(reps[1], 99, testPassword); got != http.StatusTooManyRequests {
		t.Errorf("the right password on replica 1 after %d failures on replica 0 = %d; want 429", admin.SignInFreeFailures, got)
	}
}

// revisionOf returns the policy revision an answer of POST /api/v1/evaluate
// was decided by. It may be called from any goroutine.
func revisionOf(tb testing.TB, body []byte) string {
	var r answer.Response
	if err := json.Unmarshal(body, &r); err != nil {
		tb.Errorf("the API's answer %.200s: %v", body, err)
	}
	return r.PolicyRevision
}
