package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrBackupPostgres is Backup's answer on PostgreSQL, whose own tool makes
// a better copy than any Acceso could.
var ErrBackupPostgres = errors.New("backup: the database is PostgreSQL; copy it with its own tool, " +
	"for example pg_dump --format=custom --file=acceso.dump \"$ACCESO_DATABASE\" (pg_restore puts it back)")

// Backup writes a consistent copy of the database to path, a file that
// must not exist yet (nothing is overwritten) and that only its owner can
// read. It is safe while the server runs: VACUUM INTO copies one snapshot,
// every transaction committed before it began (those still in the
// write-ahead log included) and none after, and writers are not blocked.
// The copy is a database file of its own, without a log beside it.
//
// A PostgreSQL database is not copied here: ErrBackupPostgres says to use
// pg_dump, which copies one consistent snapshot of it while it serves.
func (d *DB) Backup(ctx context.Context, path string) error {
	if d.dialect == postgres {
		return ErrBackupPostgres
	}
	// An absolute path is never read by SQLite as a "file:" URI.
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	// VACUUM INTO writes into an empty file: creating it here, exclusively,
	// refuses an existing one and sets its permissions.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("backup to %s: the file exists; choose a new name", path)
		}
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(abs)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}
