package store

import (
	"acceso/knowledge"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrNotFound is the error of a lookup that matched nothing: no such admin,
// no valid session, no such revision.
var ErrNotFound = errors.New("not found")

// PutAdmin creates the admin name with the given password hash, or replaces
// the hash of an existing one. Replacing a password ends the admin's
// sessions.
func (d *DB) PutAdmin(ctx context.Context, name, passwordHash string) error {
	now := time.Now().Unix()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := d.exec(ctx, tx, `
		INSERT INTO admins (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
		name, passwordHash, now, now); err != nil {
		return fmt.Errorf("saving admin: %w", err)
	}
	if _, err := d.exec(ctx, tx, `DELETE FROM sessions WHERE admin = ?`, name); err != nil {
		return fmt.Errorf("ending the admin's sessions: %w", err)
	}
	return tx.Commit()
}

// PasswordHash returns the password hash of the admin name, or ErrNotFound.
func (d *DB) PasswordHash(ctx context.Context, name string) (string, error) {
	var hash string
	err := d.queryRow(ctx, nil, `SELECT password_hash FROM admins WHERE name = ?`, name).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return hash, err
}

// CreateSession stores a session of admin, known by the hash of its token,
// valid until expires. Expired sessions are removed on the way.
func (d *DB) CreateSession(ctx context.Context, tokenHash []byte, admin string, expires time.Time) error {
	now := time.Now().Unix()
	if _, err := d.exec(ctx, nil, `DELETE FROM sessions WHERE expires_at <= ?`, now); err != nil {
		return fmt.Errorf("removing expired sessions: %w", err)
	}
	_, err := d.exec(ctx, nil,
		`INSERT INTO sessions (token_hash, admin, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, admin, now, expires.Unix())
	if err != nil {
		return fmt.Errorf("saving session: %w", err)
	}
	return nil
}

// SessionAdmin returns the admin of the session whose token hashes to
// tokenHash, if it has not expired by now; else ErrNotFound.
func (d *DB) SessionAdmin(ctx context.Context, tokenHash []byte, now time.Time) (string, error) {
	var admin string
	err := d.queryRow(ctx, nil,
		`SELECT admin FROM sessions WHERE token_hash = ? AND expires_at > ?`, tokenHash, now.Unix()).Scan(&admin)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return admin, err
}

// DeleteSession ends the session whose token hashes to tokenHash. Ending a
// session that does not exist is not an error.
func (d *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := d.exec(ctx, nil, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// Revision is one published revision of the rules: the policy revision it
// served, who published it and when, a note (such as "rollback to …"), the
// diff against the revision before it, and its whole source.
type Revision struct {
	Seq         int64
	ID          string
	Admin       string
	PublishedAt time.Time
	Note        string
	Diff        string
	Source      knowledge.Source
}

// storedSource is a source as JSON: message files as text, so the column
// reads as what it is.
type storedSource struct {
	Modules  map[string]string `json:"modules"`
	Messages map[string]string `json:"messages"`
	// Docs is absent from revisions stored before documents were part
	// of the rules.
	Docs map[string]string `json:"docs,omitempty"`
}

func encodeSource(src knowledge.Source) (string, error) {
	s := storedSource{Modules: src.Modules, Messages: make(map[string]string, len(src.Messages)), Docs: src.Docs}
	for name, b := range src.Messages {
		s.Messages[name] = string(b)
	}
	b, err := json.Marshal(s)
	return string(b), err
}

func decodeSource(text string) (knowledge.Source, error) {
	var s storedSource
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return knowledge.Source{}, err
	}
	src := knowledge.Source{Modules: s.Modules, Messages: make(map[string][]byte, len(s.Messages)), Docs: s.Docs}
	if src.Modules == nil {
		src.Modules = make(map[string]string)
	}
	for name, text := range s.Messages {
		src.Messages[name] = []byte(text)
	}
	return src, nil
}

// AddRevision stores r (its Seq is ignored) and returns its sequence
// number. On PostgreSQL, its commit notifies RevisionsChannel with it.
func (d *DB) AddRevision(ctx context.Context, r Revision) (int64, error) {
	src, err := encodeSource(r.Source)
	if err != nil {
		return 0, fmt.Errorf("encoding revision %s: %w", r.ID, err)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("saving revision %s: %w", r.ID, err)
	}
	defer tx.Rollback()
	var seq int64
	if err := d.queryRow(ctx, tx,
		`INSERT INTO revisions (id, admin, published_at, note, diff, source) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
		r.ID, r.Admin, r.PublishedAt.Unix(), r.Note, r.Diff, src).Scan(&seq); err != nil {
		return 0, fmt.Errorf("saving revision %s: %w", r.ID, err)
	}
	// PostgreSQL tells the listening replicas when the transaction commits.
	if d.dialect == postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, RevisionsChannel, strconv.FormatInt(seq, 10)); err != nil {
			return 0, fmt.Errorf("saving revision %s: telling the replicas: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("saving revision %s: %w", r.ID, err)
	}
	return seq, nil
}

// Revisions returns the newest revisions first, at most limit of them,
// without their sources.
func (d *DB) Revisions(ctx context.Context, limit int) ([]Revision, error) {
	rows, err := d.query(ctx, nil,
		`SELECT seq, id, admin, published_at, note, diff FROM revisions ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var revs []Revision
	for rows.Next() {
		var r Revision
		var at int64
		if err := rows.Scan(&r.Seq, &r.ID, &r.Admin, &at, &r.Note, &r.Diff); err != nil {
			return nil, err
		}
		r.PublishedAt = time.Unix(at, 0).UTC()
		revs = append(revs, r)
	}
	return revs, rows.Err()
}

// Revision returns the revision numbered seq with its source, or
// ErrNotFound.
func (d *DB) Revision(ctx context.Context, seq int64) (Revision, error) {
	return d.revision(ctx, `WHERE seq = ?`, seq)
}

// RevisionByID returns the latest stored revision whose policy revision is
// id, with its source, or ErrNotFound.
func (d *DB) RevisionByID(ctx context.Context, id string) (Revision, error) {
	return d.revision(ctx, `WHERE id = ? ORDER BY seq DESC LIMIT 1`, id)
}

// HasRevision reports whether a revision with the given id was ever stored.
func (d *DB) HasRevision(ctx context.Context, id string) (bool, error) {
	var n int
	err := d.queryRow(ctx, nil, `SELECT count(*) FROM revisions WHERE id = ?`, id).Scan(&n)
	return n > 0, err
}

// LatestRevision returns the revision published last, with its source, or
// ErrNotFound when nothing was ever published.
func (d *DB) LatestRevision(ctx context.Context) (Revision, error) {
	return d.revision(ctx, `ORDER BY seq DESC LIMIT 1`)
}

func (d *DB) revision(ctx context.Context, where string, args ...any) (Revision, error) {
	var r Revision
	var at int64
	var src string
	err := d.queryRow(ctx, nil,
		`SELECT seq, id, admin, published_at, note, diff, source FROM revisions `+where, args...).
		Scan(&r.Seq, &r.ID, &r.Admin, &at, &r.Note, &r.Diff, &src)
	if errors.Is(err, sql.ErrNoRows) {
		return Revision{}, ErrNotFound
	}
	if err != nil {
		return Revision{}, err
	}
	r.PublishedAt = time.Unix(at, 0).UTC()
	if r.Source, err = decodeSource(src); err != nil {
		return Revision{}, fmt.Errorf("revision %d: reading its source: %w", r.Seq, err)
	}
	return r, nil
}
