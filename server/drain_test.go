package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestShutdownAnswersEveryRequest shuts a server down (as SIGTERM does)
// three times under load from keep-alive clients and clients that close
// their connection after each request: every request that reached the
// server is answered; only connections refused after the listener
// closed go without an answer, and they never sent their request. Where
// the kernel refuses the socket filter (DrainsBacklog), a client opening
// a connection at the instant the listener closes may be reset: those are
// counted apart and logged; the keep-alive clients must lose none.
func TestShutdownAnswersEveryRequest(t *testing.T) {
	var totalAnswered, totalRefused int64
	for round := range 3 {
		s, _, _, _ := newServer(t, Config{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String()
		s.Echo().Listener = ln
		ctx, stop := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- s.Run(ctx, 10*time.Second) }()

		var answered, others, refused, unanswered, resetOnOpen atomic.Int64
		var lastErr, stopped atomic.Value
		stopped.Store(time.Now().Add(time.Hour))
		var clients sync.WaitGroup
		for c := range 10 {
			closeEach := c >= 8 // two clients say Connection: close
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: closeEach}, Timeout: 20 * time.Second}
			clients.Go(func() {
				defer client.CloseIdleConnections()
				for i := 0; ; i++ {
					body := bundleSamples[(c+i)%len(bundleSamples)]
					resp, err := client.Post(url+"/api/v1/evaluate", "application/json", strings.NewReader(body))
					if err != nil {
						if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Op == "dial" {
							refused.Add(1) // the listener is closed: nothing was sent
							return
						}
						if closeEach && !DrainsBacklog() {
							resetOnOpen.Add(1)
						} else {
							unanswered.Add(1)
						}
						t.Logf("round %d: client %d (keep-alive %v): unanswered %v after shutdown began: %v", round, c, !closeEach, time.Since(stopped.Load().(time.Time)), err)
						lastErr.Store(err.Error())
						continue
					}
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil {
						unanswered.Add(1) // the answer was cut
						lastErr.Store(err.Error())
						continue
					}
					answered.Add(1)
					if resp.StatusCode != http.StatusOK {
						others.Add(1) // answered all the same (503 overloaded)
					}
				}
			})
		}
		time.Sleep(time.Second)
		stopped.Store(time.Now())
		stop()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("round %d: Run = %v; want nil after a graceful shutdown", round, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: Run did not return", round)
		}
		clients.Wait()
		s.Close()
		t.Logf("round %d: %d answered (%d not 200), %d unanswered, %d new connections reset as the listener closed (no socket filter), %d clients refused after it closed",
			round, answered.Load(), others.Load(), unanswered.Load(), resetOnOpen.Load(), refused.Load())
		if unanswered.Load() != 0 {
			t.Errorf("round %d: %d requests unanswered (last: %v); want 0", round, unanswered.Load(), lastErr.Load())
		}
		totalAnswered += answered.Load()
		totalRefused += refused.Load()
	}
	t.Logf("%d answered over 3 shutdowns, %d connections refused once the listener was closed", totalAnswered, totalRefused)
}
