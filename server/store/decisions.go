package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// decisionSchema keeps the decisions the site and the API made, by their
// reference, for support staff to look up: never a personal fact (the
// caller leaves them out; see Decision).
const decisionSchema = `
CREATE TABLE IF NOT EXISTS decisions (
	reference  TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL,
	source     TEXT NOT NULL,
	revision   TEXT NOT NULL,
	symptom    TEXT NOT NULL,
	facts      TEXT NOT NULL,
	findings   TEXT NOT NULL,
	outcome    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_created_at ON decisions (created_at);
`

// Decision is one decision as kept: its reference, when and where it was
// made (site or api), the revision that made it, its symptom (empty for
// all three), the facts it was made on (non-personal only: the caller
// filters them by their declarations), the causes found and the outcome.
type Decision struct {
	Reference string
	At        time.Time
	Source    string
	Revision  string
	Symptom   string
	Facts     map[string]any
	Findings  []string
	Outcome   string
	// ToTry is how many things to try the answer listed (insights).
	ToTry int
}

// AddDecisions stores decisions in one transaction. A reference already
// stored is left as it was.
func (d *DB) AddDecisions(ctx context.Context, decisions []Decision) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Several rows per statement: the statement's own cost, not the rows',
	// was most of the writing.
	for rows := range slices.Chunk(decisions, decisionsPerInsert) {
		args := make([]any, 0, decisionColumns*len(rows))
		for _, dec := range rows {
			facts, err := json.Marshal(dec.Facts)
			if err != nil {
				return fmt.Errorf("decision %s: %w", dec.Reference, err)
			}
			findings, err := json.Marshal(dec.Findings)
			if err != nil {
				return fmt.Errorf("decision %s: %w", dec.Reference, err)
			}
			args = append(args, dec.Reference, dec.At.Unix(), dec.Source, dec.Revision, dec.Symptom,
				string(facts), string(findings), dec.Outcome, dec.ToTry)
		}
		if _, err := d.exec(ctx, tx, insertDecisions(len(rows)), args...); err != nil {
			return fmt.Errorf("decisions %s to %s: %w", rows[0].Reference, rows[len(rows)-1].Reference, err)
		}
	}
	return tx.Commit()
}

// decisionsPerInsert bounds the rows of one INSERT: 64 rows of 8 values
// stay far below SQLite's and PostgreSQL's limits on parameters.
const (
	decisionsPerInsert = 64
	decisionColumns    = 9
)

// insertDecisions is the INSERT of n decisions.
func insertDecisions(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO decisions (` + decisionColumnList + `, to_try) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	return b.String()
}

// decisionColumnList are the columns scanDecision reads, in its order.
const decisionColumnList = `reference, created_at, source, revision, symptom, facts, findings, outcome`

// scanDecision reads one row of decisionColumnList.
func scanDecision(row interface{ Scan(...any) error }) (Decision, error) {
	var dec Decision
	var at int64
	var facts, findings string
	if err := row.Scan(&dec.Reference, &at, &dec.Source, &dec.Revision, &dec.Symptom, &facts, &findings, &dec.Outcome); err != nil {
		return Decision{}, err
	}
	dec.At = time.Unix(at, 0).UTC()
	if err := json.Unmarshal([]byte(facts), &dec.Facts); err != nil {
		return Decision{}, fmt.Errorf("decision %s: its facts: %w", dec.Reference, err)
	}
	if err := json.Unmarshal([]byte(findings), &dec.Findings); err != nil {
		return Decision{}, fmt.Errorf("decision %s: its findings: %w", dec.Reference, err)
	}
	return dec, nil
}

// Decision returns the decision kept under reference, or ErrNotFound.
func (d *DB) Decision(ctx context.Context, reference string) (Decision, error) {
	dec, err := scanDecision(d.queryRow(ctx, nil, `SELECT `+decisionColumnList+` FROM decisions WHERE reference = ?`, reference))
	if errors.Is(err, sql.ErrNoRows) {
		return Decision{}, ErrNotFound
	}
	return dec, err
}

// PurgeDecisions deletes the decisions made before t and says how many.
func (d *DB) PurgeDecisions(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.exec(ctx, nil, `DELETE FROM decisions WHERE created_at < ?`, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DecisionWriter keeps decisions off the request path: Add queues one and
// returns at once; a goroutine writes the queue in batches, every flush
// interval or as soon as a batch is full. A crash loses at most what was
// queued since the last write; a full queue drops decisions (counted)
// rather than slow a request down.
type DecisionWriter struct {
	db      *DB
	every   time.Duration
	batch   int
	onError func(error)
	queue   chan Decision
	flush   chan chan struct{}
	done    chan struct{}
	closed  sync.Once

	mu      sync.Mutex
	dropped int64
}

// NewDecisionWriter starts a writer of batches of up to batch decisions,
// written at least every interval; onError hears of a batch that could not
// be written.
func NewDecisionWriter(db *DB, batch int, every time.Duration, onError func(error)) *DecisionWriter {
	w := &DecisionWriter{db: db, every: every, batch: batch, onError: onError,
		queue: make(chan Decision, 16*batch), flush: make(chan chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Add queues a decision; it never blocks.
func (w *DecisionWriter) Add(d Decision) {
	select {
	case w.queue <- d:
	default:
		w.mu.Lock()
		w.dropped++
		w.mu.Unlock()
	}
}

// Dropped is how many decisions a full queue dropped.
func (w *DecisionWriter) Dropped() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}

// Flush writes what is queued and returns when it is written.
func (w *DecisionWriter) Flush() {
	ack := make(chan struct{})
	select {
	case w.flush <- ack:
		<-ack
	case <-w.done:
	}
}

// Close writes what is queued and stops the writer.
func (w *DecisionWriter) Close() {
	w.closed.Do(func() {
		w.Flush()
		close(w.done)
	})
}

func (w *DecisionWriter) run() {
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	var pending []Decision
	write := func() {
		for {
			select {
			case d := <-w.queue:
				pending = append(pending, d)
				continue
			default:
			}
			break
		}
		if len(pending) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.db.AddDecisions(ctx, pending)
		cancel()
		if err != nil && w.onError != nil {
			w.onError(err)
		}
		pending = pending[:0]
	}
	for {
		select {
		case d := <-w.queue:
			pending = append(pending, d)
			if len(pending) >= w.batch {
				write()
			}
		case <-tick.C:
			write()
		case ack := <-w.flush:
			write()
			close(ack)
		case <-w.done:
			return
		}
	}
}

// RecentDecisions returns the decisions made last, newest first, at most
// limit of them.
func (d *DB) RecentDecisions(ctx context.Context, limit int) ([]Decision, error) {
	rows, err := d.query(ctx, nil, `SELECT `+decisionColumnList+`
		FROM decisions ORDER BY created_at DESC, reference LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		dec, err := scanDecision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, dec)
	}
	return out, rows.Err()
}
