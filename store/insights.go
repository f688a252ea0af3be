package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Insights are the kept decisions, the self-diagnosis's step counts, the
// feedback and the look-ups, counted for the admins' insights page. Every
// number is counted in SQL (GROUP BY) over one period and, optionally, one
// revision; nothing here identifies a contact: decisions keep no personal
// fact, and steps and look-ups are counts per day, never a session.

// Outcome classes of the insights: a decision with findings is
// causes_found; one without findings but with things to try is to_try
// ("only things to try"); the others keep their outcome (needs_answers,
// no_known_cause).
const (
	ClassCausesFound  = "causes_found"
	ClassToTry        = "to_try"
	ClassNeedsAnswers = "needs_answers"
	ClassNoKnownCause = "no_known_cause"
)

// OutcomeClasses lists the classes in the order the page shows them.
var OutcomeClasses = []string{ClassCausesFound, ClassToTry, ClassNeedsAnswers, ClassNoKnownCause}

// outcomeClass is the SQL that puts a decision (alias d) in its class.
// It is the one place the "only things to try" class is decided: d.to_try is
// the number of things to try the answer listed (Decision.ToTry).
const outcomeClass = `CASE WHEN d.outcome = 'causes_found' THEN 'causes_found' WHEN d.to_try > 0 THEN 'to_try' ELSE d.outcome END`

// Day is the number of the UTC day of t since 1970-01-01: how steps and
// look-ups are counted.
func Day(t time.Time) int64 { return t.Unix() / 86400 }

// weekOf is the SQL for the week of a Unix time column: weeks start on
// Monday, 00:00 UTC (1970-01-01 was a Thursday, three days after one).
const weekOf = `(d.created_at + 259200) / 604800`

// WeekStart is the Monday, 00:00 UTC, that starts week w as weekOf counts.
func WeekStart(w int64) time.Time { return time.Unix(w*604800-259200, 0).UTC() }

// Step is one state of the self-diagnosis as the site showed it, without
// the answers' values: the question asked there (empty at an outcome), the
// fact answered just before (empty at the first state) and whether that
// answer was "I don't know".
type Step struct {
	Day      int64
	Revision string
	Symptom  string
	Asked    string
	Answered string
	Unknown  bool
}

// AddSteps adds counts of steps: each is added to what its day holds.
func (d *DB) AddSteps(ctx context.Context, counts map[Step]int) error {
	if len(counts) == 0 {
		return nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// In a fixed order, so that two replicas adding the same days do not
	// wait for each other's rows crosswise.
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b Step) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	for _, s := range keys {
		unknown := 0
		if s.Unknown {
			unknown = 1
		}
		if _, err := d.exec(ctx, tx, `INSERT INTO diagnosis_steps (day, revision, symptom, asked, answered, unknown, n)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (day, revision, symptom, asked, answered, unknown) DO UPDATE SET n = diagnosis_steps.n + excluded.n`,
			s.Day, s.Revision, s.Symptom, s.Asked, s.Answered, unknown, counts[s]); err != nil {
			return fmt.Errorf("counting steps: %w", err)
		}
	}
	return tx.Commit()
}

// CountLookup counts one look-up of a reference by support at t: source
// and revision are the decision's, both empty when none was found.
func (d *DB) CountLookup(ctx context.Context, t time.Time, source, revision string) error {
	_, err := d.exec(ctx, nil, `INSERT INTO lookups (day, source, revision, n) VALUES (?, ?, ?, 1)
		ON CONFLICT (day, source, revision) DO UPDATE SET n = lookups.n + 1`, Day(t), source, revision)
	if err != nil {
		return fmt.Errorf("counting a look-up: %w", err)
	}
	return nil
}

