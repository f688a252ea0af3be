package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestAPIKeys makes, finds, uses, lists and removes keys, known by their
// hash only.
func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	at := time.Unix(1_800_000_000, 0).UTC()
	desk, crm := tokenHash("desk key"), tokenHash("crm key")
	if err := db.AddAPIKey(ctx, "desk", desk, []string{"decisions:read"}, at); err != nil {
		t.Fatalf("AddAPIKey(desk) = %v", err)
	}
	if err := db.AddAPIKey(ctx, "crm", crm, nil, at); err != nil {
		t.Fatalf("AddAPIKey(crm) = %v", err)
	}
	if err := db.AddAPIKey(ctx, "desk", tokenHash("another"), nil, at); !errors.Is(err, ErrExists) {
		t.Errorf("AddAPIKey(desk) again = %v; want ErrExists", err)
	}
	k, err := db.APIKeyByHash(ctx, desk)
	if err != nil || k.Name != "desk" || !slices.Equal(k.Scopes, []string{"decisions:read"}) || !k.Created.Equal(at) || !k.LastUsed.IsZero() {
		t.Errorf("APIKeyByHash(desk) = %+v, %v; want desk, decisions:read, made at %v, never used", k, err, at)
	}
	if _, err := db.APIKeyByHash(ctx, tokenHash("unknown")); !errors.Is(err, ErrNotFound) {
		t.Errorf("APIKeyByHash(unknown) = %v; want ErrNotFound", err)
	}

	// A use is recorded, then not again within the minute.
	used := at.Add(time.Hour)
	for _, when := range []time.Time{used, used.Add(30 * time.Second)} {
		if err := db.APIKeyUsed(ctx, "desk", when, time.Minute); err != nil {
			t.Fatalf("APIKeyUsed(desk, %v) = %v", when, err)
		}
	}
	keys, err := db.APIKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Name != "crm" || keys[1].Name != "desk" || !keys[1].LastUsed.Equal(used) || !keys[0].LastUsed.IsZero() || len(keys[0].Scopes) != 0 {
		t.Errorf("APIKeys = %+v, %v; want crm (no scope, never used) and desk (used at %v)", keys, err, used)
	}
	if err := db.APIKeyUsed(ctx, "desk", used.Add(2*time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	if k, _ := db.APIKeyByHash(ctx, desk); !k.LastUsed.Equal(used.Add(2 * time.Minute)) {
		t.Errorf("after a use two minutes later, LastUsed = %v; want %v", k.LastUsed, used.Add(2*time.Minute))
	}

	if err := db.RemoveAPIKey(ctx, "desk"); err != nil {
		t.Fatalf("RemoveAPIKey(desk) = %v", err)
	}
	if _, err := db.APIKeyByHash(ctx, desk); !errors.Is(err, ErrNotFound) {
		t.Errorf("APIKeyByHash(a removed key) = %v; want ErrNotFound", err)
	}
	if err := db.RemoveAPIKey(ctx, "desk"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveAPIKey(desk) again = %v; want ErrNotFound", err)
	}
}
