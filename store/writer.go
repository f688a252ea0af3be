package store

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DecisionWriter keeps decisions off the request path: Add queues one and
// returns at once; a goroutine writes the queue in batches, every flush
// interval or as soon as a batch is full. While the database cannot be
// written (down, disk full, locked), decisions wait in memory, up to
// WriterConfig.Queue of them, and the writer tries again with a backoff of
// at most a quarter of a second; once it can write, the waiting decisions are
// written, oldest first. A decision beyond the bound, or one the database
// refuses for good, is dropped and counted (Dropped); every decision Add
// is given is either stored or counted. An outage is logged once when it
// starts and once when it ends, with what it cost.
type DecisionWriter struct {
	db  *DB
	cfg WriterConfig
	log *slog.Logger

	mu sync.Mutex
	// queue are the decisions waiting, as rows ready to write, oldest
	// first; writeAll reads its head without the lock (see there).
	queue []decisionRow
	// outage is when the current outage began (zero: none); lost counts
	// the decisions dropped since, and full whether the bound was met.
	outage  time.Time
	lastErr error
	lost    int64
	full    bool

	failing    atomic.Bool
	lastWrite  atomic.Int64 // when a write last worked, Unix nanoseconds
	dropped    atomic.Int64
	stored     atomic.Int64
	collisions atomic.Int64

	wake    chan struct{}
	flush   chan chan struct{}
	stop    chan time.Time
	stopped chan struct{}
	closed  sync.Once
}

// WriterConfig is how a DecisionWriter writes.
type WriterConfig struct {
	// Batch is how many decisions make a write as soon as they wait.
	Batch int
	// Every is how often what waits is written, batch full or not.
	Every time.Duration
	// Queue bounds the decisions waiting in memory; zero means
	// DefaultDecisionQueue.
	Queue int
	// Log hears of outages; nil logs nothing.
	Log *slog.Logger
}

// DefaultDecisionQueue is how many decisions may wait in memory for the
// database: 100,000, about 35 MB, a 60 s outage at 1,600 decisions/s.
const DefaultDecisionQueue = 100_000

// maxWrite bounds the decisions of one transaction when a backlog is
// written after an outage.
const maxWrite = 2048

// maxBackoff is the longest wait between two tries while the database
// cannot be written: it is back in use within that (plus one write).
const maxBackoff = 250 * time.Millisecond

// NewDecisionWriter starts a writer.
func NewDecisionWriter(db *DB, cfg WriterConfig) *DecisionWriter {
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultDecisionQueue
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	w := &DecisionWriter{db: db, cfg: cfg, log: cfg.Log, wake: make(chan struct{}, 1),
		flush: make(chan chan struct{}), stop: make(chan time.Time), stopped: make(chan struct{})}
	w.lastWrite.Store(time.Now().UnixNano())
	go w.run()
	return w
}

// Add queues a decision; it never blocks. A decision that cannot wait (the
// queue is at its bound, or it cannot be written as a row) is counted as
// dropped.
func (w *DecisionWriter) Add(d Kept) {
	row, err := rowOf(d)
	if err != nil {
		w.drop(1, "a decision cannot be written as a row", err)
		return
	}
	w.mu.Lock()
	if len(w.queue) >= w.cfg.Queue {
		w.dropLocked(1)
		w.mu.Unlock()
		return
	}
	w.queue = append(w.queue, row)
	n := len(w.queue)
	w.mu.Unlock()
	if n >= w.cfg.Batch {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// drop counts n decisions dropped for a reason of their own (not an
// outage), and logs it.
func (w *DecisionWriter) drop(n int, msg string, err error) {
	w.dropped.Add(int64(n))
	w.log.Error(msg+"; counted in acceso_decisions_dropped_total", "count", n, "err", err)
}

// dropLocked counts n decisions dropped because the queue is full; the
// first of an outage is logged. w.mu must be held.
func (w *DecisionWriter) dropLocked(n int) {
	w.dropped.Add(int64(n))
	w.lost += int64(n)
	if !w.full {
		w.full = true
		w.log.Error("decisions are being dropped: the queue waiting for the database is full; counted in acceso_decisions_dropped_total",
			"bound", w.cfg.Queue, "err", errString(w.lastErr))
	}
}

// Dropped is how many decisions were not stored: the queue was full, or
// the database refused them for good.
func (w *DecisionWriter) Dropped() int64 { return w.dropped.Load() }

// Stored is how many decisions were written.
func (w *DecisionWriter) Stored() int64 { return w.stored.Load() }

// Collisions is how many decisions were not stored because their reference
// was kept already for another decision (also counted in Dropped).
func (w *DecisionWriter) Collisions() int64 { return w.collisions.Load() }

// Waiting is how many decisions wait to be written.
func (w *DecisionWriter) Waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// backlog is how many decisions may wait before the writer counts as
// falling behind (Healthy): two full batches, and at least 4,096.
func (w *DecisionWriter) backlog() int { return max(2*w.cfg.Batch, 4096) }

// Healthy reports whether decisions are being stored: the last write
// worked, and the queue is not backing up (more than a backlog waiting
// with no write done for a second). A backlog being written after an
// outage is healthy: writes work. reason says why not.
func (w *DecisionWriter) Healthy() (ok bool, reason string) {
	if w.failing.Load() {
		return false, "decisions cannot be stored; they wait in memory"
	}
	if w.Waiting() > w.backlog() && time.Since(time.Unix(0, w.lastWrite.Load())) > time.Second {
		return false, "decisions are waiting to be stored"
	}
	return true, ""
}

// Flush writes what is queued and returns when it is written, or when a
// write failed (the decisions then still wait).
func (w *DecisionWriter) Flush() {
	ack := make(chan struct{})
	select {
	case w.flush <- ack:
		<-ack
	case <-w.stopped:
	}
}

// Close writes what is queued, trying until ctx is done, and stops the
// writer; what could not be written by then is dropped, counted and
// logged. Add must not be called after Close.
func (w *DecisionWriter) Close(ctx context.Context) {
	w.closed.Do(func() {
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(time.Minute)
		}
		w.stop <- deadline
		<-w.stopped
	})
}

func (w *DecisionWriter) run() {
	defer close(w.stopped)
	tick := time.NewTicker(w.cfg.Every)
	defer tick.Stop()
	var acks []chan struct{}
	var backoff time.Duration
	var nextTry time.Time
	for {
		var retry <-chan time.Time
		if backoff > 0 {
			retry = time.After(time.Until(nextTry))
		}
		select {
		case <-w.wake:
		case <-tick.C:
		case <-retry:
		case ack := <-w.flush:
			acks = append(acks, ack)
		case deadline := <-w.stop:
			w.closeBy(deadline)
			for _, ack := range acks {
				close(ack)
			}
			return
		}
		if backoff > 0 && len(acks) == 0 && time.Now().Before(nextTry) {
			continue // a write was refused: wait for the retry
		}
		if w.writeAll() {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, 50*time.Millisecond), maxBackoff)
			nextTry = time.Now().Add(backoff)
		}
		for _, ack := range acks {
			close(ack)
		}
		acks = acks[:0]
	}
}

