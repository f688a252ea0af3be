package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"acceso/server/admin"
)

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
	t.Parallel()
	clock := &testClock{t: time.Now()}
	ts := newTestServer(t, Config{TrustedProxies: []string{"127.0.0.0/8", "::1/128"}, Now: clock.now})
	if err := addTestAdmin(ts.db, testAdmin); err != nil {
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
	if counts[http.StatusUnauthorized] != admin.SignInFreeFailures || counts[http.StatusTooManyRequests] != 40-admin.SignInFreeFailures {
		t.Errorf("40 wrong passwords from 8 addresses = %v; want %d refused as wrong, the rest (%d) throttled",
			counts, admin.SignInFreeFailures, 40-admin.SignInFreeFailures)
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
		{"the right password just before the backoff ends", admin.SignInBackoff - time.Second, testAdmin, testPassword, http.StatusTooManyRequests},
		{"the right password after the backoff", 2 * time.Second, testAdmin, testPassword, http.StatusSeeOther},
		{"a failure after the success is not throttled", 0, testAdmin, "wrong again", http.StatusUnauthorized},
	}
	for _, s := range steps {
		clock.advance(s.advance)
		if got, body := attempt(s.admin, s.pass); got != s.want {
			t.Errorf("%s: POST /admin/signin = %d; want %d\n%.300s", s.name, got, s.want, body)
		}
	}
	for i := 2; i <= admin.SignInFreeFailures; i++ {
		attempt("nobody", "x")
	}
	if got, _ := attempt("nobody", "x"); got != http.StatusTooManyRequests {
		t.Errorf("a name without an account after %d failures = %d; want 429 like an account's", admin.SignInFreeFailures, got)
	}
}

// TestKnownDeviceIsNotLockedOut is issue 17's lock-out lever: wrong
// passwords from many addresses throttle the admin's name, yet the browser
// where the admin signed in before still signs in, from any address. That
// browser's own failures are still throttled, and a device cookie that is
// forged, or signed for another name, counts for nothing.
func TestKnownDeviceIsNotLockedOut(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now()}
	ts := newTestServer(t, Config{TrustedProxies: []string{"127.0.0.0/8", "::1/128"}, Now: clock.now})
	if err := addTestAdmin(ts.db, testAdmin); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	attempt := func(b *adminClient, name, password string) int {
		t.Helper()
		attempts++
		form := b.formOf(t, "/admin/signin")
		form.Set("name", name)
		form.Set("password", password)
		resp, _ := b.do(t, http.MethodPost, "/admin/signin", form, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", attempts))
		return resp.StatusCode
	}
	known := newAdminClient(t, ts)
	if got := attempt(known, testAdmin, testPassword); got != http.StatusSeeOther {
		t.Fatalf("the admin's first sign-in = %d; want 303", got)
	}
	device := cookieOf(t, known, admin.DeviceCookie)

	attacker := newAdminClient(t, ts)
	for i := range 3 * admin.SignInFreeFailures {
		attempt(attacker, testAdmin, fmt.Sprintf("guess %d", i))
	}
	if got := attempt(attacker, testAdmin, testPassword); got != http.StatusTooManyRequests {
		t.Fatalf("the right password from a new browser after %d failures = %d; want 429", 3*admin.SignInFreeFailures, got)
	}
	if got := attempt(known, testAdmin, testPassword); got != http.StatusSeeOther {
		t.Errorf("the admin's known browser after %d failures elsewhere = %d; want 303", 3*admin.SignInFreeFailures, got)
	}

	forged := newAdminClient(t, ts)
	setCookie(t, forged, admin.DeviceCookie, device[:len(device)-4]+"AAAA")
	if got := attempt(forged, testAdmin, testPassword); got != http.StatusTooManyRequests {
		t.Errorf("a forged device cookie = %d; want 429", got)
	}
	other := newAdminClient(t, ts)
	setCookie(t, other, admin.DeviceCookie, device)
	if got := attempt(other, "nadie", "x"); got != http.StatusUnauthorized {
		t.Fatalf("another name with the admin's device cookie = %d; want 401", got)
	}

	for i := range admin.SignInFreeFailures {
		if got := attempt(known, testAdmin, fmt.Sprintf("typo %d", i)); got != http.StatusUnauthorized {
			t.Fatalf("the known browser's failure %d = %d; want 401", i+1, got)
		}
	}
	if got := attempt(known, testAdmin, testPassword); got != http.StatusTooManyRequests {
		t.Errorf("the known browser after %d failures of its own = %d; want 429", admin.SignInFreeFailures, got)
	}
}

// cookieOf returns the value of the client's cookie name for /admin/signin.
func cookieOf(t *testing.T, a *adminClient, name string) string {
	t.Helper()
	u, err := url.Parse(a.url + "/admin/signin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range a.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no %s cookie after signing in", name)
	return ""
}

// setCookie gives the client cookie name for /admin/signin.
func setCookie(t *testing.T, a *adminClient, name, value string) {
	t.Helper()
	u, err := url.Parse(a.url + "/admin/signin")
	if err != nil {
		t.Fatal(err)
	}
	a.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/admin/signin"}})
}
