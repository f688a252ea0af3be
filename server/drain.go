package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// How a shutdown answers every request already received (Run):
//
//  1. The listener stops accepting. Closing it at once would reset the
//     connections the kernel has completed but the server not yet taken
//     (its backlog), with their requests unread: on Linux a socket filter
//     first makes the kernel drop new connections' SYNs
//     (refuseNewConnections) while those under way complete and are
//     accepted; where the filter is refused, the queue is swept (each
//     connection found within a millisecond of the last, for at most
//     drainSweep) and the listener closed.
//  2. Then (not before, or clients would reconnect into the closing
//     listener) /readyz answers 503 "shutting down" and every answer says
//     Connection: close, so that a client drops its connection after the
//     answer instead of sending another request on it; its next
//     connection is refused, with nothing sent.
//  3. Connections with a request on its way get up to drainQuiet to send
//     it: shutdown waits until every connection still open has been idle
//     that long (or closed after its answer), at most drainMax.
//  4. http.Server.Shutdown then closes the idle connections and waits for
//     the requests in flight to be answered, up to the grace period.
//
// A keep-alive connection idle for longer than drainQuiet whose client
// sends a request at the very moment it is closed may still see it closed:
// HTTP/1.1 has no way to tell a client "do not send"; clients retry such a
// request (idempotent ones do so by themselves).
const (
	drainQuiet = 250 * time.Millisecond
	drainMax   = 5 * time.Second
	// drainLinger is how long the listener keeps accepting once told to
	// stop: long enough to take in its backlog, connections the kernel
	// completed already.
	drainLinger = 20 * time.Millisecond
)

// closeWhenDraining says Connection: close on every answer once shutdown
// has begun.
func (s *Server) closeWhenDraining(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.draining.Load() {
			c.Response().Header().Set(echo.HeaderConnection, "close")
		}
		return next(c)
	}
}

// connTracker follows the connections of an http.Server (its ConnState
// hook): which are open and since when each is idle.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]connSeen
}

type connSeen struct {
	state http.ConnState
	since time.Time
}

func newConnTracker() *connTracker { return &connTracker{conns: make(map[net.Conn]connSeen)} }

// track is the http.Server's ConnState hook.
func (t *connTracker) track(c net.Conn, state http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(t.conns, c)
	default:
		t.conns[c] = connSeen{state, time.Now()}
	}
}

// quiet reports whether every open connection has been idle (or new and
// silent) for at least d.
func (t *connTracker) quiet(d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		if c.state == http.StateActive || time.Since(c.since) < d {
			return false
		}
	}
	return true
}

// waitQuiet waits until the connections are quiet for drainQuiet, ctx is
// done or drainMax has passed.
func (t *connTracker) waitQuiet(ctx context.Context) {
	deadline := time.Now().Add(drainMax)
	for !t.quiet(drainQuiet) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// drainListener is a listener whose Close first accepts what the kernel
// has already queued (see Run); a connection accepted then is served like
// any other.
type drainListener struct {
	net.Listener
	mu      sync.Mutex
	closing bool
	closeBy time.Time
	linger  time.Duration
	closed  chan struct{}
	once    sync.Once
}

// deadliner is a listener whose Accept can be given a deadline
// (*net.TCPListener).
type deadliner interface {
	SetDeadline(time.Time) error
}

func newDrainListener(ln net.Listener) *drainListener {
	return &drainListener{Listener: ln, closed: make(chan struct{})}
}

// drainSweep bounds how long a closing listener keeps taking in queued
// connections when new ones keep arriving (no socket filter).
const drainSweep = 50 * time.Millisecond

// Accept accepts a connection. Once Close was called, it takes in the
// connections queued, each found within the linger of the one before,
// for at most drainSweep, then closes the listener.
func (l *drainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		return c, nil
	}
	l.mu.Lock()
	closing, closeBy, linger := l.closing, l.closeBy, l.linger
	l.mu.Unlock()
	ne, ok := errors.AsType[net.Error](err)
	if !ok || !ne.Timeout() || !closing {
		return nil, err
	}
	// The deadline passed, maybe before Accept looked at the queue: look
	// once more, briefly.
	if d, ok := l.Listener.(deadliner); ok && time.Now().Before(closeBy) {
		_ = d.SetDeadline(time.Now().Add(linger))
		if c, err := l.Listener.Accept(); err == nil {
			return c, nil
		}
	}
	_ = l.shut()
	return nil, net.ErrClosed
}

// Close stops accepting once the queued connections are taken in: at
// once when the listener cannot be given a deadline, else when Accept
// finds nothing within the linger (drainLinger where the kernel takes no
// new connections, refuseNewConnections; a millisecond elsewhere).
func (l *drainListener) Close() error {
	d, ok := l.Listener.(deadliner)
	l.mu.Lock()
	already := l.closing
	l.closing = true
	l.closeBy = time.Now().Add(drainSweep)
	l.linger = time.Millisecond
	l.mu.Unlock()
	if already {
		return nil // http.Server.Shutdown closes it again
	}
	if !ok {
		return l.shut()
	}
	if refuseNewConnections(l.Listener) {
		l.mu.Lock()
		l.linger = drainLinger
		l.mu.Unlock()
	}
	// Wakes an Accept blocked without a deadline.
	return d.SetDeadline(time.Now().Add(l.linger))
}

// waitClosed waits until the listener is closed, at most d.
func (l *drainListener) waitClosed(d time.Duration) {
	select {
	case <-l.closed:
	case <-time.After(d):
	}
}

func (l *drainListener) shut() error {
	var err error
	l.once.Do(func() {
		err = l.Listener.Close()
		close(l.closed)
	})
	return err
}

// DrainsBacklog reports whether this kernel lets a shutdown refuse new
// connections while it takes in those already under way (Linux's socket
// filters, refuseNewConnections). Where it does not, a client that opens a
// connection at the very instant the listener closes may see it reset;
// requests on connections already open are answered either way.
var DrainsBacklog = sync.OnceValue(func() bool {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false
	}
	defer ln.Close()
	return refuseNewConnections(ln)
})
