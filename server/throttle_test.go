package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"acceso/account"
)

func TestSignInBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0},
		{signInFreeFailures - 1, 0},
		{signInFreeFailures, signInBackoff},
		{signInFreeFailures + 1, 2 * signInBackoff},
		{signInFreeFailures + 2, 4 * signInBackoff},
		{signInFreeFailures + 4, 16 * signInBackoff},
		{signInFreeFailures + 5, signInMaxBackoff},
		{signInFreeFailures + 100, signInMaxBackoff},
	}
	for _, tc := range tests {
		if got := backoff(tc.failures); got != tc.want {
			t.Errorf("backoff(%d) = %v; want %v", tc.failures, got, tc.want)
		}
	}
}

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// TestSignInIsThrottledPerAccount guesses one admin's password from eight
// addresses, five guesses each, within every address's own limit: after
// a few failures the name is refused whatever the address, the password
// included, until its backoff ends; a right password then signs in and
// clears the count. Names without an account are counted alike.
func TestSignInIsThrottledPerAccount(t *testing.T) {
	clock := &testClock{t: time.Now()}
	ts := newTestServer(t, Config{TrustedProxies: []string{"127.0.0.0/8", "::1/128"}, Now: clock.now})
	if err := account.Add(context.Background(), ts.db, testAdmin, testPassword); err != nil {
		t.Fatal(err)
	}
	a := newAdminClient(t, ts)
	// The first 40 attempts come from 8 addresses; each later one from an
	// address of its own, which its per-address limit does not hold back.
	attempts := 0
	attempt := func(name, password string) (int, string) {
		t.Helper()
		attempts++
		address := fmt.Sprintf("203.0.113.%d", attempts%8+1)
		if attempts > 40 {
			address = fmt.Sprintf("198.51.100.%d", attempts)
		}
		form := a.formOf(t, "/admin/signin")
		form.Set("name", name)
		form.Set("password", password)
		resp, body := a.do(t, http.MethodPost, "/admin/signin", form, "X-Forwarded-For", address)
		return resp.StatusCode, body
	}

	counts := map[int]int{}
	for i := range 40 {
		status, body := attempt(testAdmin, fmt.Sprintf("guess %d", i))
		counts[status]++
		if status == http.StatusTooManyRequests && !strings.Contains(body, "<html") {
			t.Errorf("a throttled sign-in is not an admin page: %.200s", body)
		}
	}
	if counts[http.StatusUnauthorized] != signInFreeFailures || counts[http.StatusTooManyRequests] != 40-signInFreeFailures {
		t.Errorf("40 wrong passwords from 8 addresses = %v; want %d refused as wrong, the rest (%d) throttled",
			counts, signInFreeFailures, 40-signInFreeFailures)
	}

	steps := []struct {
		name        string
		advance     time.Duration
		admin, pass string
		want        int
	}{
		{"the right password while throttled", 0, testAdmin, testPassword, http.StatusTooManyRequests},
		{"the same name, other case and spaces", 0, " ANA ", testPassword, http.StatusTooManyRequests},
		{"a name without an account, 1st failure", 0, "nobody", "x", http.StatusUnauthorized},
		{"another name is not held back", 0, "nadie", "x", http.StatusUnauthorized},
		{"the right password just before the backoff ends", signInBackoff - time.Second, testAdmin, testPassword, http.StatusTooManyRequests},
		{"the right password after the backoff", 2 * time.Second, testAdmin, testPassword, http.StatusSeeOther},
		{"a failure after the success is not throttled", 0, testAdmin, "wrong again", http.StatusUnauthorized},
	}
	for _, s := range steps {
		clock.advance(s.advance)
		if got, body := attempt(s.admin, s.pass); got != s.want {
			t.Errorf("%s: POST /admin/signin = %d; want %d\n%.300s", s.name, got, s.want, body)
		}
	}
	for i := 2; i <= signInFreeFailures; i++ {
		attempt("nobody", "x")
	}
	if got, _ := attempt("nobody", "x"); got != http.StatusTooManyRequests {
		t.Errorf("a name without an account after %d failures = %d; want 429 like an account's", signInFreeFailures, got)
	}
}
