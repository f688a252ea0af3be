package account

import (
	"context"
	"errors"
	"strings"
	"testing"

	"acceso/store"
)

func TestAddAndCheck(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name, admin, password string
		wantErr               string
	}{
		{"ok", "ana", "twelve chars", ""},
		{"reset", "ana", "another good one", ""},
		{"short password", "luis", "eleven char", "too short"},
		{"empty password", "luis", "", "too short"},
		{"too long for bcrypt", "luis", strings.Repeat("x", 73), "longer than 72 bytes"},
		{"empty name", "", "twelve chars", "admin name"},
		{"name with spaces", "ana maria", "twelve chars", "admin name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Add(ctx, db, tc.admin, tc.password)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Add(%q) = %v; want no error", tc.admin, err)
				}
				hash, _ := db.PasswordHash(ctx, tc.admin)
				if strings.Contains(hash, tc.password) || !strings.HasPrefix(hash, "$2") {
					t.Errorf("stored hash %q; want a bcrypt hash, not the password", hash)
				}
				if err := Check(ctx, db, tc.admin, tc.password); err != nil {
					t.Errorf("Check(%s, right password) = %v; want nil", tc.admin, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Add(%q, %d chars) = %v; want an error saying %q", tc.admin, len(tc.password), err, tc.wantErr)
			}
		})
	}
	if err := Check(ctx, db, "ana", "twelve chars"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Check(old password after a reset) = %v; want ErrBadCredentials", err)
	}
}