// PurgeInsights deletes the step, look-up, decision and feedback counts of
// the days before t's.
func (d *DB) PurgeInsights(ctx context.Context, before time.Time) error {
	for _, table := range []string{"diagnosis_steps", "lookups", "decision_days", "cause_days", "feedback_days"} {
		if _, err := d.exec(ctx, nil, `DELETE FROM `+table+` WHERE day < ?`, Day(before)); err != nil {
			return fmt.Errorf("purging %s: %w", table, err)
		}
	}
	return nil
}

// StepCounter counts steps in memory and adds them to the database every
// interval, off the request path. A crash loses at most one interval's
// counts.
type StepCounter struct {
	db      *DB
	onError func(error)
	mu      sync.Mutex
	counts  map[Step]int
	flush   chan chan struct{}
	done    chan struct{}
	closed  sync.Once
}

// NewStepCounter starts a counter that writes every interval; onError
// hears of counts that could not be written (they are kept for the next
// try).
func NewStepCounter(db *DB, every time.Duration, onError func(error)) *StepCounter {
	c := &StepCounter{db: db, onError: onError, counts: map[Step]int{}, flush: make(chan chan struct{}), done: make(chan struct{})}
	go c.run(every)
	return c
}

// Count counts one step.
func (c *StepCounter) Count(s Step) {
	c.mu.Lock()
	c.counts[s]++
	c.mu.Unlock()
}

// Flush writes the counts and returns when they are written.
func (c *StepCounter) Flush() {
	ack := make(chan struct{})
	select {
	case c.flush <- ack:
		<-ack
	case <-c.done:
	}
}

// Close writes the counts and stops the counter.
func (c *StepCounter) Close() {
	c.closed.Do(func() {
		c.Flush()
		close(c.done)
	})
}

func (c *StepCounter) run(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	write := func() {
		c.mu.Lock()
		counts := c.counts
		c.counts = map[Step]int{}
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.db.AddSteps(ctx, counts)
		cancel()
		if err != nil {
			c.mu.Lock()
			for s, n := range counts {
				c.counts[s] += n
			}
			c.mu.Unlock()
			if c.onError != nil {
				c.onError(err)
			}
		}
	}
	for {
		select {
		case <-tick.C:
			write()
		case ack := <-c.flush:
			write()
			close(ack)
		case <-c.done:
			return
		}
	}
}

// InsightsFilter is what the insights count: from the start of the UTC
// day of From, and only Revision's when it is not empty.
type InsightsFilter struct {
	From     time.Time
	Revision string
}

// SymptomCount is the self-diagnoses of one symptom: started on the site
// (its first state shown), ended on the site (an outcome kept) and the
// API's decisions for it.
type SymptomCount struct {
	Symptom  string
	Started  int
	Outcomes int
	API      int
}

// QuestionCount is one question of one symptom on the site: how often it
// was shown (Reached), answered (Answered, "I don't know" included), and
// answered "I don't know"; Stopped is Reached less Answered, at least 0.
type QuestionCount struct {
	Symptom  string
	Fact     string
	Reached  int
	Answered int
	Unknown  int
	Stopped  int
}

// SourceCount is a number of decisions of the site and of the API.
type SourceCount struct {
	Key  string
	Site int
	API  int
}

// Total is the site's and the API's.
func (c SourceCount) Total() int { return c.Site + c.API }

// WeekCount is one week's decisions by outcome class (site and API), and
// by cause found.
type WeekCount struct {
	Week    time.Time
	Classes map[string]int
	Causes  map[string]int
	Site    int
	API     int
}

// Insights is every count of the insights page.
type Insights struct {
	Symptoms  []SymptomCount
	Questions []QuestionCount
	// Outcomes has one row per OutcomeClasses, in its order.
	Outcomes []SourceCount
	// Causes is every cause found, the most found first.
	Causes []SourceCount
	// Weeks is every week of the period, oldest first.
	Weeks []WeekCount
	// FeedbackByOutcome is the feedback on kept decisions, by the
	// decision's class, in the order of OutcomeClasses (classes with
	// none left out).
	FeedbackByOutcome []FeedbackCount
	// FeedbackByCause is the self-diagnosis's feedback by cause shown.
	FeedbackByCause []FeedbackCount
	// Lookups is the references looked up by support, by the source of
	// the decision found ("" for none found).
	Lookups []KeyCount
}

