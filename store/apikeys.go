package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrExists is the error of adding what already exists under its name.
var ErrExists = errors.New("already exists")

// APIKey is an integration's key as kept: its name, its scopes, when it
// was made and when it was last used (the zero time for never). The key
// itself is not kept.
type APIKey struct {
	Name     string
	Scopes   []string
	Created  time.Time
	LastUsed time.Time
}

// AddAPIKey stores a key, known by its hash, under name; a name already
// used is ErrExists.
func (d *DB) AddAPIKey(ctx context.Context, name string, keyHash []byte, scopes []string, now time.Time) error {
	res, err := d.exec(ctx, nil, `INSERT INTO api_keys (name, key_hash, scopes, created_at, last_used_at)
		VALUES (?, ?, ?, ?, 0) ON CONFLICT DO NOTHING`, name, keyHash, strings.Join(scopes, " "), now.Unix())
	if err != nil {
		return fmt.Errorf("saving API key %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("saving API key %s: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("API key %s: %w", name, ErrExists)
	}
	return nil
}

// APIKeys lists the keys by name.
func (d *DB) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := d.query(ctx, nil, `SELECT name, scopes, created_at, last_used_at FROM api_keys ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RemoveAPIKey deletes the key name, or says ErrNotFound.
func (d *DB) RemoveAPIKey(ctx context.Context, name string) error {
	res, err := d.exec(ctx, nil, `DELETE FROM api_keys WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("removing API key %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("API key %s: %w", name, ErrNotFound)
	}
	return nil
}

// APIKeyByHash returns the key whose hash is keyHash, or ErrNotFound.
func (d *DB) APIKeyByHash(ctx context.Context, keyHash []byte) (APIKey, error) {
	k, err := scanAPIKey(d.queryRow(ctx, nil, `SELECT name, scopes, created_at, last_used_at FROM api_keys WHERE key_hash = ?`, keyHash))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	return k, err
}

// APIKeyUsed records that the key name was used at now. It writes only
// when the last use recorded is older than every, so that a busy key
// costs a write a minute rather than one per request.
func (d *DB) APIKeyUsed(ctx context.Context, name string, now time.Time, every time.Duration) error {
	_, err := d.exec(ctx, nil, `UPDATE api_keys SET last_used_at = ? WHERE name = ? AND last_used_at <= ?`,
		now.Unix(), name, now.Add(-every).Unix())
	return err
}

func scanAPIKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var scopes string
	var created, used int64
	if err := row.Scan(&k.Name, &scopes, &created, &used); err != nil {
		return APIKey{}, err
	}
	k.Scopes = strings.Fields(scopes)
	k.Created = time.Unix(created, 0).UTC()
	if used > 0 {
		k.LastUsed = time.Unix(used, 0).UTC()
	}
	return k, nil
}
