// Package account manages the admin accounts of Acceso: who may sign in to
// the admin area, and with which password. A password is kept only as a
// bcrypt hash; checking one takes as long whether or not the name exists.
package account

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"acceso/store"
)

// MinPasswordLen is the shortest password an admin may have, in characters.
const MinPasswordLen = 12

// maxPasswordBytes is bcrypt's limit: it ignores anything longer.
const maxPasswordBytes = 72

// namePattern is what an admin name may be made of.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Add creates the admin name with password, or resets the password of an
// existing one (which ends their sessions). A name or password that cannot
// be used is an error saying why.
func Add(ctx context.Context, db *store.DB, name, password string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("admin name %q: use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit", name)
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return fmt.Errorf("password: %d characters is too short; use at least %d", n, MinPasswordLen)
	}
	if len(password) > maxPasswordBytes {
		return fmt.Errorf("password: longer than %d bytes; bcrypt would ignore the rest, so use a shorter one", maxPasswordBytes)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hashing the password: %w", err)
	}
	return db.PutAdmin(ctx, name, string(hash))
}

// unknownHash is compared against when the name is unknown, so that a
// sign-in takes as long whether or not the name exists.
const unknownHash = "$2a$10$72/LEiKlsL4bbDPZwdMD8urlKGULdjjHWYxM2DUtcMFE8UKZnd0VW"

// ErrBadCredentials is the one answer to a wrong name or a wrong password.
var ErrBadCredentials = errors.New("wrong name or password")

// Check returns nil when password is name's, ErrBadCredentials when the
// name or the password is wrong, and any other error of the store.
func Check(ctx context.Context, db *store.DB, name, password string) error {
	hash, err := db.PasswordHash(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_ = bcrypt.CompareHashAndPassword([]byte(unknownHash), []byte(password))
		return ErrBadCredentials
	case err != nil:
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return ErrBadCredentials
	}
	return nil
}
