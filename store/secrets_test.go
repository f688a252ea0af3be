package store

import (
	"bytes"
	"context"
	"testing"
)

func TestSecretIsMadeOnceAndKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.Secret(ctx, "feedback")
	if err != nil || len(a) != 32 {
		t.Fatalf("Secret = %x, %v; want 32 bytes", a, err)
	}
	other, _ := db.Secret(ctx, "other")
	if bytes.Equal(a, other) {
		t.Errorf("two secrets are the same")
	}
	db.Close()
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if b, err := db.Secret(ctx, "feedback"); err != nil || !bytes.Equal(a, b) {
		t.Errorf("after reopening, Secret = %x, %v; want the same %x", b, err, a)
	}
}
