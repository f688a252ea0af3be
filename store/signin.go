package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SignInBlockedUntil returns until when sign-ins for the name whose hash
// is name are refused: the zero time when none failed.
func (d *DB) SignInBlockedUntil(ctx context.Context, name []byte) (time.Time, error) {
	var until int64
	err := d.queryRow(ctx, nil, `SELECT blocked_until FROM sign_in_failures WHERE name = ?`, name).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("reading sign-in failures: %w", err)
	}
	return time.UnixMilli(until), nil
}

// SignInFailed counts a failed sign-in at now for the name whose hash is
// name, and refuses its sign-ins until now plus backoff(failures so far).
// The count is one statement, so failures on several replicas at once are
// all counted. It returns the failures so far.
func (d *DB) SignInFailed(ctx context.Context, name []byte, now time.Time, backoff func(failures int) time.Duration) (int, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("counting a failed sign-in: %w", err)
	}
	defer tx.Rollback()
	var failures int
	if err := d.queryRow(ctx, tx, `
		INSERT INTO sign_in_failures (name, failures, blocked_until, last_failure) VALUES (?, 1, ?, ?)
		ON CONFLICT (name) DO UPDATE SET failures = sign_in_failures.failures + 1, last_failure = excluded.last_failure
		RETURNING failures`, name, now.UnixMilli(), now.UnixMilli()).Scan(&failures); err != nil {
		return 0, fmt.Errorf("counting a failed sign-in: %w", err)
	}
	if _, err := d.exec(ctx, tx, `UPDATE sign_in_failures SET blocked_until = ? WHERE name = ?`,
		now.Add(backoff(failures)).UnixMilli(), name); err != nil {
		return 0, fmt.Errorf("counting a failed sign-in: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("counting a failed sign-in: %w", err)
	}
	return failures, nil
}

// SignInSucceeded forgets the failures of the name whose hash is name.
func (d *DB) SignInSucceeded(ctx context.Context, name []byte) error {
	if _, err := d.exec(ctx, nil, `DELETE FROM sign_in_failures WHERE name = ?`, name); err != nil {
		return fmt.Errorf("forgetting sign-in failures: %w", err)
	}
	return nil
}

// ForgetSignInFailures forgets the names whose sign-ins were no longer
// refused before t, and says how many.
func (d *DB) ForgetSignInFailures(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.exec(ctx, nil, `DELETE FROM sign_in_failures WHERE blocked_until < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("forgetting old sign-in failures: %w", err)
	}
	return res.RowsAffected()
}
