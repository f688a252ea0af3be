package apikey

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"acceso/store"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAdd(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		key     string
		scopes  []string
		wantErr string
	}{
		{"with the scope", "desk", []string{ScopeDecisionsRead}, ""},
		{"a scope twice is kept once", "desk2", []string{ScopeDecisionsRead, ScopeDecisionsRead}, ""},
		{"without a scope", "crm.prod-1", nil, ""},
		{"a name in use", "desk", nil, "a key named desk exists"},
		{"an unknown scope", "other", []string{"decisions:write"}, `scope "decisions:write": want one of decisions:read`},
		{"an empty name", "", nil, `key name ""`},
		{"a space in the name", "help desk", nil, `key name "help desk"`},
		{"a name too long", strings.Repeat("k", 65), nil, "key name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := Add(ctx, db, tc.key, tc.scopes, time.Now())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Add(%q, %v) = %v; want an error saying %q", tc.key, tc.scopes, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Add(%q, %v) = %v", tc.key, tc.scopes, err)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, Prefix))
			if !strings.HasPrefix(key, Prefix) || err != nil || len(raw)*8 < 128 {
				t.Errorf("Add(%q) = %q; want %s and at least 128 random bits", tc.key, key, Prefix)
			}
			k, err := Check(ctx, db, key)
			if err != nil || k.Name != tc.key || Allows(k, ScopeDecisionsRead) != (len(tc.scopes) > 0) || len(k.Scopes) > 1 {
				t.Errorf("Check(the key of %s) = %+v, %v; want %s with scopes %v", tc.key, k, err, tc.key, tc.scopes)
			}
		})
	}
}

// TestKeysDiffer makes many keys: none repeats, none shares a prefix
// beyond chance.
func TestKeysDiffer(t *testing.T) {
	db := openStore(t)
	seen := map[string]bool{}
	for i := range 50 {
		key, err := Add(context.Background(), db, "k"+strings.Repeat("x", i), nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if seen[key[:len(Prefix)+8]] {
			t.Fatalf("key %d repeats the start of an earlier one: %s", i, key)
		}
		seen[key[:len(Prefix)+8]] = true
	}
}

func TestCheck(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	key, err := Add(ctx, db, "desk", []string{ScopeDecisionsRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
		want error
	}{
		{"the key", key, nil},
		{"no key", "", ErrMissing},
		{"another key of the right shape", Prefix + strings.Repeat("A", len(key)-len(Prefix)), ErrInvalid},
		{"the key without its prefix", strings.TrimPrefix(key, Prefix), ErrInvalid},
		{"the key cut short", key[:len(key)-1], ErrInvalid},
		{"the key in upper case", strings.ToUpper(key), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Check(ctx, db, tc.key); !errors.Is(err, tc.want) {
				t.Errorf("Check(%s) = %v; want %v", tc.name, err, tc.want)
			}
		})
	}
}

// TestUsed records a key's use to the minute.
func TestUsed(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	key, err := Add(ctx, db, "desk", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_900_000_000, 0)
	for _, step := range []struct {
		when time.Time
		want time.Time
	}{
		{at, at},
		{at.Add(59 * time.Second), at},
		{at.Add(61 * time.Second), at.Add(61 * time.Second)},
	} {
		k, err := Check(ctx, db, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := Used(ctx, db, k, step.when); err != nil {
			t.Fatal(err)
		}
		if k, _ := Check(ctx, db, key); !k.LastUsed.Equal(step.want) {
			t.Errorf("after a use at %v, LastUsed = %v; want %v", step.when, k.LastUsed, step.want)
		}
	}
}
