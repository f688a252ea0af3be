package store

import (
	"context"
	"time"
)

// How old decisions are purged: purgeBatch rows per transaction, then a
// pause as long as the delete took (at least purgePause), so that the
// decision writer, and any other writer, gets the database at least half
// of the time; on SQLite the WAL is checkpointed every purgeCheckpoint
// batches, so that it stays small.
const (
	purgeBatch      = 1000
	purgePause      = 5 * time.Millisecond
	purgeCheckpoint = 20
)

// PurgeDecisions deletes the decisions made before t, in small batches
// with pauses, and says how many. It stops early, with ctx's error, when
// ctx is done.
func (d *DB) PurgeDecisions(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for batch := 1; ; batch++ {
		start := time.Now()
		res, err := d.exec(ctx, nil, `DELETE FROM decisions WHERE reference IN
			(SELECT reference FROM decisions WHERE created_at < ? LIMIT ?)`, before.Unix(), purgeBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
		if d.dialect == sqlite && batch%purgeCheckpoint == 0 {
			// PASSIVE: never waits for readers or writers.
			if _, err := d.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
				return total, err
			}
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(max(time.Since(start), purgePause)):
		}
	}
}
