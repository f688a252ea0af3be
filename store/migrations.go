package store

// The schema, in each dialect: every table and index is created by a
// numbered migration, and its SQL is written here only.

// migrations are the schema's history. Migration 1 is the schema as it was
// before migrations were numbered: its statements say IF NOT EXISTS, so a
// SQLite file made by an earlier release gets its version recorded and
// nothing else.
var migrations = []migration{
	{1, "feedback, admins, sessions, revisions, decisions",
		feedbackSchema + adminSchema + decisionSchema,
		pgFeedbackSchema + pgAdminSchema + pgDecisionSchema},
	{2, "sign-in throttles shared by every replica", signInSchema, pgSignInSchema},
	{3, "one feedback per kept decision",
		`CREATE TABLE IF NOT EXISTS feedback_decisions (
	reference   TEXT PRIMARY KEY,
	feedback_id INTEGER NOT NULL REFERENCES feedback (id) ON DELETE CASCADE
);`,
		`CREATE TABLE IF NOT EXISTS feedback_decisions (
	reference   TEXT PRIMARY KEY,
	feedback_id BIGINT NOT NULL REFERENCES feedback (id) ON DELETE CASCADE
);`},
	{4, "secrets shared by every replica",
		`CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
		`CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);`},
	{5, "each admin's draft: files changed together, published as one revision", draftSchema, pgDraftSchema},
	{7, "blocks of references, so that two decisions never share one", referenceSchema, referenceSchema},
	{8, "integrations' API keys, kept as their hash", apiKeySchema, pgAPIKeySchema},
	{9, "insights: step and look-up counts, things to try, indexes for a period", insightsSchema, pgInsightsSchema},
	{10, "one index fewer to write per kept decision", dropDecisionsCreatedAt, dropDecisionsCreatedAt},
	// The topic a kept decision was decided in; '' for the decisions kept
	// before there were topics, all of them the default topic's.
	{11, "the topic of each kept decision",
		`ALTER TABLE decisions ADD COLUMN topic TEXT NOT NULL DEFAULT '';`,
		`ALTER TABLE decisions ADD COLUMN IF NOT EXISTS topic TEXT NOT NULL DEFAULT '';`},
}

// dropDecisionsCreatedAt is migration 10 in both dialects. The index on
// decisions (created_at) of migration 1 is a prefix of decisions_insights
// (migration 9), which serves every query that ranges or orders on
// created_at (purge, insights, the recent decisions, the legacy
// references): keeping both cost one more B-tree insert per decision kept.
// TestDecisionQueriesUseAnIndex checks those queries' plans.
const dropDecisionsCreatedAt = `DROP INDEX IF EXISTS decisions_created_at;`

// feedbackSchema holds the help site's feedback: one row per reaction, with
// the page it was given on, its language, the policy revision that answered
// and the time, and one row per cause the visitor was shown. Nothing in it
// identifies a visitor.
const feedbackSchema = `
CREATE TABLE IF NOT EXISTS feedback (
	id         INTEGER PRIMARY KEY,
	page       TEXT NOT NULL CHECK (page IN ('article', 'diagnose')),
	lang       TEXT NOT NULL,
	reaction   TEXT NOT NULL CHECK (reaction IN ('yes', 'partly', 'no')),
	revision   TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_revision ON feedback (revision);
CREATE TABLE IF NOT EXISTS feedback_causes (
	feedback_id INTEGER NOT NULL REFERENCES feedback (id) ON DELETE CASCADE,
	cause       TEXT NOT NULL,
	PRIMARY KEY (feedback_id, cause)
);
CREATE INDEX IF NOT EXISTS feedback_causes_cause ON feedback_causes (cause);
`

// adminSchema holds admin accounts, sessions and published revisions.
//
// A session row keeps only the SHA-256 of its token, so a copy of the
// database does not sign anyone in. A revision row keeps the whole source it
// published (as JSON), so any revision can be served again; seq orders the
// rows, and id (the source's hash) repeats when a rollback publishes an
// earlier source again.
const adminSchema = `
CREATE TABLE IF NOT EXISTS admins (
	name          TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
	token_hash BLOB PRIMARY KEY,
	admin      TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_admin ON sessions(admin);
CREATE TABLE IF NOT EXISTS revisions (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL,
	admin        TEXT NOT NULL,
	published_at INTEGER NOT NULL,
	note         TEXT NOT NULL,
	diff         TEXT NOT NULL,
	source       TEXT NOT NULL
);
`

// decisionSchema keeps the decisions the site and the API made, by their
// reference, for support staff to look up: never a personal fact (the
// caller leaves them out; see Decision).
const decisionSchema = `
CREATE TABLE IF NOT EXISTS decisions (
	reference  TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL,
	source     TEXT NOT NULL,
	revision   TEXT NOT NULL,
	symptom    TEXT NOT NULL,
	facts      TEXT NOT NULL,
	findings   TEXT NOT NULL,
	outcome    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_created_at ON decisions (created_at);
`

// signInSchema keeps the failed sign-ins per account name, so that every
// replica sees them: a name's failures since its last success, when its
// attempts may resume, and its last failure. The name is kept as its hash
// (the caller's), so the table is no list of the names tried. Times are
// Unix milliseconds.
const signInSchema = `
CREATE TABLE IF NOT EXISTS sign_in_failures (
	name          BLOB PRIMARY KEY,
	failures      INTEGER NOT NULL,
	blocked_until INTEGER NOT NULL,
	last_failure  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_failures_blocked_until ON sign_in_failures (blocked_until);
`

// pgSignInSchema is signInSchema in PostgreSQL.
const pgSignInSchema = `
CREATE TABLE IF NOT EXISTS sign_in_failures (
	name          BYTEA PRIMARY KEY,
	failures      INTEGER NOT NULL,
	blocked_until BIGINT NOT NULL,
	last_failure  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_failures_blocked_until ON sign_in_failures (blocked_until);
`

// draftSchema holds each admin's draft: the files of the rules and their
// texts that the admin has changed and not yet published, kept until they
// are published as one revision or discarded. A row keeps, besides the
// draft's text, the text the file had when it entered the draft (base), so
// that a change someone else publishes to the same file meanwhile is
// caught instead of undone. Rules and texts only: nothing personal.
const (
	draftSchema = `
CREATE TABLE IF NOT EXISTS draft_files (
	admin      TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE,
	path       TEXT NOT NULL,
	base       TEXT NOT NULL,
	text       TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (admin, path)
);
`
	pgDraftSchema = `
CREATE TABLE IF NOT EXISTS draft_files (
	admin      TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE,
	path       TEXT NOT NULL,
	base       TEXT NOT NULL,
	text       TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (admin, path)
);
`
)

// referenceSchema is migration 7: the counter of reference blocks.
const referenceSchema = `
CREATE TABLE IF NOT EXISTS reference_blocks (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	next BIGINT NOT NULL
);
INSERT INTO reference_blocks (id, next) VALUES (1, 0) ON CONFLICT DO NOTHING;
`

// apiKeySchema keeps the integrations' API keys: a name for people, the
// SHA-256 of the key (never the key: it is shown once, when made), the
// scopes it grants (space-separated) and when it was made and last used
// (Unix seconds; 0 for never).
const apiKeySchema = `
CREATE TABLE IF NOT EXISTS api_keys (
	name         TEXT PRIMARY KEY,
	key_hash     BLOB NOT NULL UNIQUE,
	scopes       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL
);
`

// pgAPIKeySchema is apiKeySchema in PostgreSQL.
const pgAPIKeySchema = `
CREATE TABLE IF NOT EXISTS api_keys (
	name         TEXT PRIMARY KEY,
	key_hash     BYTEA NOT NULL UNIQUE,
	scopes       TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL
);
`

// insightsSchema is migration 9 in SQLite: the step counts, the look-up
// counts, the decisions, their causes and the feedback counted per day
// (decision_days, cause_days and feedback_days, complete up to the day
// decision_days_upto names), the
// decision's number of things to try,
// and the indexes the period's queries read.
const insightsSchema = `
CREATE TABLE IF NOT EXISTS diagnosis_steps (
	day      INTEGER NOT NULL,
	revision TEXT NOT NULL,
	symptom  TEXT NOT NULL,
	asked    TEXT NOT NULL,
	answered TEXT NOT NULL,
	unknown  INTEGER NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (day, revision, symptom, asked, answered, unknown)
);
CREATE TABLE IF NOT EXISTS lookups (
	day      INTEGER NOT NULL,
	source   TEXT NOT NULL,
	revision TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (day, source, revision)
);
CREATE TABLE IF NOT EXISTS decision_days (
	day      INTEGER NOT NULL,
	revision TEXT NOT NULL,
	source   TEXT NOT NULL,
	symptom  TEXT NOT NULL,
	class    TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (day, revision, source, symptom, class)
);
CREATE TABLE IF NOT EXISTS cause_days (
	day      INTEGER NOT NULL,
	revision TEXT NOT NULL,
	source   TEXT NOT NULL,
	cause    TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (day, revision, source, cause)
);
CREATE TABLE IF NOT EXISTS feedback_days (
	day      INTEGER NOT NULL,
	revision TEXT NOT NULL,
	kind     TEXT NOT NULL,
	k        TEXT NOT NULL,
	reaction TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (day, revision, kind, k, reaction)
);
CREATE TABLE IF NOT EXISTS decision_days_upto (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL);
INSERT INTO decision_days_upto (id, upto) VALUES (1, 0) ON CONFLICT DO NOTHING;
ALTER TABLE decisions ADD COLUMN to_try INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS decisions_insights ON decisions (created_at, revision, source, symptom, outcome, to_try, findings);
CREATE INDEX IF NOT EXISTS feedback_created_at ON feedback (created_at);
CREATE INDEX IF NOT EXISTS feedback_decisions_feedback ON feedback_decisions (feedback_id);
`

// pgInsightsSchema is migration 9 in PostgreSQL.
const pgInsightsSchema = `
CREATE TABLE IF NOT EXISTS diagnosis_steps (
	day      BIGINT NOT NULL,
	revision TEXT NOT NULL,
	symptom  TEXT NOT NULL,
	asked    TEXT NOT NULL,
	answered TEXT NOT NULL,
	unknown  INTEGER NOT NULL,
	n        BIGINT NOT NULL,
	PRIMARY KEY (day, revision, symptom, asked, answered, unknown)
);
CREATE TABLE IF NOT EXISTS lookups (
	day      BIGINT NOT NULL,
	source   TEXT NOT NULL,
	revision TEXT NOT NULL,
	n        BIGINT NOT NULL,
	PRIMARY KEY (day, source, revision)
);
CREATE TABLE IF NOT EXISTS decision_days (
	day      BIGINT NOT NULL,
	revision TEXT NOT NULL,
	source   TEXT NOT NULL,
	symptom  TEXT NOT NULL,
	class    TEXT NOT NULL,
	n        BIGINT NOT NULL,
	PRIMARY KEY (day, revision, source, symptom, class)
);
CREATE TABLE IF NOT EXISTS cause_days (
	day      BIGINT NOT NULL,
	revision TEXT NOT NULL,
	source   TEXT NOT NULL,
	cause    TEXT NOT NULL,
	n        BIGINT NOT NULL,
	PRIMARY KEY (day, revision, source, cause)
);
CREATE TABLE IF NOT EXISTS feedback_days (
	day      BIGINT NOT NULL,
	revision TEXT NOT NULL,
	kind     TEXT NOT NULL,
	k        TEXT NOT NULL,
	reaction TEXT NOT NULL,
	n        BIGINT NOT NULL,
	PRIMARY KEY (day, revision, kind, k, reaction)
);
CREATE TABLE IF NOT EXISTS decision_days_upto (id INTEGER PRIMARY KEY CHECK (id = 1), upto BIGINT NOT NULL);
INSERT INTO decision_days_upto (id, upto) VALUES (1, 0) ON CONFLICT DO NOTHING;
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS to_try INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS decisions_insights ON decisions (created_at, revision, source, symptom, outcome, to_try, findings);
CREATE INDEX IF NOT EXISTS feedback_created_at ON feedback (created_at);
CREATE INDEX IF NOT EXISTS feedback_decisions_feedback ON feedback_decisions (feedback_id);
`

// The schema of migration 1 in PostgreSQL: the SQLite one's tables, with
// identity columns for AUTOINCREMENT, BYTEA for BLOB and BIGINT for Unix
// times.
const (
	pgFeedbackSchema = `
CREATE TABLE IF NOT EXISTS feedback (
	id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	page       TEXT NOT NULL CHECK (page IN ('article', 'diagnose')),
	lang       TEXT NOT NULL,
	reaction   TEXT NOT NULL CHECK (reaction IN ('yes', 'partly', 'no')),
	revision   TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_revision ON feedback (revision);
CREATE TABLE IF NOT EXISTS feedback_causes (
	feedback_id BIGINT NOT NULL REFERENCES feedback (id) ON DELETE CASCADE,
	cause       TEXT NOT NULL,
	PRIMARY KEY (feedback_id, cause)
);
CREATE INDEX IF NOT EXISTS feedback_causes_cause ON feedback_causes (cause);
`
	pgAdminSchema = `
CREATE TABLE IF NOT EXISTS admins (
	name          TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
	token_hash BYTEA PRIMARY KEY,
	admin      TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_admin ON sessions(admin);
CREATE TABLE IF NOT EXISTS revisions (
	seq          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	id           TEXT NOT NULL,
	admin        TEXT NOT NULL,
	published_at BIGINT NOT NULL,
	note         TEXT NOT NULL,
	diff         TEXT NOT NULL,
	source       TEXT NOT NULL
);
`
	pgDecisionSchema = `
CREATE TABLE IF NOT EXISTS decisions (
	reference  TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL,
	source     TEXT NOT NULL,
	revision   TEXT NOT NULL,
	symptom    TEXT NOT NULL,
	facts      TEXT NOT NULL,
	findings   TEXT NOT NULL,
	outcome    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_created_at ON decisions (created_at);
`
)
