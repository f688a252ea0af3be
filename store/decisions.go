package store

import (
	"acceso/knowledge"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kept is what the store keeps of a decision (the decision itself is
// knowledge.Decision, the one every package shares): its reference, when
// and where it was made (site or api), the revision that made it, its
// symptom (empty for all three), the facts it was made on (non-personal
// only: the caller filters them by their declarations), the ids of the
// causes found and the outcome, so that support can look it up and
// continue it, and insights count it.
// Facts hold each fact as a knowledge.Request does (bool, int, string or
// []string), written as JSON and read back typed (knowledge.DecodeFacts),
// so a kept decision becomes a request directly (Catalog.RequestOf).
type Kept struct {
	Reference string
	At        time.Time
	Source    string
	Revision  string
	// Topic is the topic that decided; "" for a decision kept before
	// there were topics, which the default topic decided.
	Topic    string
	Symptom  string
	Facts    map[string]any
	Findings []string
	Outcome  string
	// ToTry is how many things to try the answer listed (insights).
	ToTry int
}

// AddDecisions stores decisions in one transaction. A reference already
// kept for another decision is not stored again: the decisions whose
// reference was taken are returned as collided (the first stored stays as
// it was), the others stored.
func (d *DB) AddDecisions(ctx context.Context, decisions []Kept) (collided []Kept, err error) {
	rows := make([]decisionRow, len(decisions))
	for i, dec := range decisions {
		if rows[i], err = rowOf(dec); err != nil {
			return nil, err
		}
	}
	stored := make(map[string]bool, len(rows))
	if _, err := d.addRows(ctx, rows, stored); err != nil {
		return nil, err
	}
	for _, dec := range decisions {
		if stored[dec.Reference] {
			delete(stored, dec.Reference) // a repeat in the same batch collides
			continue
		}
		collided = append(collided, dec)
	}
	return collided, nil
}

// decisionRow is a decision as its row: facts and findings as JSON.
type decisionRow struct {
	reference, source, revision, topic, symptom, facts, findings, outcome string
	at                                                                    int64
	toTry                                                                 int
}

// rowOf is dec as a row.
func rowOf(dec Kept) (decisionRow, error) {
	facts, err := encodeFacts(dec.Facts)
	if err != nil {
		return decisionRow{}, fmt.Errorf("decision %s: %w", dec.Reference, err)
	}
	findings, err := encodeStrings(dec.Findings)
	if err != nil {
		return decisionRow{}, fmt.Errorf("decision %s: %w", dec.Reference, err)
	}
	return decisionRow{reference: dec.Reference, at: dec.At.Unix(), source: dec.Source, revision: dec.Revision,
		topic: dec.Topic, symptom: dec.Symptom, facts: facts, findings: findings, outcome: dec.Outcome, toTry: dec.ToTry}, nil
}

// encodeFacts is json.Marshal(facts), byte for byte, written without
// reflection for the values a decoded request holds (bool, int, string,
// []string) and plain strings: a decision is kept on every API answer, and
// json.Marshal of the map was most of keeping it. Anything else goes
// through json.Marshal.
func encodeFacts(facts map[string]any) (string, error) {
	if facts == nil {
		return "null", nil
	}
	names := make([]string, 0, len(facts))
	for name, v := range facts {
		if !plainString(name) || !plainValue(v) {
			b, err := json.Marshal(facts)
			return string(b), err
		}
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	b.Grow(16 * (len(names) + 1))
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(name)
		b.WriteString(`":`)
		switch v := facts[name].(type) {
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case int:
			var n [20]byte
			b.Write(strconv.AppendInt(n[:0], int64(v), 10))
		case string:
			b.WriteByte('"')
			b.WriteString(v)
			b.WriteByte('"')
		case []string:
			writeStrings(&b, v)
		}
	}
	b.WriteByte('}')
	return b.String(), nil
}

// encodeStrings is json.Marshal(list), byte for byte.
func encodeStrings(list []string) (string, error) {
	if list == nil {
		return "null", nil
	}
	if !slices.ContainsFunc(list, func(s string) bool { return !plainString(s) }) {
		var b strings.Builder
		writeStrings(&b, list)
		return b.String(), nil
	}
	b, err := json.Marshal(list)
	return string(b), err
}

// writeStrings writes plain strings as a JSON array; a nil list is null.
func writeStrings(b *strings.Builder, list []string) {
	if list == nil {
		b.WriteString("null")
		return
	}
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
	}
	b.WriteByte(']')
}

// plainValue reports whether encodeFacts writes v itself.
func plainValue(v any) bool {
	switch v := v.(type) {
	case bool, int:
		return true
	case string:
		return plainString(v)
	case []string:
		return !slices.ContainsFunc(v, func(s string) bool { return !plainString(s) })
	}
	return false
}

// plainString reports whether s is written by json.Marshal as itself
// between quotes: printable ASCII with nothing it escapes (", \, <, >, &).
func plainString(s string) bool {
	for i := range len(s) {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// addRows stores rows in one transaction and returns how many it stored
// (those whose reference was not kept already). When stored is not nil,
// it also marks there each reference stored; without it, the INSERT only
// counts its rows, which the writer needs and which costs less than
// naming them (no RETURNING, nothing read back).
func (d *DB) addRows(ctx context.Context, rows []decisionRow, stored map[string]bool) (int, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := 0
	// Several rows per statement: the statement's own cost, not the rows',
	// was most of the writing.
	for chunk := range slices.Chunk(rows, decisionsPerInsert) {
		args := make([]any, 0, decisionColumns*len(chunk))
		for _, r := range chunk {
			args = append(args, r.reference, r.at, r.source, r.revision, r.topic, r.symptom, r.facts, r.findings, r.outcome, r.toTry)
		}
		added, err := d.insertChunk(ctx, tx, len(chunk), args, stored)
		if err != nil {
			return 0, fmt.Errorf("decisions %s to %s: %w", chunk[0].reference, chunk[len(chunk)-1].reference, err)
		}
		n += added
	}
	return n, tx.Commit()
}

// insertChunk runs one INSERT of rows rows (their values args) and
// returns how many it stored, marking each in stored when it is not nil.
func (d *DB) insertChunk(ctx context.Context, tx *sql.Tx, rows int, args []any, stored map[string]bool) (int, error) {
	form := counted
	if stored != nil {
		form = named
	}
	st, err := d.chunkInsert(ctx, tx, rows, form)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if stored == nil {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
	res, err := st.QueryContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	defer res.Close()
	n := 0
	for res.Next() {
		var ref string
		if err := res.Scan(&ref); err != nil {
			return 0, err
		}
		stored[ref] = true
		n++
	}
	return n, res.Err()
}

// The two forms of the INSERT of decisions: counting the rows stored, or
// naming them.
const (
	counted = iota
	named
)

// fullInsert is the INSERT of decisionsPerInsert decisions in form,
// prepared on first use and kept until Close; nil when it cannot be
// prepared (the chunk's own statement is then used, and fails with its
// error).
func (d *DB) fullInsert(ctx context.Context, form int) *sql.Stmt {
	d.insertMu.Lock()
	defer d.insertMu.Unlock()
	if d.insert[form] == nil {
		st, err := d.db.PrepareContext(ctx, d.dialect.rebind(insertDecisions(decisionsPerInsert, form)))
		if err != nil {
			return nil
		}
		d.insert[form] = st
	}
	return d.insert[form]
}

// chunkInsert is the INSERT of rows decisions in form, on tx. A full
// chunk, the usual case under load, gets the statement prepared once per
// connection (fullInsert) instead of one parsed for every chunk.
func (d *DB) chunkInsert(ctx context.Context, tx *sql.Tx, rows, form int) (*sql.Stmt, error) {
	if rows == decisionsPerInsert {
		if st := d.fullInsert(ctx, form); st != nil {
			return tx.StmtContext(ctx, st), nil
		}
	}
	return tx.PrepareContext(ctx, d.dialect.rebind(insertDecisions(rows, form)))
}

// decisionsPerInsert bounds the rows of one INSERT: 64 rows of 10 values
// stay far below SQLite's and PostgreSQL's limits on parameters.
const (
	decisionsPerInsert = 64
	decisionColumns    = 10
)

// insertDecisions is the INSERT of n decisions, in form.
func insertDecisions(n, form int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO decisions (` + decisionColumnList + `, to_try) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	// A reference kept already is not overwritten; the rows stored are
	// counted, or named by RETURNING, so that the others are told apart
	// (collisions).
	b.WriteString(" ON CONFLICT DO NOTHING")
	if form == named {
		b.WriteString(" RETURNING reference")
	}
	return b.String()
}

// decisionColumnList are the columns scanDecision reads, in its order.
const decisionColumnList = `reference, created_at, source, revision, topic, symptom, facts, findings, outcome`

// scanDecision reads one row of decisionColumnList.
func scanDecision(row interface{ Scan(...any) error }) (Kept, error) {
	var dec Kept
	var at int64
	var facts, findings string
	if err := row.Scan(&dec.Reference, &at, &dec.Source, &dec.Revision, &dec.Topic, &dec.Symptom, &facts, &findings, &dec.Outcome); err != nil {
		return Kept{}, err
	}
	dec.At = time.Unix(at, 0).UTC()
	var err error
	if dec.Facts, err = knowledge.DecodeFacts([]byte(facts)); err != nil {
		return Kept{}, fmt.Errorf("decision %s: its facts: %w", dec.Reference, err)
	}
	if err := json.Unmarshal([]byte(findings), &dec.Findings); err != nil {
		return Kept{}, fmt.Errorf("decision %s: its findings: %w", dec.Reference, err)
	}
	return dec, nil
}

// Decision returns the decision kept under reference, or ErrNotFound.
func (d *DB) Decision(ctx context.Context, reference string) (Kept, error) {
	dec, err := scanDecision(d.queryRow(ctx, nil, `SELECT `+decisionColumnList+` FROM decisions WHERE reference = ?`, reference))
	if errors.Is(err, sql.ErrNoRows) {
		return Kept{}, ErrNotFound
	}
	return dec, err
}

// RecentDecisions returns the decisions made last, newest first, at most
// limit of them.
func (d *DB) RecentDecisions(ctx context.Context, limit int) ([]Kept, error) {
	// The range (every decision since 1970) is there for SQLite's planner:
	// with it, the newest are read in created_at order from
	// decisions_insights and only ties are sorted; without it, it sorts the
	// whole table (TestDecisionQueriesUseAnIndex).
	rows, err := d.query(ctx, nil, `SELECT `+decisionColumnList+`
		FROM decisions WHERE created_at >= 0 ORDER BY created_at DESC, reference LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Kept
	for rows.Next() {
		dec, err := scanDecision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, dec)
	}
	return out, rows.Err()
}
