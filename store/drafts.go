package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DraftFile is one file of an admin's draft: its path (a module's, such as
// rules/login/facts.rego, or a message file's, such as
// locales/active.en.toml), the text it had when it entered the draft, the
// draft's text, and when that was last saved.
type DraftFile struct {
	Path    string
	Base    string
	Text    string
	Updated time.Time
}

// PutDraftFile saves f in admin's draft. A file already in the draft gets
// the new text and keeps its base: the base is what the file was when the
// admin first drafted it.
func (d *DB) PutDraftFile(ctx context.Context, admin string, f DraftFile) error {
	_, err := d.exec(ctx, nil, `
		INSERT INTO draft_files (admin, path, base, text, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (admin, path) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
		admin, f.Path, f.Base, f.Text, f.Updated.Unix())
	if err != nil {
		return fmt.Errorf("saving %s in the draft of %s: %w", f.Path, admin, err)
	}
	return nil
}

// DraftFile returns the file path of admin's draft, or ErrNotFound when
// the draft does not have it.
func (d *DB) DraftFile(ctx context.Context, admin, path string) (DraftFile, error) {
	f := DraftFile{Path: path}
	var at int64
	err := d.queryRow(ctx, nil, `SELECT base, text, updated_at FROM draft_files WHERE admin = ? AND path = ?`, admin, path).
		Scan(&f.Base, &f.Text, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return DraftFile{}, ErrNotFound
	}
	if err != nil {
		return DraftFile{}, fmt.Errorf("reading %s of the draft of %s: %w", path, admin, err)
	}
	f.Updated = time.Unix(at, 0).UTC()
	return f, nil
}

// DraftFiles returns every file of admin's draft, by path; none when the
// draft is empty.
func (d *DB) DraftFiles(ctx context.Context, admin string) ([]DraftFile, error) {
	rows, err := d.query(ctx, nil, `SELECT path, base, text, updated_at FROM draft_files WHERE admin = ? ORDER BY path`, admin)
	if err != nil {
		return nil, fmt.Errorf("reading the draft of %s: %w", admin, err)
	}
	defer rows.Close()
	var files []DraftFile
	for rows.Next() {
		var f DraftFile
		var at int64
		if err := rows.Scan(&f.Path, &f.Base, &f.Text, &at); err != nil {
			return nil, fmt.Errorf("reading the draft of %s: %w", admin, err)
		}
		f.Updated = time.Unix(at, 0).UTC()
		files = append(files, f)
	}
	return files, rows.Err()
}

// DraftSize returns how many files admin's draft has.
func (d *DB) DraftSize(ctx context.Context, admin string) (int, error) {
	var n int
	err := d.queryRow(ctx, nil, `SELECT count(*) FROM draft_files WHERE admin = ?`, admin).Scan(&n)
	return n, err
}

// RebaseDraftFile makes base the base of the file path of admin's draft,
// its text unchanged: the admin keeps their text over the change someone
// else published to the file since it was drafted. ErrNotFound when the
// draft does not have the file.
func (d *DB) RebaseDraftFile(ctx context.Context, admin, path, base string) error {
	res, err := d.exec(ctx, nil, `UPDATE draft_files SET base = ? WHERE admin = ? AND path = ?`, base, admin, path)
	if err != nil {
		return fmt.Errorf("keeping %s in the draft of %s: %w", path, admin, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteDraftFile removes the file path from admin's draft. Removing a
// file the draft does not have is not an error.
func (d *DB) DeleteDraftFile(ctx context.Context, admin, path string) error {
	if _, err := d.exec(ctx, nil, `DELETE FROM draft_files WHERE admin = ? AND path = ?`, admin, path); err != nil {
		return fmt.Errorf("removing %s from the draft of %s: %w", path, admin, err)
	}
	return nil
}

// DeleteDraft empties admin's draft.
func (d *DB) DeleteDraft(ctx context.Context, admin string) error {
	if _, err := d.exec(ctx, nil, `DELETE FROM draft_files WHERE admin = ?`, admin); err != nil {
		return fmt.Errorf("discarding the draft of %s: %w", admin, err)
	}
	return nil
}
