package admin

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/web"
	"acceso/store"
	"acceso/templates"
)

// insightsPeriods are the periods the insights count, in days; the
// first of insightsDefault when none is asked for.
var insightsPeriods = []int{7, 30, 90}

const insightsDefault = 30

// insightsRevisions bounds the revisions offered in the filter.
const insightsRevisions = 100

// countLookup counts a look-up of a reference by support: the source and
// revision of the decision found, or none. A failure to count is logged;
// the look-up goes on.
func (a *Area) countLookup(ctx context.Context, dec *store.Kept) {
	var source, revision string
	if dec != nil {
		source, revision = dec.Source, dec.Revision
	}
	if err := a.store.CountLookup(ctx, a.now(), source, revision); err != nil {
		a.log.Warn("a look-up could not be counted", "err", err)
	}
}

// insightsFilter reads the period and the revision of an insights
// request: a period other than insightsPeriods, or a revision that is
// neither published nor served, is a bad_request naming it.
func (a *Area) insightsFilter(c echo.Context) (days int, revision string, revisions []string, err error) {
	ctx := c.Request().Context()
	days = insightsDefault
	if v := c.QueryParam("period"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(insightsPeriods, n) {
			return 0, "", nil, answer.BadField("period")
		}
		days = n
	}
	list, err := a.store.Revisions(ctx, insightsRevisions)
	if err != nil {
		return 0, "", nil, err
	}
	revisions = []string{a.engine.Current().Revision}
	for _, r := range list {
		if !slices.Contains(revisions, r.ID) {
			revisions = append(revisions, r.ID)
		}
	}
	revision = c.QueryParam("revision")
	if revision != "" && !slices.Contains(revisions, revision) {
		return 0, "", nil, answer.BadField("revision")
	}
	return days, revision, revisions, nil
}

// insights counts what the page shows, and lays it out as tables.
func (a *Area) insights(c echo.Context) (days int, revision string, revisions []string, tables []insightsTable, empty bool, err error) {
	days, revision, revisions, err = a.insightsFilter(c)
	if err != nil {
		return
	}
	if a.steps != nil {
		a.steps.Flush()
	}
	if a.decisions != nil {
		a.decisions.Flush()
	}
	now := a.now().UTC()
	ctx := c.Request().Context()
	in, err := a.store.Insights(ctx, store.InsightsFilter{From: now.AddDate(0, 0, 1-days), Revision: revision}, now)
	if err != nil {
		return
	}
	p := a.engine.Current()
	return days, revision, revisions, insightTables(ctx, in, p), in.Empty(), nil
}

