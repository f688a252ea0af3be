package store

import (
	"context"
	"fmt"
	"time"
)

// Account is an admin account as acceso admin list shows it: its name,
// when it was created, and how many sessions it has open.
type Account struct {
	Name     string
	Created  time.Time
	Sessions int
}

// Admins lists the admin accounts by name, with their sessions open at now.
func (d *DB) Admins(ctx context.Context, now time.Time) ([]Account, error) {
	rows, err := d.query(ctx, nil, `
		SELECT a.name, a.created_at, (SELECT COUNT(*) FROM sessions s WHERE s.admin = a.name AND s.expires_at > ?)
		FROM admins a ORDER BY a.name`, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("listing admins: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var created int64
		if err := rows.Scan(&a.Name, &created, &a.Sessions); err != nil {
			return nil, fmt.Errorf("listing admins: %w", err)
		}
		a.Created = time.Unix(created, 0).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// RemoveAdmin removes the admin name and ends their sessions, at once: an
// open session stops working at its next request. Their drafts go too;
// the revisions they published stay, under their name. ErrNotFound when
// there is no such admin.
func (d *DB) RemoveAdmin(ctx context.Context, name string) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("removing an admin: %w", err)
	}
	defer tx.Rollback()
	if _, err := d.exec(ctx, tx, `DELETE FROM sessions WHERE admin = ?`, name); err != nil {
		return fmt.Errorf("ending the admin's sessions: %w", err)
	}
	if _, err := d.exec(ctx, tx, `DELETE FROM draft_files WHERE admin = ?`, name); err != nil {
		return fmt.Errorf("removing the admin's draft: %w", err)
	}
	res, err := d.exec(ctx, tx, `DELETE FROM admins WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("removing an admin: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("removing an admin: %w", err)
	} else if n == 0 {
		return ErrNotFound
	}
	return tx.Commit()
}
