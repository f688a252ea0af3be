// Package apikey manages the keys integrations (a support desk's ticket
// app, a CRM automation) send as "Authorization: Bearer …": made at random
// and shown once, kept only as their SHA-256, each granting scopes. A key
// is 256 random bits, so a fast hash is enough: there is nothing to guess
// from it, unlike a password.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"acceso/store"
)

// ScopeDecisionsRead lets a key read kept decisions by their reference and
// continue them (GET /api/v1/decisions/{reference} and …/continue).
const ScopeDecisionsRead = "decisions:read"

// Scopes are the scopes a key can be given.
var Scopes = []string{ScopeDecisionsRead}

// Prefix starts every key, so that a key found in a log or a repository
// is recognised as one of Acceso's.
const Prefix = "acc_"

// keyBytes is how many random bytes a key carries: 256 bits.
const keyBytes = 32

// namePattern is what a key's name may be made of.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Errors of Check: no key was sent, or the key sent is not one of ours.
var (
	ErrMissing = errors.New("no API key")
	ErrInvalid = errors.New("invalid API key")
)

// Hash is what the store keeps of a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Add makes a key named name with scopes, stores its hash, and returns the
// key: the only time it is ever seen. A name in use, a name that cannot be
// used or an unknown scope is an error saying why.
func Add(ctx context.Context, db *store.DB, name string, scopes []string, now time.Time) (string, error) {
	if !namePattern.MatchString(name) {
		return "", fmt.Errorf("key name %q: use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit", name)
	}
	var kept []string
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return "", fmt.Errorf("scope %q: want one of %s", s, strings.Join(Scopes, ", "))
		}
		if !slices.Contains(kept, s) {
			kept = append(kept, s)
		}
	}
	b := make([]byte, keyBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	key := Prefix + base64.RawURLEncoding.EncodeToString(b)
	if err := db.AddAPIKey(ctx, name, Hash(key), kept, now); err != nil {
		if errors.Is(err, store.ErrExists) {
			return "", fmt.Errorf("a key named %s exists; remove it first, or choose another name", name)
		}
		return "", err
	}
	return key, nil
}

// Check returns the stored key that key is: ErrMissing for an empty key,
// ErrInvalid for one that is not (or no longer) stored.
func Check(ctx context.Context, db *store.DB, key string) (store.APIKey, error) {
	if key == "" {
		return store.APIKey{}, ErrMissing
	}
	// A key that cannot be one of ours is refused without a query.
	if !strings.HasPrefix(key, Prefix) || len(key) != len(Prefix)+base64.RawURLEncoding.EncodedLen(keyBytes) {
		return store.APIKey{}, ErrInvalid
	}
	k, err := db.APIKeyByHash(ctx, Hash(key))
	if errors.Is(err, store.ErrNotFound) {
		return store.APIKey{}, ErrInvalid
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("checking an API key: %w", err)
	}
	return k, nil
}

// Used records that k was used at now, when its last use recorded is a
// minute old or more: a busy key costs a write a minute, not one per
// request.
func Used(ctx context.Context, db *store.DB, k store.APIKey, now time.Time) error {
	if now.Sub(k.LastUsed) < usedEvery {
		return nil
	}
	return db.APIKeyUsed(ctx, k.Name, now, usedEvery)
}

// usedEvery is how precisely a key's last use is kept: to the minute, so
// that a busy key does not write on every request.
const usedEvery = time.Minute

// Allows reports whether k grants scope.
func Allows(k store.APIKey, scope string) bool { return slices.Contains(k.Scopes, scope) }
