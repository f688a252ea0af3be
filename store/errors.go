package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// SQLite's primary result codes that say the storage, not the statement,
// is at fault.
const (
	sqliteLocked   = 6
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

// ErrUnavailable marks an error of a database that cannot be reached or
// written now (PostgreSQL down, a full disk, a lock held too long): the
// same request may succeed later. Unavailable reports it.
var ErrUnavailable = errors.New("storage unavailable")

// Unavailable reports whether err is the storage being out of reach or
// out of space rather than a fault of the query: a connection refused or
// lost, PostgreSQL shutting down or out of space, SQLite busy past its
// timeout, its disk full or failing.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ENOSPC) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		// 08: connection exception; 53: insufficient resources (disk full,
		// out of memory, too many connections); 57P: operator intervention
		// (shutting down, cannot connect now).
		c := pgErr.Code
		return len(c) >= 2 && (c[:2] == "08" || c[:2] == "53" || (len(c) >= 3 && c[:3] == "57P"))
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var sqliteErr interface{ Code() int }
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff {
		case sqliteBusy, sqliteLocked, sqliteReadOnly, sqliteIOErr, sqliteFull, sqliteCantOpen:
			return true
		}
	}
	return false
}

// diskFull reports whether err says the disk (or PostgreSQL's) is full:
// SQLITE_FULL, ENOSPC, PostgreSQL's disk_full (53100).
func diskFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "53100"
	}
	var sqliteErr interface{ Code() int }
	return errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqliteFull
}

// minFreeBytes is the free space below which a folder's disk counts as
// full: SQLite needs a few pages for its WAL and shared memory to open.
const minFreeBytes = 256 << 10

// freeBytes is the space left to an unprivileged writer on the disk that
// holds dir.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// explainOpen words an error opening (or migrating) the SQLite database in
// dir: a full disk gives "disk I/O error (4874)" or "database or disk is
// full", which the message turns into "the disk holding dir is full".
func explainOpen(dir string, err error) error {
	free, ferr := freeBytes(dir)
	if diskFull(err) || (ferr == nil && free < minFreeBytes) {
		return fmt.Errorf("the disk holding %s is full (%d KB free): free some space or move --data: %w", dir, free>>10, err)
	}
	return err
}
