package admin

import (
	"testing"
	"time"
)

func TestSignInBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0},
		{SignInFreeFailures - 1, 0},
		{SignInFreeFailures, SignInBackoff},
		{SignInFreeFailures + 1, 2 * SignInBackoff},
		{SignInFreeFailures + 2, 4 * SignInBackoff},
		{SignInFreeFailures + 4, 16 * SignInBackoff},
		{SignInFreeFailures + 5, SignInMaxBackoff},
		{SignInFreeFailures + 100, SignInMaxBackoff},
	}
	for _, tc := range tests {
		if got := backoff(tc.failures); got != tc.want {
			t.Errorf("backoff(%d) = %v; want %v", tc.failures, got, tc.want)
		}
	}
}
