package store

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Pages a visitor can give feedback on.
const (
	PageArticle  = "article"
	PageDiagnose = "diagnose"
)

// FeedbackPages lists the pages a visitor can give feedback on.
var FeedbackPages = []string{PageArticle, PageDiagnose}

// Reactions lists the answers to "Did this answer your question?", from the
// best to the worst.
var Reactions = []string{"yes", "partly", "no"}

// Limits on one feedback.
const (
	// MaxFeedbackCauses bounds the causes one feedback can name.
	MaxFeedbackCauses = 32
	maxIDLen          = 64
)

var (
	causePattern    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	revisionPattern = regexp.MustCompile(`^[0-9a-zA-Z_-]+$`)
	langPattern     = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// Feedback is one visitor's reaction to a page: which page, in which
// language, the reaction, the causes the page showed (none for the article)
// and the policy revision that decided them.
type Feedback struct {
	Page     string
	Lang     string
	Reaction string
	Causes   []string
	Revision string
	// Reference, on a self-diagnosis, is the kept decision the feedback is
	// about; on the article, the nonce of its signed token. Either gets one
	// feedback at most.
	Reference string
	// At is when the feedback was given; zero means now.
	At time.Time
}

// FeedbackError is feedback that cannot be stored: it names the field at
// fault and what is wrong with it.
type FeedbackError struct {
	Field   string
	Problem string
}

func (e *FeedbackError) Error() string { return "feedback " + e.Field + ": " + e.Problem }

// Validate reports the first field of f that cannot be stored, as a
// *FeedbackError. It checks the shape of the values only: that the causes
// and the revision are ones the rules know is for the caller to check
// (the site keeps only the current rules' causes and a revision it served).
func (f Feedback) Validate() error {
	switch {
	case !slices.Contains(FeedbackPages, f.Page):
		return &FeedbackError{"page", fmt.Sprintf("must be one of %v", FeedbackPages)}
	case !langPattern.MatchString(f.Lang):
		return &FeedbackError{"lang", "must be a language code"}
	case !slices.Contains(Reactions, f.Reaction):
		return &FeedbackError{"reaction", fmt.Sprintf("must be one of %v", Reactions)}
	case len(f.Revision) > maxIDLen || !revisionPattern.MatchString(f.Revision):
		return &FeedbackError{"revision", "must be a revision id"}
	case len(f.Causes) > MaxFeedbackCauses:
		return &FeedbackError{"causes", fmt.Sprintf("must name at most %d causes", MaxFeedbackCauses)}
	}
	for _, c := range f.Causes {
		if len(c) > maxIDLen || !causePattern.MatchString(c) {
			return &FeedbackError{"causes", fmt.Sprintf("%.64q is not a cause id", c)}
		}
	}
	return nil
}

// AddFeedback stores one feedback, or returns a *FeedbackError naming the
// field that cannot be stored. A cause named twice is stored once.
func (d *DB) AddFeedback(ctx context.Context, f Feedback) error {
	if err := f.Validate(); err != nil {
		return err
	}
	at := f.At
	if at.IsZero() {
		at = time.Now()
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storing feedback: %w", err)
	}
	defer tx.Rollback()
	var id int64
	if err := d.queryRow(ctx, tx,
		`INSERT INTO feedback (page, lang, reaction, revision, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		f.Page, f.Lang, f.Reaction, f.Revision, at.UTC().Format(time.RFC3339)).Scan(&id); err != nil {
		return fmt.Errorf("storing feedback: %w", err)
	}
	for _, cause := range f.Causes {
		if _, err := d.exec(ctx, tx,
			`INSERT INTO feedback_causes (feedback_id, cause) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, cause); err != nil {
			return fmt.Errorf("storing feedback: %w", err)
		}
	}
	if f.Reference != "" {
		res, err := d.exec(ctx, tx,
			`INSERT INTO feedback_decisions (reference, feedback_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, f.Reference, id)
		if err != nil {
			return fmt.Errorf("storing feedback: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return &FeedbackError{Field: "reference", Problem: "this decision or page already has its feedback"}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("storing feedback: %w", err)
	}
	return nil
}

// FeedbackCount is how many of each reaction one page, cause or revision
// received.
type FeedbackCount struct {
	// Key is the page, the cause id or the revision counted.
	Key    string
	Yes    int
	Partly int
	No     int
}

// Total is the number of reactions counted.
func (c FeedbackCount) Total() int { return c.Yes + c.Partly + c.No }

// FeedbackCounts is the help site's feedback counted three ways, each sorted
// by key: per page (the article or the self-diagnosis), per cause shown and
// per policy revision.
type FeedbackCounts struct {
	ByPage     []FeedbackCount
	ByCause    []FeedbackCount
	ByRevision []FeedbackCount
}

// FeedbackCounts counts every feedback stored.
func (d *DB) FeedbackCounts(ctx context.Context) (FeedbackCounts, error) {
	var counts FeedbackCounts
	queries := []struct {
		into  *[]FeedbackCount
		query string
	}{
		{&counts.ByPage, `SELECT page, reaction, count(*) FROM feedback GROUP BY page, reaction ORDER BY page`},
		{&counts.ByCause, `SELECT c.cause, f.reaction, count(*) FROM feedback_causes c JOIN feedback f ON f.id = c.feedback_id
			GROUP BY c.cause, f.reaction ORDER BY c.cause`},
		{&counts.ByRevision, `SELECT revision, reaction, count(*) FROM feedback GROUP BY revision, reaction ORDER BY revision`},
	}
	for _, q := range queries {
		list, err := d.countReactions(ctx, q.query)
		if err != nil {
			return FeedbackCounts{}, err
		}
		*q.into = list
	}
	return counts, nil
}

// countReactions runs a query whose rows are (key, reaction, count) sorted
// by key, and folds them into one FeedbackCount per key.
func (d *DB) countReactions(ctx context.Context, query string, args ...any) ([]FeedbackCount, error) {
	rows, err := d.query(ctx, nil, query, args...)
	if err != nil {
		return nil, fmt.Errorf("counting feedback: %w", err)
	}
	defer rows.Close()
	var list []FeedbackCount
	for rows.Next() {
		var key, reaction string
		var n int
		if err := rows.Scan(&key, &reaction, &n); err != nil {
			return nil, fmt.Errorf("counting feedback: %w", err)
		}
		if len(list) == 0 || list[len(list)-1].Key != key {
			list = append(list, FeedbackCount{Key: key})
		}
		c := &list[len(list)-1]
		switch reaction {
		case "yes":
			c.Yes += n
		case "partly":
			c.Partly += n
		case "no":
			c.No += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting feedback: %w", err)
	}
	return list, nil
}