// KeyCount is a number counted under a key.
type KeyCount struct {
	Key string
	N   int
}

// Empty reports whether nothing at all was counted.
func (in Insights) Empty() bool {
	return len(in.Symptoms) == 0 && len(in.Questions) == 0 && len(in.FeedbackByCause) == 0 &&
		len(in.FeedbackByOutcome) == 0 && len(in.Lookups) == 0
}

// Insights counts what the insights page shows, up to now.
func (d *DB) Insights(ctx context.Context, f InsightsFilter, now time.Time) (Insights, error) {
	from := time.Unix(Day(f.From)*86400, 0).UTC()
	var in Insights
	symptoms := map[string]*SymptomCount{}
	symptom := func(s string) *SymptomCount {
		if symptoms[s] == nil {
			symptoms[s] = &SymptomCount{Symptom: s}
		}
		return symptoms[s]
	}

	// The decisions, in one pass: by week, source, symptom, class and
	// the causes found.
	weeks := map[int64]*WeekCount{}
	for w := (from.Unix() + 259200) / 604800; w <= (now.Unix()+259200)/604800; w++ {
		weeks[w] = &WeekCount{Week: WeekStart(w), Classes: map[string]int{}, Causes: map[string]int{}}
	}
	outcomes := map[string]*SourceCount{}
	for _, c := range OutcomeClasses {
		outcomes[c] = &SourceCount{Key: c}
	}
	causes := map[string]*SourceCount{}
	// The days counted by RollUpInsights from decision_days, the others
	// (today's, at least) from the decisions themselves.
	var upto int64
	if err := d.queryRow(ctx, nil, `SELECT upto FROM decision_days_upto WHERE id = 1`).Scan(&upto); err != nil {
		return Insights{}, fmt.Errorf("counting decisions: %w", err)
	}
	upto = max(upto, Day(from))
	type group struct {
		week                         int64
		source, sym, class, findings string
		n                            int
	}
	var groups []group
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`SELECT (d.day * 86400 + 259200) / 604800, d.source, d.symptom, d.class, '', sum(d.n)
			FROM decision_days d WHERE d.day >= ? AND d.day < ? AND (? = '' OR d.revision = ?)
			GROUP BY 1, 2, 3, 4`, []any{Day(from), upto, f.Revision, f.Revision}},
		{`SELECT (d.day * 86400 + 259200) / 604800, d.source, '', '', d.cause, sum(d.n)
			FROM cause_days d WHERE d.day >= ? AND d.day < ? AND (? = '' OR d.revision = ?)
			GROUP BY 1, 2, 5`, []any{Day(from), upto, f.Revision, f.Revision}},
		{`SELECT ` + weekOf + `, d.source, d.symptom, ` + outcomeClass + `, d.findings, count(*)
			FROM decisions d WHERE d.created_at >= ? AND (? = '' OR d.revision = ?)
			GROUP BY 1, 2, 3, 4, 5`, []any{upto * 86400, f.Revision, f.Revision}},
	} {
		rows, err := d.query(ctx, nil, q.query, q.args...)
		if err != nil {
			return Insights{}, fmt.Errorf("counting decisions: %w", err)
		}
		for rows.Next() {
			var g group
			if err := rows.Scan(&g.week, &g.source, &g.sym, &g.class, &g.findings, &g.n); err != nil {
				rows.Close()
				return Insights{}, fmt.Errorf("counting decisions: %w", err)
			}
			groups = append(groups, g)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return Insights{}, fmt.Errorf("counting decisions: %w", err)
		}
	}
	// A group is decisions (with their findings as JSON, or none when
	// counted per day) or, with no class, the decisions that found one
	// cause (findings is then the cause's id).
	for _, g := range groups {
		week, source, sym, class, findings, n := g.week, g.source, g.sym, g.class, g.findings, g.n
		var found []string
		switch {
		case class == "":
			found = []string{findings}
		case findings != "":
			if err := json.Unmarshal([]byte(findings), &found); err != nil {
				return Insights{}, fmt.Errorf("counting decisions: findings %.40q: %w", findings, err)
			}
		}
		wk := weeks[week]
		if wk == nil {
			wk = &WeekCount{Week: WeekStart(week), Classes: map[string]int{}, Causes: map[string]int{}}
			weeks[week] = wk
		}
		site := source == "site"
		for _, c := range found {
			if causes[c] == nil {
				causes[c] = &SourceCount{Key: c}
			}
			if site {
				causes[c].Site += n
			} else {
				causes[c].API += n
			}
			wk.Causes[c] += n
		}
		if class == "" { // a cause's own count: no outcome to add
			continue
		}
		wk.Classes[class] += n
		if outcomes[class] == nil {
			outcomes[class] = &SourceCount{Key: class}
		}
		if site {
			symptom(sym).Outcomes += n
			outcomes[class].Site += n
			wk.Site += n
		} else {
			symptom(sym).API += n
			outcomes[class].API += n
			wk.API += n
		}
	}
	for _, c := range OutcomeClasses {
		in.Outcomes = append(in.Outcomes, *outcomes[c])
		delete(outcomes, c)
	}
	for _, c := range slices.Sorted(maps.Keys(outcomes)) { // an outcome not known here
		in.Outcomes = append(in.Outcomes, *outcomes[c])
	}
	for _, c := range causes {
		in.Causes = append(in.Causes, *c)
	}
	slices.SortFunc(in.Causes, func(a, b SourceCount) int {
		if a.Total() != b.Total() {
			return b.Total() - a.Total()
		}
		return strings.Compare(a.Key, b.Key)
	})
	for _, w := range slices.Sorted(maps.Keys(weeks)) {
		in.Weeks = append(in.Weeks, *weeks[w])
	}

	// The steps of the site's self-diagnosis.
	questions := map[[2]string]*QuestionCount{}
	question := func(sym, fact string) *QuestionCount {
		k := [2]string{sym, fact}
		if questions[k] == nil {
			questions[k] = &QuestionCount{Symptom: sym, Fact: fact}
		}
		return questions[k]
	}
	rows, err := d.query(ctx, nil, `SELECT symptom, asked, answered, unknown, sum(n) FROM diagnosis_steps
		WHERE day >= ? AND (? = '' OR revision = ?) GROUP BY symptom, asked, answered, unknown`,
		Day(from), f.Revision, f.Revision)
	if err != nil {
		return Insights{}, fmt.Errorf("counting steps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sym, asked, answered string
		var unknown, n int
		if err := rows.Scan(&sym, &asked, &answered, &unknown, &n); err != nil {
			return Insights{}, fmt.Errorf("counting steps: %w", err)
		}
		if answered == "" {
			symptom(sym).Started += n
		} else {
			q := question(sym, answered)
			q.Answered += n
			if unknown == 1 {
				q.Unknown += n
			}
		}
		if asked != "" {
			question(sym, asked).Reached += n
		}
	}
	if err := rows.Err(); err != nil {
		return Insights{}, fmt.Errorf("counting steps: %w", err)
	}
	rows.Close()
	for _, q := range questions {
		q.Stopped = max(0, q.Reached-q.Answered)
		in.Questions = append(in.Questions, *q)
	}
	slices.SortFunc(in.Questions, func(a, b QuestionCount) int {
		return strings.Compare(a.Symptom+" "+a.Fact, b.Symptom+" "+b.Fact)
	})
	for _, s := range slices.Sorted(maps.Keys(symptoms)) {
		in.Symptoms = append(in.Symptoms, *symptoms[s])
	}

	// Feedback and look-ups.
	// Feedback: the days counted by RollUpInsights from feedback_days,
	// the others from the feedback itself.
	rawFrom := time.Unix(upto*86400, 0).UTC().Format(time.RFC3339)
	byOutcome, err := d.countReactions(ctx, `SELECT k, reaction, sum(n) FROM (
			SELECT k, reaction, n FROM feedback_days WHERE kind = 'outcome' AND day >= ? AND day < ? AND (? = '' OR revision = ?)
			UNION ALL
			SELECT `+outcomeClass+`, f.reaction, 1
			FROM feedback f JOIN feedback_decisions fd ON fd.feedback_id = f.id JOIN decisions d ON d.reference = fd.reference
			WHERE f.created_at >= ? AND (? = '' OR f.revision = ?)
		) x GROUP BY k, reaction ORDER BY k`,
		Day(from), upto, f.Revision, f.Revision, rawFrom, f.Revision, f.Revision)
	if err != nil {
		return Insights{}, err
	}
	for _, c := range OutcomeClasses {
		if i := slices.IndexFunc(byOutcome, func(fc FeedbackCount) bool { return fc.Key == c }); i >= 0 {
			in.FeedbackByOutcome = append(in.FeedbackByOutcome, byOutcome[i])
		}
	}
	for _, fc := range byOutcome {
		if !slices.Contains(OutcomeClasses, fc.Key) {
			in.FeedbackByOutcome = append(in.FeedbackByOutcome, fc)
		}
	}
	if in.FeedbackByCause, err = d.countReactions(ctx, `SELECT k, reaction, sum(n) FROM (
			SELECT k, reaction, n FROM feedback_days WHERE kind = 'cause' AND day >= ? AND day < ? AND (? = '' OR revision = ?)
			UNION ALL
			SELECT c.cause, f.reaction, 1 FROM feedback_causes c JOIN feedback f ON f.id = c.feedback_id
			WHERE f.page = 'diagnose' AND f.created_at >= ? AND (? = '' OR f.revision = ?)
		) x GROUP BY k, reaction ORDER BY k`,
		Day(from), upto, f.Revision, f.Revision, rawFrom, f.Revision, f.Revision); err != nil {
		return Insights{}, err
	}
	rows, err = d.query(ctx, nil, `SELECT source, sum(n) FROM lookups WHERE day >= ? AND (? = '' OR revision = ?)
		GROUP BY source ORDER BY source`, Day(from), f.Revision, f.Revision)
	if err != nil {
		return Insights{}, fmt.Errorf("counting look-ups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var lc KeyCount
		if err := rows.Scan(&lc.Key, &lc.N); err != nil {
			return Insights{}, fmt.Errorf("counting look-ups: %w", err)
		}
		in.Lookups = append(in.Lookups, lc)
	}
	if err := rows.Err(); err != nil {
		return Insights{}, fmt.Errorf("counting look-ups: %w", err)
	}
	return in, nil
}

// MaxInsightsDays is the longest period the insights count: the days
// before it are never counted per day, and the server purges the counts
// of the days before it (not with the decisions: counts are not personal,
// and a 90-day period then covers 90 days whatever the retention).
const MaxInsightsDays = 90

// RollUpMargin is how long after its end a day is counted into
// decision_days: decisions reach the database within seconds, or after an
// outage of up to a minute (they wait in memory), so an hour is ample. A
// decision written later than that for a day already counted is not in
// the insights (it is still kept and can be looked up).
const RollUpMargin = time.Hour

// RollUpInsights counts the decisions and the feedback of every complete
// day not counted yet (of the last MaxInsightsDays) into decision_days and
// feedback_days, one day per transaction, so that the insights read a row
// per day and kind instead of every decision and feedback. The server calls
// it hourly; replicas calling it together count each day once (the
// transaction locks decision_days_upto first).
func (d *DB) RollUpInsights(ctx context.Context, now time.Time) error {
	last := Day(now.Add(-RollUpMargin)) // the days before it are complete
	for {
		done, err := d.rollUpDay(ctx, last)
		if err != nil {
			return fmt.Errorf("counting decisions per day: %w", err)
		}
		if done {
			return nil
		}
	}
}

// rollUpDay counts the first day not counted yet, if it is before last,
// and says when there is none left.
func (d *DB) rollUpDay(ctx context.Context, last int64) (done bool, err error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	lock := `UPDATE decision_days_upto SET upto = upto WHERE id = 1` // SQLite: take the write lock first
	if d.dialect == postgres {
		lock = `SELECT upto FROM decision_days_upto WHERE id = 1 FOR UPDATE`
	}
	if _, err := tx.ExecContext(ctx, lock); err != nil {
		return false, err
	}
	var upto int64
	if err := d.queryRow(ctx, tx, `SELECT upto FROM decision_days_upto WHERE id = 1`).Scan(&upto); err != nil {
		return false, err
	}
	if upto == 0 { // never counted: from the longest period's first day
		upto = last - MaxInsightsDays
	}
	done = upto >= last
	if !done {
		start, end := time.Unix(upto*86400, 0).UTC(), time.Unix((upto+1)*86400, 0).UTC()
		for _, q := range []struct {
			query string
			args  []any
		}{
			{`INSERT INTO decision_days (day, revision, source, symptom, class, n)
				SELECT CAST(? AS BIGINT), d.revision, d.source, d.symptom, ` + outcomeClass + `, count(*)
				FROM decisions d WHERE d.created_at >= ? AND d.created_at < ?
				GROUP BY d.revision, d.source, d.symptom, ` + outcomeClass, []any{upto, start.Unix(), end.Unix()}},
			{`INSERT INTO cause_days (day, revision, source, cause, n)
				SELECT CAST(? AS BIGINT), d.revision, d.source, j.value, count(*)
				FROM decisions d ` + d.eachFinding() + ` WHERE d.created_at >= ? AND d.created_at < ?
				GROUP BY d.revision, d.source, j.value`, []any{upto, start.Unix(), end.Unix()}},
			{`INSERT INTO feedback_days (day, revision, kind, k, reaction, n)
				SELECT CAST(? AS BIGINT), f.revision, 'outcome', ` + outcomeClass + `, f.reaction, count(*)
				FROM feedback f JOIN feedback_decisions fd ON fd.feedback_id = f.id JOIN decisions d ON d.reference = fd.reference
				WHERE f.created_at >= ? AND f.created_at < ?
				GROUP BY f.revision, ` + outcomeClass + `, f.reaction`, []any{upto, start.Format(time.RFC3339), end.Format(time.RFC3339)}},
			{`INSERT INTO feedback_days (day, revision, kind, k, reaction, n)
				SELECT CAST(? AS BIGINT), f.revision, 'cause', c.cause, f.reaction, count(*)
				FROM feedback_causes c JOIN feedback f ON f.id = c.feedback_id
				WHERE f.page = 'diagnose' AND f.created_at >= ? AND f.created_at < ?
				GROUP BY f.revision, c.cause, f.reaction`, []any{upto, start.Format(time.RFC3339), end.Format(time.RFC3339)}},
		} {
			if _, err := d.exec(ctx, tx, q.query, q.args...); err != nil {
				return false, err
			}
		}
		upto++
	}
	if _, err := d.exec(ctx, tx, `UPDATE decision_days_upto SET upto = ? WHERE id = 1`, upto); err != nil {
		return false, err
	}
	return done, tx.Commit()
}

// eachFinding is the SQL that joins each decision d to its findings, one
// row j per cause (j.value): the findings are a JSON array of ids.
func (d *DB) eachFinding() string {
	if d.dialect == postgres {
		return `CROSS JOIN LATERAL jsonb_array_elements_text(d.findings::jsonb) AS j(value)`
	}
	return `, json_each(d.findings) AS j`
}
