package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// RevisionsChannel is the PostgreSQL notification channel that a stored
// revision is announced on, its payload the revision's sequence number.
const RevisionsChannel = "acceso_revisions"

// LatestRevisionID returns the sequence number and id of the revision
// published last, without its source (a cheap query to poll), or
// ErrNotFound when nothing was ever published.
func (d *DB) LatestRevisionID(ctx context.Context) (seq int64, id string, err error) {
	err = d.queryRow(ctx, nil, `SELECT seq, id FROM revisions ORDER BY seq DESC LIMIT 1`).Scan(&seq, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", ErrNotFound
	}
	return seq, id, err
}

// listenRetry is how long a lost listening connection waits before it
// connects again.
const listenRetry = time.Second

// ListenRevisions tells changed, until ctx is done, each time a revision
// is stored by any server sharing this database: at once on PostgreSQL,
// through LISTEN on a connection of its own. Each time that connection is
// lost or made again, changed is told too, since notifications may have
// been missed meanwhile; callers that must not miss one also poll. On
// SQLite, which has no notifications, it waits for ctx and returns nil.
// onError hears of each lost connection.
func (d *DB) ListenRevisions(ctx context.Context, changed func(), onError func(error)) error {
	if d.dialect != postgres {
		<-ctx.Done()
		return nil
	}
	for {
		err := d.listen(ctx, changed)
		if ctx.Err() != nil {
			return nil
		}
		if onError != nil {
			onError(err)
		}
		changed()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(listenRetry):
		}
	}
}

// listen listens on one connection until it fails or ctx is done.
func (d *DB) listen(ctx context.Context, changed func()) error {
	conn, err := pgx.Connect(ctx, d.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+RevisionsChannel); err != nil {
		return err
	}
	changed() // anything stored before LISTEN took effect
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		changed()
	}
}
