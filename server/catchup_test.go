package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"acceso/internal/pgtest"
)

// TestPublishStormOverReplicas publishes 20 times through the admin's
// edit form, alternated over three replicas sharing one PostgreSQL, with
// a rollback every fourth time, while API clients keep asking all three:
// none is refused as "the rules changed while you edited" and no request
// fails. The replicas do not follow each other's publishes in the
// background here, so each is certain to be behind when its form is
// opened: only the catch-up before rendering brings its base up to date.
func TestPublishStormOverReplicas(t *testing.T) {
	cluster := pgtest.Start(t)
	reps := startReplicasFollowing(t, cluster.NewDatabase(t), 3, false)
	if err := addTestAdmin(reps[0].db, testAdmin); err != nil {
		t.Fatal(err)
	}
	var admins []*adminClient
	for _, r := range reps {
		a := newAdminClient(t, r.testServer)
		if resp := a.signIn(t, testAdmin, testPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in = %d; want 303", resp.StatusCode)
		}
		admins = append(admins, a)
	}
	var urls []string
	for _, r := range reps {
		urls = append(urls, r.URL)
	}
	load := startAPILoad(urls, 3, 0)
	cause := spamCause(t, reps[0].engine.Current())
	page := "/admin/module?file=" + url.QueryEscape(cause.File)
	refused := 0
	for i := range 20 {
		a := admins[i%len(admins)]
		var resp *http.Response
		var body string
		if i%4 == 3 {
			resp, body = a.submit(t, "/admin/revisions", "/admin/revisions/2/rollback", nil)
		} else {
			edited := reps[0].engine.Current().Source.Modules[cause.File] + fmt.Sprintf("\n# publish %d\n", i)
			resp, body = a.submit(t, page, "/admin/module", url.Values{"file": {cause.File}, "text": {edited}, "action": {"publish"}})
		}
		if resp.StatusCode != http.StatusSeeOther {
			refused++
			msg := body
			if i := strings.Index(body, "changed while you edited"); i >= 0 {
				msg = body[max(0, i-200):min(len(body), i+200)]
			}
			t.Errorf("publish %d on replica %d = %d; want 303\n%.600s", i, i%len(admins), resp.StatusCode, msg)
		}
	}
	load.end()
	if load.errs.Load() > 0 || len(load.other) > 0 {
		t.Errorf("API requests failed during the storm: %d errors (%v), answers other than 200: %v", load.errs.Load(), load.lastErr.Load(), load.other)
	}
	t.Logf("20 publishes and rollbacks over 3 replicas: %d refused; %d API answers during them, %d failed", refused, len(load.refs), load.errs.Load())
}
