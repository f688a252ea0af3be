// Package store is Acceso's storage: feedback from the help site, admin
// accounts and sessions, sign-in throttles, decisions, every published
// revision of the rules and each admin's draft of the next one. By default
// it is one SQLite file under the --data folder (modernc.org/sqlite, pure
// Go); with --database postgres://… it is a PostgreSQL database (pgx) that
// several replicas share. Both are behind the same *DB and the same
// queries, written with ? placeholders, which the dialect rewrites where
// PostgreSQL wants $1, $2, …
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// DB is the open database.
type DB struct {
	db      *sql.DB
	dialect dialect
	// url is the PostgreSQL connection string, for the connection that
	// listens for new revisions; empty for SQLite.
	url string
	// insert are the INSERTs of a full chunk of decisions, counting the
	// rows stored ([counted]) or naming them ([named]), each prepared on
	// first use (fullInsert).
	insertMu sync.Mutex
	insert   [2]*sql.Stmt
}

// pingSQLite opens the first connection, whose pragmas switch a new
// database to WAL. That switch is refused at once, without the busy
// timeout, while another process (an admin command, a second server
// starting) opens the same new file: it is tried again for a while.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := db.PingContext(ctx)
		var sqliteErr interface{ Code() int }
		if err == nil || !errors.As(err, &sqliteErr) || sqliteErr.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY.
const sqliteBusy = 5

// FileName is the database file inside the data folder.
const FileName = "acceso.db"

// Open opens (creating if needed) the SQLite database in dir and brings
// its schema up to date.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	dsn := "file:" + filepath.Join(dir, FileName) +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)" +
		// The WAL is checkpointed every 1000 pages (SQLite's default, said
		// here so that it stays) and truncated back to 32 MB after a
		// checkpoint: a burst of writes (a purge) does not leave a WAL of
		// hundreds of MB behind.
		"&_pragma=wal_autocheckpoint(1000)&_pragma=journal_size_limit(33554432)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	if err := pingSQLite(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening database in %s: %w", dir, explainOpen(dir, err))
	}
	d := &DB{db: db, dialect: sqlite}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, explainOpen(dir, err)
	}
	return d, nil
}

// OpenURL opens the database that rawURL names and brings its schema up to
// date: a postgres:// (or postgresql://) URL opens PostgreSQL, which
// several servers can share. Errors name the URL without its password.
func OpenURL(ctx context.Context, rawURL string) (*DB, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", errors.Unwrap(err))
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("%s: want a postgres:// URL", u.Redacted())
	}
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.Redacted(), err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", u.Redacted(), err)
	}
	d := &DB{db: db, dialect: postgres, url: rawURL}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", u.Redacted(), err)
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error {
	d.insertMu.Lock()
	for i, st := range d.insert {
		if st != nil {
			st.Close()
			d.insert[i] = nil
		}
	}
	d.insertMu.Unlock()
	return d.db.Close()
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// Shared reports whether the database is one that several servers can
// share (PostgreSQL), rather than a file of this machine's.
func (d *DB) Shared() bool { return d.dialect == postgres }

// dialect is the SQL a database speaks where SQLite and PostgreSQL differ.
type dialect int

const (
	sqlite dialect = iota
	postgres
)

// rebind rewrites the ? placeholders of query into PostgreSQL's $1, $2, …
// The queries of this package have no ? inside string literals.
func (dl dialect) rebind(query string) string {
	if dl != postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// execer is what runs a statement: the database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec, query and queryRow run a query written with ? placeholders on the
// database or on tx (when not nil), in the database's dialect.
func (d *DB) exec(ctx context.Context, tx execer, query string, args ...any) (sql.Result, error) {
	return d.on(tx).ExecContext(ctx, d.dialect.rebind(query), args...)
}

func (d *DB) query(ctx context.Context, tx execer, query string, args ...any) (*sql.Rows, error) {
	return d.on(tx).QueryContext(ctx, d.dialect.rebind(query), args...)
}

func (d *DB) queryRow(ctx context.Context, tx execer, query string, args ...any) *sql.Row {
	return d.on(tx).QueryRowContext(ctx, d.dialect.rebind(query), args...)
}

func (d *DB) on(tx execer) execer {
	if tx == nil {
		return d.db
	}
	return tx
}
