package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"acceso/publish"
	"acceso/rules"
	"acceso/server/admin"
)

// TestEightChecksAtOnce has eight admins check a slow draft at the same
// time, and one of them a second one: two checks run, every other request
// is answered 429 with a message saying why.
func TestEightChecksAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two slow checks")
	}
	// Each admin signs in from an address of its own (the sign-in's
	// per-address limit would hold back the sixth).
	ts := newTestServer(t, Config{TrustedProxies: []string{"127.0.0.0/8", "::1/128"}}, publish.Config{Deadline: loadedDeadline})
	const file = "rules/login/causes_test.rego"
	// A Rego test that spins for a few seconds without allocating much.
	text := rules.Embedded().Modules[file] + "\ntest_slow if {\n\tr := numbers.range(1, 2000)\n\tevery i in r {\n\t\tevery j in r {\n\t\t\ti != 0 - j\n\t\t}\n\t}\n}\n"
	type client struct {
		a    *adminClient
		form string
	}
	var clients []client
	for i := range 8 {
		name := fmt.Sprintf("admin%d", i)
		if err := addTestAdmin(ts.db, name); err != nil {
			t.Fatal(err)
		}
		a := newAdminClient(t, ts)
		signIn := a.formOf(t, "/admin/signin")
		signIn.Set("name", name)
		signIn.Set("password", testPassword)
		if resp, _ := a.do(t, http.MethodPost, "/admin/signin", signIn, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1)); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in of %s = %d", name, resp.StatusCode)
		}
		form := a.formOf(t, "/admin/module?file="+file)
		form.Set("file", file)
		form.Set("text", text)
		form.Set("action", "preview")
		clients = append(clients, client{a, form.Encode()})
	}
	clients = append(clients, clients[0]) // admin0 twice

	statuses := make([]int, len(clients))
	bodies := make([]string, len(clients))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range clients {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/admin/module", strings.NewReader(c.form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.a.client.Do(req)
			if err != nil {
				bodies[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			statuses[i], bodies[i] = resp.StatusCode, string(b)
		})
	}
	close(start)
	wg.Wait()
	ran, refused := 0, 0
	for i, st := range statuses {
		switch st {
		case http.StatusTooManyRequests:
			refused++
			if !strings.Contains(bodies[i], "a check of yours is still running") && !strings.Contains(bodies[i], "checks are running on this server") {
				t.Errorf("a refused check says %.300q; want why", bodies[i])
			}
		case http.StatusOK, http.StatusUnprocessableEntity:
			ran++
		default:
			t.Errorf("check %d = %d; want 200, 422 or 429\n%.300s", i, st, bodies[i])
		}
	}
	if ran != admin.MaxChecks || refused != len(clients)-admin.MaxChecks {
		t.Errorf("%d checks at once: %d ran, %d refused with 429; want %d and %d", len(clients), ran, refused, admin.MaxChecks, len(clients)-admin.MaxChecks)
	}
}
