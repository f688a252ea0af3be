package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// A migration is one numbered change of the schema, in each dialect's SQL.
// Migrations are applied in order, each in its own transaction with its
// number recorded in schema_migrations, so that a database is always at
// one known version; a migration once released is never edited, only
// followed by a new one.
type migration struct {
	version int
	name    string
	sqlite  string
	pg      string
}

// migrationsLock is the PostgreSQL advisory lock held while migrating, so
// that replicas starting together migrate one after the other.
const migrationsLock = 7_243_517_001

// migrate applies the migrations the database has not had yet.
func (d *DB) migrate(ctx context.Context) error {
	if err := d.createMigrationsTable(ctx); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if err := d.apply(ctx, m); err != nil {
			return fmt.Errorf("schema migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// createMigrationsTable creates the table of applied migrations unless it
// exists. PostgreSQL refuses the second of two sessions that create the
// same table at once, IF NOT EXISTS or not, so there it is created under
// the migration lock.
func (d *DB) createMigrationsTable(ctx context.Context) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.dialect == postgres {
		if err := lockMigrations(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return err
	}
	return tx.Commit()
}

// lockMigrations makes the PostgreSQL transaction tx wait for the
// migration lock, and hold it until tx ends.
func lockMigrations(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationsLock)
	return err
}

// apply applies m unless it was applied before.
func (d *DB) apply(ctx context.Context, m migration) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// One migrating process at a time: on PostgreSQL the migration lock; on
	// SQLite a write first, so that the transaction holds the write lock
	// (waiting for it up to the busy timeout) before it reads what was
	// applied, instead of reading a snapshot another process then changes.
	switch d.dialect {
	case postgres:
		err = lockMigrations(ctx, tx)
	case sqlite:
		_, err = tx.ExecContext(ctx, `UPDATE schema_migrations SET name = name WHERE version < 0`)
	}
	if err != nil {
		return err
	}
	var n int
	if err := d.queryRow(ctx, tx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	schema := m.sqlite
	if d.dialect == postgres {
		schema = m.pg
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return err
	}
	if _, err := d.exec(ctx, tx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion is the number of the last migration applied.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := d.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
