package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// Secret returns the secret named name, made at random (32 bytes) the
// first time it is asked for and kept in the database, so that every
// replica signs and checks with the same one. It never leaves the server.
func (d *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if _, err := d.exec(ctx, nil, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, name, hex.EncodeToString(b)); err != nil {
		return nil, fmt.Errorf("keeping the secret %s: %w", name, err)
	}
	var v string
	if err := d.queryRow(ctx, nil, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("reading the secret %s: %w", name, err)
	}
	return hex.DecodeString(v)
}
