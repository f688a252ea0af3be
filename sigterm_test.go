package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"acceso/server"
	"acceso/store"
)

// TestSIGTERMAnswersEveryRequest runs acceso serve, loads it with
// keep-alive clients and clients that close each connection, and sends it
// SIGTERM, twice: every request it received is answered (a client's only
// error is a connection refused once the listener closed, with nothing
// sent), it exits 0, and every reference it answered finds its decision
// in the database afterwards (written before it exited). Where the kernel
// refuses the socket filter (server.DrainsBacklog), a close-each client
// opening a connection at the instant the listener closes may be reset:
// counted apart and logged; the keep-alive clients must lose none.
func TestSIGTERMAnswersEveryRequest(t *testing.T) {
	bin := buildTool(t, t.TempDir(), "acceso", ".")
	for round := range 2 {
		data := t.TempDir()
		addr := freeAddr(t)
		cmd := exec.Command(bin, "serve", "--addr", addr, "--data", data, "--api-rate", "100000")
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		waitReady(t, "http://"+addr+"/readyz", done, func() string { return logs.String() })

		var mu sync.Mutex
		var refs []string
		var unanswered, refused, resetOnOpen atomic.Int64
		var lastErr, signalled atomic.Value
		signalled.Store(time.Now().Add(time.Hour))
		var clients sync.WaitGroup
		for c := range 8 {
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: c >= 6}, Timeout: 30 * time.Second}
			clients.Go(func() {
				defer client.CloseIdleConnections()
				for {
					resp, err := client.Post("http://"+addr+"/api/v1/evaluate", "application/json",
						strings.NewReader(`{"symptom":"code_not_received","facts":{"spam_checked":false}}`))
					if err != nil {
						if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Op == "dial" {
							refused.Add(1)
							return
						}
						if c >= 6 && !server.DrainsBacklog() {
							resetOnOpen.Add(1)
						} else {
							unanswered.Add(1)
						}
						lastErr.Store(err.Error())
						t.Logf("round %d: client %d (keep-alive %v): unanswered %v after SIGTERM: %v", round, c, c < 6, time.Since(signalled.Load().(time.Time)), err)
						continue
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						unanswered.Add(1)
						lastErr.Store(err.Error())
						continue
					}
					var r struct{ Reference string }
					if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &r) == nil {
						mu.Lock()
						refs = append(refs, r.Reference)
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(time.Second)
		signalled.Store(time.Now())
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: acceso serve did not exit 30 s after SIGTERM", round)
		}
		clients.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("round %d: exit code %d after SIGTERM; want 0\n%s", round, code, logs.String())
		}
		if unanswered.Load() != 0 {
			t.Errorf("round %d: %d requests unanswered (last: %v); want 0", round, unanswered.Load(), lastErr.Load())
		}
		db, err := store.Open(context.Background(), data)
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, ref := range refs {
			if _, err := db.Decision(context.Background(), ref); err != nil {
				missing++
			}
		}
		db.Close()
		if missing != 0 {
			t.Errorf("round %d: %d of %d references answered find no decision after SIGTERM; want every one kept", round, missing, len(refs))
		}
		t.Logf("round %d: %d answered with a reference, %d unanswered, %d new connections reset as the listener closed (no socket filter), %d clients refused after it closed, %d references without their decision",
			round, len(refs), unanswered.Load(), resetOnOpen.Load(), refused.Load(), missing)
	}
}