// handleInsights is the insights page.
func (a *Area) handleInsights(c echo.Context) error {
	days, revision, revisions, tables, empty, err := a.insights(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := a.now().UTC()
	page := templates.AdminInsights{
		Shell:     a.shell(c, "AdminInsightsTitle", "insights"),
		Period:    strconv.Itoa(days),
		Revision:  revision,
		Revisions: revisions,
		Counted: locales.T(ctx, "InsightsCounted") + " " + now.AddDate(0, 0, 1-days).Format(time.DateOnly) +
			" – " + now.Format(time.DateOnly),
		Empty: empty,
	}
	for _, d := range insightsPeriods {
		page.Periods = append(page.Periods, templates.InsightsOption{Value: strconv.Itoa(d), Label: strconv.Itoa(d) + " " + locales.T(ctx, "InsightsDaysUnit")})
	}
	for _, t := range tables {
		page.Sections = append(page.Sections, t.section(ctx, days, revision))
	}
	return web.Render(c, http.StatusOK, templates.AdminInsightsPage(page))
}

// handleInsightsCSV is one table of the insights page as CSV: the
// columns' and the rows' ids, not their labels, so that a spreadsheet
// reads the same in either language.
// Without a table it sends the admin to the page, where each table links
// to its CSV.
func (a *Area) handleInsightsCSV(c echo.Context) error {
	name := c.QueryParam("table")
	if name == "" {
		return c.Redirect(http.StatusSeeOther, "/admin/insights")
	}
	_, _, _, tables, _, err := a.insights(c)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(tables, func(t insightsTable) bool { return t.id == name })
	if i < 0 {
		return answer.BadField("table")
	}
	t := tables[i]
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := append(slices.Clone(t.keyColumns), t.columns...)
	if err := w.Write(head); err != nil {
		return err
	}
	for _, r := range t.rows {
		if err := w.Write(append(slices.Clone(r.keys), r.csv(len(t.columns))...)); err != nil {
			return err
		}
	}
	w.Flush()
	c.Response().Header().Set("Content-Disposition", `attachment; filename="insights-`+t.id+`.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// insightsTable is one table of the insights: its id, the ids of its
// key columns and of its number columns (the CSV's header), their labels
// (the page's), its rows, and which number columns its chart stacks.
type insightsTable struct {
	id         string
	heading    string // message id of the section's heading; the note is heading+"Note"
	keyColumns []string
	columns    []string
	labels     []string // the key column's label, then the number columns'
	rows       []insightsRow
	// series are the number columns the chart stacks (indexes into
	// columns), with their labels; the bar's total is column total.
	series      []int
	seriesLabel []string
	total       int
}

// insightsRow is one row: its keys (ids), its label, its numbers; rates
// are columns whose value is a share (0 to 1).
type insightsRow struct {
	keys   []string
	label  string
	values []float64
	rate   []bool
}

// csv is the row's first n numbers as the CSV writes them: shares in
// percent, one decimal.
func (r insightsRow) csv(n int) []string {
	out := make([]string, n)
	for i, v := range r.values[:n] {
		if r.rate != nil && r.rate[i] {
			out[i] = strconv.FormatFloat(v*100, 'f', 1, 64)
		} else {
			out[i] = strconv.FormatInt(int64(v), 10)
		}
	}
	return out
}

// percent is a share as the page shows it: one decimal and "%", with the
// decimal comma in Spanish.
func percent(lang string, v float64) string {
	s := strconv.FormatFloat(v*100, 'f', 1, 64)
	if lang == "es" {
		return strings.Replace(s, ".", ",", 1) + " %"
	}
	return s + "%"
}

// section is the table as the page shows it, with its chart.
func (t insightsTable) section(ctx context.Context, days int, revision string) templates.InsightsSection {
	lang := locales.Lang(ctx)
	s := templates.InsightsSection{
		ID:      t.id,
		Heading: locales.T(ctx, t.heading),
		Note:    locales.T(ctx, t.heading+"Note"),
		CSV:     "/admin/insights.csv?" + InsightsQuery(t.id, days, revision),
	}
	s.Table = templates.InsightsTable{Caption: s.Heading, Head: t.labels}
	for _, r := range t.rows {
		cells := []string{r.label}
		for i, v := range r.values[:len(t.columns)] {
			if r.rate != nil && r.rate[i] {
				cells = append(cells, percent(lang, v))
			} else {
				cells = append(cells, strconv.FormatInt(int64(v), 10))
			}
		}
		s.Table.Rows = append(s.Table.Rows, cells)
	}
	if len(t.series) > 0 && len(t.rows) > 0 {
		s.Chart = t.chart(s.Heading)
	}
	return s
}

// InsightsQuery is the query string of the page (table "") or of a
// table's CSV, for a period and a revision.
func InsightsQuery(table string, days int, revision string) string {
	q := url.Values{"period": {strconv.Itoa(days)}}
	if table != "" {
		q.Set("table", table)
	}
	if revision != "" {
		q.Set("revision", revision)
	}
	return q.Encode()
}

// Chart geometry, in the SVG's own units: a bar per row, its label above.
const (
	chartWidth  = 320
	chartBars   = chartWidth - 48 // room for the total after the longest bar
	chartRow    = 40
	chartLabel  = 42 // characters of a label before it is cut (13 px text in 320 units)
	chartSeries = 5  // colour classes s1…s5 in admin.css
)

// chart draws the table's series as stacked horizontal bars, scaled to
// the largest bar; the description lists every bar's total.
func (t insightsTable) chart(title string) *templates.InsightsChart {
	c := &templates.InsightsChart{Title: title, Width: chartWidth, Height: len(t.rows)*chartRow + 4}
	for i, label := range t.seriesLabel {
		c.Legend = append(c.Legend, templates.InsightsLegend{Class: seriesClass(i), Label: label})
	}
	largest := 0.0
	for _, r := range t.rows {
		sum := 0.0
		for _, col := range t.series {
			sum += r.values[col]
		}
		largest = max(largest, sum)
	}
	var desc []string
	for i, r := range t.rows {
		top := i * chartRow
		b := templates.InsightsBar{Label: cut(r.label), LabelY: top + 14, BarY: top + 19}
		x := 0
		for j, col := range t.series {
			v := r.values[col]
			if v <= 0 {
				continue
			}
			w := int(v * chartBars / max(largest, 1))
			w = max(w, 1)
			b.Segments = append(b.Segments, templates.InsightsSegment{X: x, Width: w, Class: seriesClass(j),
				Title: t.seriesLabel[j] + ": " + strconv.FormatInt(int64(v), 10)})
			x += w
		}
		b.Total = strconv.FormatInt(int64(r.values[t.total]), 10)
		b.TotalX, b.TotalY = x+4, b.BarY+12
		c.Bars = append(c.Bars, b)
		desc = append(desc, r.label+": "+b.Total)
	}
	c.Desc = strings.Join(desc, "; ") + "."
	return c
}

func seriesClass(i int) string { return "s" + strconv.Itoa(i%chartSeries+1) }

// cut shortens a label for a chart; the table has it whole.
func cut(s string) string {
	r := []rune(s)
	if len(r) <= chartLabel {
		return s
	}
	return string(r[:chartLabel-1]) + "…"
}

// topCauses is how many causes the weekly trend of causes follows.
const topCauses = 5

// insightTables lays the counts out as the page's tables, in the admin's
// language (ctx) with the knowledge's names (p's texts), ordered as the
// rules declare symptoms and facts.
func insightTables(ctx context.Context, in store.Insights, p *rules.Policy) []insightsTable {
	lang := locales.Lang(ctx)
	l := locales.NewLocalizer(p.Texts, lang)
	T := func(id string) string { return locales.T(ctx, id) }
	symptomName := func(s string) string {
		if s == "" {
			return T("InsightsAllSymptoms")
		}
		if slices.Contains(p.Catalog.Symptoms, s) {
			return l.T(locales.SymptomTitle(s))
		}
		return s
	}
	causeName := func(c string) string {
		if _, ok := p.Catalog.Cause(c); ok {
			return l.T(locales.CauseTitle(c))
		}
		return c
	}
	classNames := map[string]string{
		store.ClassCausesFound: T("InsightsClassCausesFound"), store.ClassToTry: T("InsightsClassToTry"),
		store.ClassNeedsAnswers: T("InsightsClassNeedsAnswers"), store.ClassNoKnownCause: T("InsightsClassNoKnownCause"),
	}
	className := func(c string) string {
		if n, ok := classNames[c]; ok {
			return n
		}
		return c
	}
	symptomOrder := func(s string) int {
		if i := slices.Index(p.Catalog.Symptoms, s); i >= 0 {
			return i
		}
		if s == "" {
			return len(p.Catalog.Symptoms)
		}
		return len(p.Catalog.Symptoms) + 1
	}
	factOrder := func(f string) int {
		if i := slices.IndexFunc(p.Catalog.Facts, func(d knowledge.Fact) bool { return d.Name == f }); i >= 0 {
			return i
		}
		return len(p.Catalog.Facts)
	}
	site, api, total := T("InsightsSite"), T("InsightsAPI"), T("InsightsTotal")
	yes, partly, no := T("AdminFeedbackYes"), T("AdminFeedbackPartly"), T("AdminFeedbackNo")

	symptoms := insightsTable{id: "symptoms", heading: "InsightsSymptoms", keyColumns: []string{"symptom"},
		columns: []string{"started", "outcomes", "stopped", "api"},
		labels:  []string{T("InsightsSymptom"), T("InsightsStarted"), T("InsightsOutcomes"), T("InsightsNoOutcome"), T("InsightsAPIDecisions")},
		series:  []int{1, 2}, seriesLabel: []string{T("InsightsOutcomes"), T("InsightsNoOutcome")}, total: 0}
	list := slices.Clone(in.Symptoms)
	slices.SortStableFunc(list, func(a, b store.SymptomCount) int { return symptomOrder(a.Symptom) - symptomOrder(b.Symptom) })
	for _, s := range list {
		symptoms.rows = append(symptoms.rows, insightsRow{keys: []string{s.Symptom}, label: symptomName(s.Symptom),
			values: []float64{float64(s.Started), float64(s.Outcomes), float64(max(0, s.Started-s.Outcomes)), float64(s.API)}})
	}

	questions := insightsTable{id: "questions", heading: "InsightsQuestions", keyColumns: []string{"symptom", "fact"},
		columns: []string{"reached", "answered", "unknown", "unknown_rate", "stopped"},
		labels:  []string{T("InsightsQuestion"), T("InsightsReached"), T("InsightsAnswered"), T("InsightsUnknown"), T("InsightsUnknownRate"), T("InsightsStopped")},
		series:  []int{5, 2, 4}, seriesLabel: []string{T("InsightsAnsweredKnown"), T("InsightsUnknown"), T("InsightsStopped")}, total: 0}
	qs := slices.Clone(in.Questions)
	slices.SortStableFunc(qs, func(a, b store.QuestionCount) int {
		if d := symptomOrder(a.Symptom) - symptomOrder(b.Symptom); d != 0 {
			return d
		}
		return factOrder(a.Fact) - factOrder(b.Fact)
	})
	for _, q := range qs {
		rate := 0.0
		if q.Answered > 0 {
			rate = float64(q.Unknown) / float64(q.Answered)
		}
		// A hidden sixth value, the answers other than "I don't know",
		// is what the chart stacks first; the table shows five.
		questions.rows = append(questions.rows, insightsRow{keys: []string{q.Symptom, q.Fact},
			label:  l.T(locales.Question(q.Fact)) + " (" + symptomName(q.Symptom) + ")",
			values: []float64{float64(q.Reached), float64(q.Answered), float64(q.Unknown), rate, float64(q.Stopped), float64(q.Answered - q.Unknown)},
			rate:   []bool{false, false, false, true, false, false}})
	}

	outcomes := insightsTable{id: "outcomes", heading: "InsightsOutcomesBy", keyColumns: []string{"outcome"},
		columns: []string{"site", "api", "total"}, labels: []string{T("InsightsOutcome"), site, api, total},
		series: []int{0, 1}, seriesLabel: []string{site, api}, total: 2}
	for _, o := range in.Outcomes {
		outcomes.rows = append(outcomes.rows, insightsRow{keys: []string{o.Key}, label: className(o.Key),
			values: []float64{float64(o.Site), float64(o.API), float64(o.Total())}})
	}
	if totalOf(outcomes.rows, 2) == 0 {
		outcomes.rows = nil
	}

	causes := insightsTable{id: "causes", heading: "InsightsCauses", keyColumns: []string{"cause"},
		columns: []string{"site", "api", "total"}, labels: []string{T("InsightsCause"), site, api, total},
		series: []int{0, 1}, seriesLabel: []string{site, api}, total: 2}
	for _, c := range in.Causes {
		causes.rows = append(causes.rows, insightsRow{keys: []string{c.Key}, label: causeName(c.Key),
			values: []float64{float64(c.Site), float64(c.API), float64(c.Total())}})
	}

	weeks := insightsTable{id: "weeks", heading: "InsightsWeeks", keyColumns: []string{"week"},
		labels: []string{T("InsightsWeek")}, series: []int{0, 1, 2, 3}, total: 6}
	for _, c := range store.OutcomeClasses {
		weeks.columns = append(weeks.columns, c)
		weeks.labels = append(weeks.labels, className(c))
		weeks.seriesLabel = append(weeks.seriesLabel, className(c))
	}
	weeks.columns = append(weeks.columns, "site", "api", "total")
	weeks.labels = append(weeks.labels, site, api, total)
	for _, w := range in.Weeks {
		r := insightsRow{keys: []string{w.Week.Format(time.DateOnly)}, label: w.Week.Format(time.DateOnly)}
		for _, c := range store.OutcomeClasses {
			r.values = append(r.values, float64(w.Classes[c]))
		}
		r.values = append(r.values, float64(w.Site), float64(w.API), float64(w.Site+w.API))
		weeks.rows = append(weeks.rows, r)
	}
	if totalOf(weeks.rows, 6) == 0 {
		weeks.rows = nil
	}

	causeWeeks := insightsTable{id: "cause_weeks", heading: "InsightsCauseWeeks", keyColumns: []string{"week"},
		labels: []string{T("InsightsWeek")}, total: -1}
	top := in.Causes[:min(topCauses, len(in.Causes))]
	for i, c := range top {
		causeWeeks.columns = append(causeWeeks.columns, c.Key)
		causeWeeks.labels = append(causeWeeks.labels, causeName(c.Key))
		causeWeeks.series = append(causeWeeks.series, i)
		causeWeeks.seriesLabel = append(causeWeeks.seriesLabel, causeName(c.Key))
	}
	causeWeeks.columns = append(causeWeeks.columns, "total")
	causeWeeks.labels = append(causeWeeks.labels, total)
	causeWeeks.total = len(top)
	if len(top) > 0 {
		for _, w := range in.Weeks {
			r := insightsRow{keys: []string{w.Week.Format(time.DateOnly)}, label: w.Week.Format(time.DateOnly)}
			sum := 0
			for _, c := range top {
				r.values = append(r.values, float64(w.Causes[c.Key]))
				sum += w.Causes[c.Key]
			}
			r.values = append(r.values, float64(sum))
			causeWeeks.rows = append(causeWeeks.rows, r)
		}
	}

	reactions := func(id, heading, key, keyLabel string, counts []store.FeedbackCount, name func(string) string) insightsTable {
		t := insightsTable{id: id, heading: heading, keyColumns: []string{key},
			columns: []string{"yes", "partly", "no", "total"}, labels: []string{keyLabel, yes, partly, no, total},
			series: []int{0, 1, 2}, seriesLabel: []string{yes, partly, no}, total: 3}
		for _, fc := range counts {
			t.rows = append(t.rows, insightsRow{keys: []string{fc.Key}, label: name(fc.Key),
				values: []float64{float64(fc.Yes), float64(fc.Partly), float64(fc.No), float64(fc.Total())}})
		}
		return t
	}
	byCause := slices.Clone(in.FeedbackByCause)
	slices.SortStableFunc(byCause, func(a, b store.FeedbackCount) int { return b.Total() - a.Total() })

	lookups := insightsTable{id: "lookups", heading: "InsightsLookups", keyColumns: []string{"source"},
		columns: []string{"lookups"}, labels: []string{T("InsightsFoundIn"), T("InsightsLookedUp")},
		series: []int{0}, seriesLabel: []string{T("InsightsLookedUp")}, total: 0}
	for _, lc := range in.Lookups {
		label := T("InsightsNotFound")
		switch lc.Key {
		case "site":
			label = site
		case "api":
			label = api
		case "":
		default:
			label = lc.Key
		}
		lookups.rows = append(lookups.rows, insightsRow{keys: []string{lc.Key}, label: label, values: []float64{float64(lc.N)}})
	}

	return []insightsTable{symptoms, questions, outcomes, causes, weeks, causeWeeks,
		reactions("feedback_outcomes", "InsightsFeedbackOutcomes", "outcome", T("InsightsOutcome"), in.FeedbackByOutcome, className),
		reactions("feedback_causes", "InsightsFeedbackCauses", "cause", T("InsightsCause"), byCause, causeName),
		lookups}
}

// totalOf is the sum of column col over rows.
func totalOf(rows []insightsRow, col int) float64 {
	sum := 0.0
	for _, r := range rows {
		sum += r.values[col]
	}
	return sum
}
