package server

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"acceso/internal/pgtest"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/admin"
	"acceso/store"
)

// insightsNow is the clock of the insights tests: a Saturday noon, UTC.
var insightsNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// serverOn is a test server on db (SQLite or PostgreSQL) with the
// embedded rules and the clock at insightsNow.
func serverOn(tb testing.TB, db *store.DB) *testServer {
	tb.Helper()
	p, err := testPolicy()
	if err != nil {
		tb.Fatalf("rules.Build(embedded) = %v", err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	s := mustNew(tb, Config{APIRate: 1e6, APIBurst: 1e6, Now: func() time.Time { return insightsNow }},
		publish.New(publish.Config{}, rules.NewEngine(p), db, log), db, log)
	tb.Cleanup(s.Close)
	hs := httptest.NewServer(s.Handler())
	tb.Cleanup(hs.Close)
	return &testServer{Server: s, URL: hs.URL, policy: p, db: db, logs: logs}
}

func sqliteServer(tb testing.TB) *testServer {
	tb.Helper()
	db, err := store.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatalf("store.Open = %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return serverOn(tb, db)
}

func postgresServer(tb testing.TB) *testServer {
	tb.Helper()
	db, err := store.OpenURL(context.Background(), pgtest.Start(tb).NewDatabase(tb))
	if err != nil {
		tb.Fatalf("store.OpenURL = %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return serverOn(tb, db)
}

// insightsSeed is what a test keeps: decisions (site and API, two
// revisions), the site's steps, feedback and look-ups, over 100 days.
type insightsSeed struct {
	decisions []store.Kept
	steps     map[store.Step]int
	feedback  []store.Feedback
	lookups   []seededLookup
}

type seededLookup struct {
	at               time.Time
	source, revision string
}

// seedInsights stores a pseudo-random but fixed history under revisions
// revs, and returns it for the test to count on its own.
func seedInsights(t *testing.T, ts *testServer, revs []string) insightsSeed {
	t.Helper()
	ctx := context.Background()
	cat := ts.policy.Catalog
	rnd := rand.New(rand.NewPCG(23, 5))
	var seed insightsSeed
	at := func() time.Time { return insightsNow.Add(-time.Duration(rnd.Int64N(int64(100 * 24 * time.Hour)))) }
	var contactFacts []string
	for _, f := range cat.Facts {
		if f.AskedOf == knowledge.AskedOfContact {
			contactFacts = append(contactFacts, f.Name)
		}
	}
	for i := range 600 {
		d := store.Kept{Reference: fmt.Sprintf("REF-%04d", i), At: at().Truncate(time.Second), Source: "site",
			Revision: revs[rnd.IntN(len(revs))], Symptom: cat.Symptoms[rnd.IntN(len(cat.Symptoms))], Facts: map[string]any{}}
		if rnd.IntN(3) == 0 {
			d.Source = "api"
			if rnd.IntN(2) == 0 {
				d.Symptom = ""
			}
		}
		switch rnd.IntN(4) {
		case 0, 1:
			d.Outcome = "causes_found"
			for range 1 + rnd.IntN(2) {
				c := cat.Causes[rnd.IntN(len(cat.Causes))].ID
				if !slices.Contains(d.Findings, c) {
					d.Findings = append(d.Findings, c)
				}
			}
		case 2:
			d.Outcome = "needs_answers"
			d.ToTry = rnd.IntN(3)
		default:
			d.Outcome = "no_known_cause"
		}
		if d.Findings == nil {
			d.Findings = []string{}
		}
		seed.decisions = append(seed.decisions, d)
	}
	if collided, err := ts.db.AddDecisions(ctx, seed.decisions); err != nil || len(collided) > 0 {
		t.Fatalf("AddDecisions = %d collided, %v", len(collided), err)
	}
	seed.steps = map[store.Step]int{}
	for range 900 {
		s := store.Step{Day: store.Day(at()), Revision: revs[rnd.IntN(len(revs))], Symptom: cat.Symptoms[rnd.IntN(len(cat.Symptoms))]}
		if rnd.IntN(5) > 0 {
			s.Asked = contactFacts[rnd.IntN(len(contactFacts))]
		}
		if rnd.IntN(3) > 0 {
			s.Answered = contactFacts[rnd.IntN(len(contactFacts))]
			s.Unknown = rnd.IntN(4) == 0
		}
		seed.steps[s]++
	}
	if err := ts.db.AddSteps(ctx, seed.steps); err != nil {
		t.Fatal(err)
	}
	for i, d := range seed.decisions {
		if d.Source != "site" || i%3 == 0 {
			continue
		}
		f := store.Feedback{Page: store.PageDiagnose, Lang: "en", Reaction: store.Reactions[rnd.IntN(3)], Causes: d.Findings,
			Revision: d.Revision, Reference: d.Reference, At: d.At.Add(time.Duration(rnd.IntN(3)) * time.Hour)}
		seed.feedback = append(seed.feedback, f)
	}
	for range 40 { // the article's, and a self-diagnosis's whose decision is gone
		f := store.Feedback{Page: store.PageArticle, Lang: "es", Reaction: store.Reactions[rnd.IntN(3)], Revision: revs[rnd.IntN(len(revs))], At: at()}
		if rnd.IntN(2) == 0 {
			f.Page, f.Causes = store.PageDiagnose, []string{cat.Causes[rnd.IntN(len(cat.Causes))].ID}
		}
		seed.feedback = append(seed.feedback, f)
	}
	for _, f := range seed.feedback {
		if err := ts.db.AddFeedback(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		l := seededLookup{at: at()}
		if rnd.IntN(4) > 0 {
			d := seed.decisions[rnd.IntN(len(seed.decisions))]
			l.source, l.revision = d.Source, d.Revision
		}
		if err := ts.db.CountLookup(ctx, l.at, l.source, l.revision); err != nil {
			t.Fatal(err)
		}
		seed.lookups = append(seed.lookups, l)
	}
	return seed
}

// classOf is a decision's outcome class, as README defines it.
func classOf(d store.Kept) string {
	switch {
	case d.Outcome == "causes_found":
		return "causes_found"
	case d.ToTry > 0:
		return "to_try"
	}
	return d.Outcome
}

// expectedInsights counts the seed, in Go, for a period of days and a
// revision ("" for all): each table as its CSV, keys and numbers.
func expectedInsights(seed insightsSeed, cat knowledge.Catalog, days int, rev string) map[string][][]string {
	y, m, d := insightsNow.AddDate(0, 0, 1-days).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	in := func(t time.Time, r string) bool { return !t.Before(from) && (rev == "" || r == rev) }
	itoa := strconv.Itoa
	out := map[string][][]string{}

	// Decisions.
	type sc struct{ site, api int }
	bySymptom := map[string]*[3]int{} // started, outcomes, api
	sym := func(s string) *[3]int {
		if bySymptom[s] == nil {
			bySymptom[s] = &[3]int{}
		}
		return bySymptom[s]
	}
	classes := map[string]*sc{}
	causes := map[string]*sc{}
	week := func(t time.Time) time.Time {
		t = t.UTC()
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	}
	type wk struct {
		classes   map[string]int
		causes    map[string]int
		site, api int
	}
	weeks := map[time.Time]*wk{}
	for w := week(from); !w.After(insightsNow); w = w.AddDate(0, 0, 7) {
		weeks[w] = &wk{classes: map[string]int{}, causes: map[string]int{}}
	}
	n := 0
	for _, dec := range seed.decisions {
		if !in(dec.At, dec.Revision) {
			continue
		}
		n++
		c := classOf(dec)
		if classes[c] == nil {
			classes[c] = &sc{}
		}
		w := weeks[week(dec.At)]
		w.classes[c]++
		for _, f := range dec.Findings {
			if causes[f] == nil {
				causes[f] = &sc{}
			}
			w.causes[f]++
		}
		if dec.Source == "site" {
			sym(dec.Symptom)[1]++
			classes[c].site++
			w.site++
			for _, f := range dec.Findings {
				causes[f].site++
			}
		} else {
			sym(dec.Symptom)[2]++
			classes[c].api++
			w.api++
			for _, f := range dec.Findings {
				causes[f].api++
			}
		}
	}
	// Steps.
	type qc struct{ reached, answered, unknown int }
	questions := map[[2]string]*qc{}
	q := func(s, f string) *qc {
		k := [2]string{s, f}
		if questions[k] == nil {
			questions[k] = &qc{}
		}
		return questions[k]
	}
	for s, k := range seed.steps {
		if !in(time.Unix(s.Day*86400, 0), s.Revision) {
			continue
		}
		if s.Answered == "" {
			sym(s.Symptom)[0] += k
		} else {
			q(s.Symptom, s.Answered).answered += k
			if s.Unknown {
				q(s.Symptom, s.Answered).unknown += k
			}
		}
		if s.Asked != "" {
			q(s.Symptom, s.Asked).reached += k
		}
	}
	symptomOrder := func(s string) int {
		if i := slices.Index(cat.Symptoms, s); i >= 0 {
			return i
		}
		return len(cat.Symptoms)
	}
	factOrder := func(f string) int {
		return slices.IndexFunc(cat.Facts, func(d knowledge.Fact) bool { return d.Name == f })
	}
	syms := slices.SortedFunc(func(yield func(string) bool) {
		for s := range bySymptom {
			if !yield(s) {
				return
			}
		}
	}, func(a, b string) int { return symptomOrder(a) - symptomOrder(b) })
	rows := [][]string{{"symptom", "started", "outcomes", "stopped", "api"}}
	for _, s := range syms {
		v := bySymptom[s]
		rows = append(rows, []string{s, itoa(v[0]), itoa(v[1]), itoa(max(0, v[0]-v[1])), itoa(v[2])})
	}
	out["symptoms"] = rows

	var qkeys [][2]string
	for k := range questions {
		qkeys = append(qkeys, k)
	}
	slices.SortFunc(qkeys, func(a, b [2]string) int {
		return cmp.Or(symptomOrder(a[0])-symptomOrder(b[0]), factOrder(a[1])-factOrder(b[1]))
	})
	rows = [][]string{{"symptom", "fact", "reached", "answered", "unknown", "unknown_rate", "stopped"}}
	for _, k := range qkeys {
		v := questions[k]
		rate := 0.0
		if v.answered > 0 {
			rate = 100 * float64(v.unknown) / float64(v.answered)
		}
		rows = append(rows, []string{k[0], k[1], itoa(v.reached), itoa(v.answered), itoa(v.unknown), fmt.Sprintf("%.1f", rate), itoa(max(0, v.reached-v.answered))})
	}
	out["questions"] = rows

	allClasses := []string{"causes_found", "to_try", "needs_answers", "no_known_cause"}
	rows = [][]string{{"outcome", "site", "api", "total"}}
	if n > 0 {
		for _, c := range allClasses {
			v := classes[c]
			if v == nil {
				v = &sc{}
			}
			rows = append(rows, []string{c, itoa(v.site), itoa(v.api), itoa(v.site + v.api)})
		}
	}
	out["outcomes"] = rows

	var causeKeys []string
	for c := range causes {
		causeKeys = append(causeKeys, c)
	}
	total := func(c string) int { return causes[c].site + causes[c].api }
	slices.SortFunc(causeKeys, func(a, b string) int { return cmp.Or(total(b)-total(a), strings.Compare(a, b)) })
	rows = [][]string{{"cause", "site", "api", "total"}}
	for _, c := range causeKeys {
		rows = append(rows, []string{c, itoa(causes[c].site), itoa(causes[c].api), itoa(total(c))})
	}
	out["causes"] = rows

	weekKeys := slices.SortedFunc(func(yield func(time.Time) bool) {
		for w := range weeks {
			if !yield(w) {
				return
			}
		}
	}, func(a, b time.Time) int { return a.Compare(b) })
	rows = [][]string{append(append([]string{"week"}, allClasses...), "site", "api", "total")}
	top := causeKeys[:min(5, len(causeKeys))]
	causeRows := [][]string{append(append([]string{"week"}, top...), "total")}
	for _, w := range weekKeys {
		v := weeks[w]
		r := []string{w.Format(time.DateOnly)}
		for _, c := range allClasses {
			r = append(r, itoa(v.classes[c]))
		}
		rows = append(rows, append(r, itoa(v.site), itoa(v.api), itoa(v.site+v.api)))
		r = []string{w.Format(time.DateOnly)}
		sum := 0
		for _, c := range top {
			r = append(r, itoa(v.causes[c]))
			sum += v.causes[c]
		}
		if len(top) > 0 {
			causeRows = append(causeRows, append(r, itoa(sum)))
		}
	}
	if n == 0 {
		rows = rows[:1]
	}
	out["weeks"] = rows
	out["cause_weeks"] = causeRows

	// Feedback.
	byRef := map[string]store.Kept{}
	for _, d := range seed.decisions {
		byRef[d.Reference] = d
	}
	reactions := map[string]int{"yes": 0, "partly": 1, "no": 2}
	byClass := map[string]*[3]int{}
	byCause := map[string]*[3]int{}
	for _, f := range seed.feedback {
		if !in(f.At, f.Revision) {
			continue
		}
		if d, ok := byRef[f.Reference]; ok && f.Reference != "" {
			c := classOf(d)
			if byClass[c] == nil {
				byClass[c] = &[3]int{}
			}
			byClass[c][reactions[f.Reaction]]++
		}
		if f.Page == store.PageDiagnose {
			for _, c := range f.Causes {
				if byCause[c] == nil {
					byCause[c] = &[3]int{}
				}
				byCause[c][reactions[f.Reaction]]++
			}
		}
	}
	reactionRow := func(key string, v *[3]int) []string {
		return []string{key, itoa(v[0]), itoa(v[1]), itoa(v[2]), itoa(v[0] + v[1] + v[2])}
	}
	rows = [][]string{{"outcome", "yes", "partly", "no", "total"}}
	for _, c := range allClasses {
		if v := byClass[c]; v != nil {
			rows = append(rows, reactionRow(c, v))
		}
	}
	out["feedback_outcomes"] = rows
	var fcKeys []string
	for c := range byCause {
		fcKeys = append(fcKeys, c)
	}
	sum3 := func(v *[3]int) int { return v[0] + v[1] + v[2] }
	slices.SortFunc(fcKeys, func(a, b string) int { return cmp.Or(sum3(byCause[b])-sum3(byCause[a]), strings.Compare(a, b)) })
	rows = [][]string{{"cause", "yes", "partly", "no", "total"}}
	for _, c := range fcKeys {
		rows = append(rows, reactionRow(c, byCause[c]))
	}
	out["feedback_causes"] = rows

	lookups := map[string]int{}
	for _, l := range seed.lookups {
		if in(time.Unix(store.Day(l.at)*86400, 0), l.revision) {
			lookups[l.source]++
		}
	}
	rows = [][]string{{"source", "lookups"}}
	for _, s := range slices.Sorted(func(yield func(string) bool) {
		for s := range lookups {
			if !yield(s) {
				return
			}
		}
	}) {
		rows = append(rows, []string{s, itoa(lookups[s])})
	}
	out["lookups"] = rows
	return out
}

// insightsTables lists the tables of the page, in its order.
var insightsTables = []string{"symptoms", "questions", "outcomes", "causes", "weeks", "cause_weeks", "feedback_outcomes", "feedback_causes", "lookups"}

var (
	tableCells = regexp.MustCompile(`(?s)<table id="table-([a-z_]+)">(.*?)</table>`)
	bodyRow    = regexp.MustCompile(`(?s)<tr>(<th scope="row">.*?)</tr>`)
	numCell    = regexp.MustCompile(`<td class="num">([^<]*)</td>`)
	chartTotal = regexp.MustCompile(`(?s)<section class="insight"><h2 id="([a-z_]+)">.*?</section>`)
	totalText  = regexp.MustCompile(`class="chart-total">([^<]*)</text>`)
)

// pageTables reads the numbers of every table of an insights page.
func pageTables(body string) map[string][][]string {
	out := map[string][][]string{}
	for _, t := range tableCells.FindAllStringSubmatch(body, -1) {
		rows := [][]string{}
		for _, r := range bodyRow.FindAllStringSubmatch(t[2], -1) {
			var cells []string
			for _, c := range numCell.FindAllStringSubmatch(r[1], -1) {
				cells = append(cells, html.UnescapeString(c[1]))
			}
			rows = append(rows, cells)
		}
		out[t[1]] = rows
	}
	return out
}

// keyColumns is how many key columns each table's CSV starts with.
func keyColumns(table string) int {
	if table == "questions" {
		return 2
	}
	return 1
}

// TestInsights checks every number of the insights page and of its CSV
// downloads against the seed counted in Go, on SQLite.
func TestInsights(t *testing.T) { testInsights(t, sqliteServer(t)) }

// TestInsightsPostgres is TestInsights on PostgreSQL.
func TestInsightsPostgres(t *testing.T) { testInsights(t, postgresServer(t)) }

func testInsights(t *testing.T, ts *testServer) {
	ctx := context.Background()
	current := ts.policy.Revision
	other := "rev-before"
	if _, err := ts.db.AddRevision(ctx, store.Revision{ID: other, Admin: testAdmin, PublishedAt: insightsNow.AddDate(0, 0, -60)}); err != nil {
		t.Fatal(err)
	}
	seed := seedInsights(t, ts, []string{current, other})
	a := signedInAdmin(t, ts)
	filters := []struct {
		days int
		rev  string
	}{{90, ""}, {30, ""}, {7, ""}, {90, other}, {30, current}}
	// Every filter twice: from the decisions themselves, then once the
	// complete days are counted per day (as the server does hourly).
	var checks []struct {
		days int
		rev  string
	}
	checks = append(checks, filters...)
	checks = append(checks, filters...)
	for i, f := range checks {
		if i == len(filters) {
			if err := ts.db.RollUpInsights(ctx, insightsNow); err != nil {
				t.Fatal(err)
			}
		}
		want := expectedInsights(seed, ts.policy.Catalog, f.days, f.rev)
		query := admin.InsightsQuery("", f.days, f.rev)
		resp, body := a.get(t, "/admin/insights?"+query, "Accept-Language", "en")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/insights?%s = %d; want 200\n%s", query, resp.StatusCode, body)
		}
		page := pageTables(body)
		for _, table := range insightsTables {
			// The CSV: keys and numbers, exactly.
			path := "/admin/insights.csv?" + admin.InsightsQuery(table, f.days, f.rev)
			resp, text := a.get(t, path)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("GET %s = %d %s; want 200 text/csv\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), text)
			}
			got, err := csv.NewReader(strings.NewReader(text)).ReadAll()
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			if w := want[table]; !slices.EqualFunc(got, w, slices.Equal) {
				t.Errorf("GET %s =\n%v\nwant\n%v", path, got, w)
			}
			// The page: the same numbers, row for row, shares as percent.
			var wantCells [][]string
			for _, row := range want[table][1:] {
				cells := slices.Clone(row[keyColumns(table):])
				if table == "questions" {
					cells[3] += "%"
				}
				wantCells = append(wantCells, cells)
			}
			if len(wantCells) == 0 {
				if _, shown := page[table]; shown {
					t.Errorf("/admin/insights?%s shows table %s; want none (nothing counted)", query, table)
				}
				continue
			}
			if !slices.EqualFunc(page[table], wantCells, slices.Equal) {
				t.Errorf("/admin/insights?%s table %s =\n%v\nwant\n%v", query, table, page[table], wantCells)
			}
		}
		// Each chart's totals are its table's.
		for _, sec := range chartTotal.FindAllStringSubmatch(body, -1) {
			totals := totalText.FindAllStringSubmatch(sec[0], -1)
			rows := want[sec[1]][1:]
			if len(totals) == 0 {
				continue
			}
			if len(totals) != len(rows) {
				t.Errorf("/admin/insights?%s chart %s has %d bars; want %d", query, sec[1], len(totals), len(rows))
				continue
			}
			col := map[string]int{"symptoms": 1, "questions": 2, "lookups": 1}[sec[1]]
			for i, r := range rows {
				c := col
				if c == 0 {
					c = len(r) - 1 // the total column
				}
				if totals[i][1] != r[c] {
					t.Errorf("/admin/insights?%s chart %s bar %d total = %s; want %s", query, sec[1], i, totals[i][1], r[c])
				}
			}
		}
	}
}

// TestInsightsEmpty: a database with nothing kept shows what the page
// will count and no chart; bad filters are refused naming the field.
func TestInsightsEmpty(t *testing.T) {
	t.Parallel()
	ts := sqliteServer(t)
	a := signedInAdmin(t, ts)
	for _, lang := range locales.Languages {
		resp, body := a.get(t, "/admin/insights", "Accept-Language", lang)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/insights (%s) = %d; want 200", lang, resp.StatusCode)
		}
		want, _ := ts.adminTexts.Text(lang, "InsightsEmptyTitle")
		if !strings.Contains(body, html.EscapeString(want)) || strings.Contains(body, "<svg") || strings.Contains(body, "<table") {
			t.Errorf("GET /admin/insights (%s), nothing kept: want %q and no chart or table\n%s", lang, want, body)
		}
	}
	for _, path := range []string{"/admin/insights?period=14", "/admin/insights?revision=nope", "/admin/insights.csv?table=nope", "/admin/insights.csv?table=causes&period=x"} {
		resp, body := a.get(t, path)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s = %d; want 400\n%.300s", path, resp.StatusCode, body)
		}
	}
}

// TestInsightsCountsTheSite: the site's self-diagnosis counts its steps
// (the question shown, the answer before it, "I don't know") and support's
// look-ups are counted, as the insights read them.
func TestInsightsCountsTheSite(t *testing.T) {
	t.Parallel()
	ts := sqliteServer(t)
	client := newClient(t, ts.URL)
	cat := ts.policy.Catalog
	var first string
	for _, f := range cat.Facts {
		if f.AskedOf == knowledge.AskedOfContact && slices.ContainsFunc(cat.Causes, func(c knowledge.Cause) bool {
			return c.Symptom == "code_not_received" && slices.Contains(c.Facts, f.Name)
		}) {
			first = f.Name
			break
		}
	}
	for _, path := range []string{"/en/diagnose/code_not_received/", "/en/diagnose/code_not_received/", "/en/diagnose/code_not_received/" + first + "=unknown/"} {
		if resp, body := client.get(t, path); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d\n%.300s", path, resp.StatusCode, body)
		}
	}
	ts.steps.Flush()
	in, err := ts.db.Insights(context.Background(), store.InsightsFilter{From: insightsNow}, insightsNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Symptoms) != 1 || in.Symptoms[0].Symptom != "code_not_received" || in.Symptoms[0].Started != 2 {
		t.Errorf("Insights.Symptoms after two starts = %+v; want code_not_received started twice", in.Symptoms)
	}
	i := slices.IndexFunc(in.Questions, func(q store.QuestionCount) bool { return q.Fact == first })
	if i < 0 || in.Questions[i].Reached != 2 || in.Questions[i].Answered != 1 || in.Questions[i].Unknown != 1 || in.Questions[i].Stopped != 1 {
		t.Errorf("Insights.Questions = %+v; want %s reached 2, answered 1 (I don't know), stopped 1", in.Questions, first)
	}

	a := signedInAdmin(t, ts)
	ref := "K7M4-QX9P"
	if _, err := ts.db.AddDecisions(context.Background(), []store.Kept{{Reference: ref, At: insightsNow, Source: "api",
		Revision: ts.policy.Revision, Symptom: "code_not_received", Facts: map[string]any{}, Findings: []string{}, Outcome: "needs_answers"}}); err != nil {
		t.Fatal(err)
	}
	if resp, body := a.get(t, "/admin/decisions?reference="+ref); resp.StatusCode != http.StatusOK {
		t.Fatalf("look-up = %d\n%.500s", resp.StatusCode, body)
	}
	a.get(t, "/admin/decisions?reference="+ref+"&opted_out=yes") // answering it is not another look-up
	a.get(t, "/admin/decisions?reference=WWWW-WWWW")
	if in, err = ts.db.Insights(context.Background(), store.InsightsFilter{From: insightsNow}, insightsNow); err != nil {
		t.Fatal(err)
	}
	want := []store.KeyCount{{Key: "", N: 1}, {Key: "api", N: 1}}
	if !slices.Equal(in.Lookups, want) {
		t.Errorf("Insights.Lookups = %+v; want %+v\n%s", in.Lookups, want, strings.Join(ts.logs.Lines(), "\n"))
	}
}
