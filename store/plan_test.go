package store

import (
	"context"
	"strings"
	"testing"
)

// TestDecisionQueriesUseAnIndex checks, in SQLite, that every query that
// ranges or orders the kept decisions by created_at reads an index for it
// (decisions_insights, since migration 10 dropped decisions_created_at)
// instead of scanning the table: with a million decisions kept, a scan is
// the difference between a purge batch in milliseconds and in seconds.
func TestDecisionQueriesUseAnIndex(t *testing.T) {
	if pgCluster != nil {
		t.Skip("SQLite's query plans")
	}
	db := openTestDB(t)
	ctx := context.Background()
	for _, q := range []struct {
		name  string
		query string
		args  []any
	}{
		{"purge", `SELECT reference FROM decisions WHERE created_at < ? LIMIT ?`, []any{0, purgeBatch}},
		{"recent decisions", `SELECT ` + decisionColumnList + ` FROM decisions WHERE created_at >= 0 ORDER BY created_at DESC, reference LIMIT ?`, []any{10}},
		{"legacy references", `SELECT reference FROM decisions
			WHERE created_at < (SELECT applied_at FROM schema_migrations WHERE version = 7)`, nil},
		{"insights since a day", `SELECT d.source, d.symptom, d.findings, count(*)
			FROM decisions d WHERE d.created_at >= ? AND (? = '' OR d.revision = ?)
			GROUP BY 1, 2, 3`, []any{0, "", ""}},
		{"insights of one day", `SELECT d.revision, d.source, d.symptom, count(*)
			FROM decisions d WHERE d.created_at >= ? AND d.created_at < ?
			GROUP BY d.revision, d.source, d.symptom`, []any{0, 86400}},
	} {
		rows, err := db.query(ctx, nil, `EXPLAIN QUERY PLAN `+q.query, q.args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", q.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatalf("EXPLAIN %s: %v", q.name, err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, "INDEX decisions_insights") {
			t.Errorf("the plan of %s = %q; want it to read decisions_insights", q.name, all)
		}
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN decisions") || strings.HasPrefix(step, "SCAN d") {
				if !strings.Contains(step, "INDEX") {
					t.Errorf("the plan of %s scans the table: %q", q.name, all)
				}
			}
		}
		if strings.Contains(all, "decisions_created_at") {
			t.Errorf("the plan of %s reads decisions_created_at, which migration 10 drops: %q", q.name, all)
		}
	}
}