// closeBy writes what waits, trying until deadline, then drops the rest.
func (w *DecisionWriter) closeBy(deadline time.Time) {
	backoff := 50 * time.Millisecond
	for !w.writeAll() && time.Now().Add(backoff).Before(deadline) {
		time.Sleep(backoff)
		backoff = min(2*backoff, maxBackoff)
	}
	w.mu.Lock()
	n := len(w.queue)
	w.queue = nil
	w.mu.Unlock()
	if n > 0 {
		w.drop(n, "stopping: decisions could not be stored before the grace period ended", w.lastErr)
	}
}

// writeAll writes the queue, oldest first, in transactions of up to
// maxWrite decisions, and reports whether the queue is empty.
func (w *DecisionWriter) writeAll() bool {
	for {
		w.mu.Lock()
		n := min(len(w.queue), maxWrite)
		// The batch is the queue's head, read without the lock while it is
		// written: Add only appends after it, and only this goroutine
		// takes decisions off the queue.
		batch := w.queue[:n:n]
		w.mu.Unlock()
		if n == 0 {
			return true
		}
		err := w.write(batch)
		if err != nil && Unavailable(err) {
			w.failed(err)
			return false
		}
		w.mu.Lock()
		w.dequeue(n)
		w.mu.Unlock()
		if err != nil {
			// Not the storage: the rows themselves (a defect). Trying them
			// again would block the queue.
			w.drop(n, "decisions refused by the database", err)
			continue
		}
		w.recovered()
	}
}

// dequeue takes the n oldest decisions off the queue. Those that came in
// meanwhile, usually a few, move to the front, and the queue keeps its
// array for the next ones instead of growing a new one for every batch;
// a backlog (after an outage) is not moved, and once it is written its
// array is let go. w.mu must be held.
func (w *DecisionWriter) dequeue(n int) {
	rest := w.queue[n:]
	switch {
	case len(rest) > maxWrite:
		w.queue = rest
	case cap(w.queue) > 4*maxWrite:
		w.queue = slices.Clone(rest)
	default:
		k := copy(w.queue, rest)
		clear(w.queue[k:]) // the rows written, whose strings can go
		w.queue = w.queue[:k]
	}
}

// write stores one batch, counting what it stored and its collisions.
func (w *DecisionWriter) write(batch []decisionRow) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stored, err := w.db.addRows(ctx, batch, nil)
	if err != nil {
		return err
	}
	w.stored.Add(int64(stored))
	if lost := len(batch) - stored; lost > 0 {
		// Never expected: references are drawn from blocks no two servers
		// share (References). Each one is a defect worth a line.
		w.collisions.Add(int64(lost))
		w.drop(lost, "decisions not stored: their reference is kept for another decision", errCollision)
	}
	return nil
}

// failed notes a write refused by storage; the first of an outage is
// logged.
func (w *DecisionWriter) failed(err error) {
	w.failing.Store(true)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = err
	if w.outage.IsZero() {
		w.outage = time.Now()
		w.log.Error("decisions cannot be stored; they wait in memory and are written when the database is back",
			"waiting", len(w.queue), "bound", w.cfg.Queue, "err", err)
	}
}

// recovered notes a write that worked; the end of an outage is logged.
func (w *DecisionWriter) recovered() {
	w.lastWrite.Store(time.Now().UnixNano())
	w.failing.Store(false)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.outage.IsZero() {
		w.log.Info("decisions are stored again", "outage_s", time.Since(w.outage).Seconds(),
			"dropped", w.lost, "waiting", len(w.queue))
		w.outage, w.lost, w.lastErr = time.Time{}, 0, nil
	}
	if len(w.queue) < w.cfg.Queue/2 {
		w.full = false // the next time the queue is full is logged again
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
