// Package publish owns which rules Acceso serves. A Publisher loads the
// rules at start, verifies drafts, publishes them (stored as a new revision,
// swapped in atomically), rolls back to any stored revision, and reloads a
// --rules folder when it changes. The admin handlers, the folder watcher
// and the command line all go through it, and its lock makes every change
// one at a time.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/sandbox"
	"acceso/store"
)

// Config is what a Publisher is made with.
type Config struct {
	// Deadline bounds one rule evaluation; zero means rules.DefaultDeadline.
	Deadline time.Duration
	// RulesDir, when set, is a folder of .rego files served (and watched)
	// instead of the embedded rules; publishing is then off.
	RulesDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Isolate, when set, verifies a draft away from this process (see
	// package sandbox) and answers the exam with it there (the admin's
	// sample, the self-diagnosis, kept decisions) before it is built here:
	// a draft that calls a forbidden builtin, loops or eats memory is
	// refused there, within limits. Here the draft is only compiled, never
	// evaluated, until it is published. Without Isolate, the same exam is
	// answered in this process (sandbox.Examine).
	Isolate func(ctx context.Context, src knowledge.Source, exam sandbox.Exam) (sandbox.Result, error)
	// Follow, when set, makes the publisher serve what other servers
	// sharing its store publish (see Follow), and catch up with the store
	// before each publish so that a publish is never made from rules
	// another server has replaced.
	Follow bool
	// FollowEvery is how often Follow polls; zero means DefaultFollowEvery.
	FollowEvery time.Duration
	// CacheSize is how many decisions each policy keeps for reuse; zero
	// means rules.DefaultCacheSize. NoCache keeps none.
	CacheSize int
	NoCache   bool
	// ReadOnly makes Load read the store's revisions and store none: a
	// release whose built-in rules no revision has serves them without
	// storing them as a revision (acceso export).
	ReadOnly bool
}

// Publisher owns the engine and every change to it.
type Publisher struct {
	cfg    Config
	engine *rules.Engine
	store  *store.DB
	log    *slog.Logger
	mu     sync.Mutex
	// refused is the sequence number of the stored revision that last
	// failed to build here when following, so it is not tried again.
	refused int64
}

// New returns a publisher of engine, storing revisions in db (which may be
// nil when nothing is ever published, as for the command line).
func New(cfg Config, engine *rules.Engine, db *store.DB, log *slog.Logger) *Publisher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Publisher{cfg: cfg, engine: engine, store: db, log: log}
}

// Following reports whether the publisher follows the revisions other
// servers publish (Config.Follow).
func (p *Publisher) Following() bool { return p.cfg.Follow && p.store != nil && p.cfg.RulesDir == "" }

// Engine is the engine whose rules the publisher changes.
func (p *Publisher) Engine() *rules.Engine { return p.engine }

// RulesDir is the --rules folder being served, or "".
func (p *Publisher) RulesDir() string { return p.cfg.RulesDir }

// Change is a draft on its way to being served: its source, the revision it
// was made from (empty for a rollback, which names its own source), who
// publishes it, a note for the revisions list, and an optional sample
// request (the API's JSON) to preview it with.
type Change struct {
	Source knowledge.Source
	Base   string
	Admin  string
	Note   string
	Sample []byte
	// Check, when set, adds checks of its own on the built draft, such as
	// "the new rule declares the new cause". It reads the catalogs; it
	// must not evaluate the draft.
	Check func(cur, draft *rules.Policy) knowledge.Problems
	// Kept are decisions to decide again with the draft, for ImpactOf.
	Kept []store.Kept
}

// Preview is what a draft answers, evaluated where the publisher isolates
// drafts: the sample request next to the answer of the rules being served,
// in every language (both empty when there was no sample), the verdict of
// every state of the draft's self-diagnosis, and the draft's verdict on
// each of the change's kept decisions (nil where the draft cannot read it).
type Preview struct {
	Draft, Current map[string]answer.Response
	States         map[string]Verdict
	Decided        []*Verdict
}

// errStale is the problem of a draft made from rules that have changed
// since: publishing it would undo someone else's change.
func errStale(base, now string) knowledge.Problems {
	return knowledge.Problems{{File: "rules", Message: fmt.Sprintf(
		"the rules changed while you edited (from revision %s to %s); open the page again and redo your change", base, now)}}
}

// errRulesDir is the problem of a publish or rollback on a server started
// with --rules: the folder is what it serves, at every change and every
// start, so a publish would be silently undone.
func errRulesDir(dir string) knowledge.Problems {
	return knowledge.Problems{{File: dir, Message: "publishing is off: this server serves the --rules folder " + dir +
		", which replaces any publish at its next change and at restart; edit the .rego files there instead"}}
}

// errUnchanged is the problem of a draft identical to what is served.
var errUnchanged = knowledge.Problems{{File: "rules", Message: "nothing to publish: the draft is the same as the rules being served"}}

// Verify builds a draft exactly as a publish does (compile, Rego tests,
// texts in every language, sample evaluations within the deadline), checks
// the self-diagnosis it gives (flow.Check: every cause reachable, no
// question twice, every path to an outcome), runs the change's own checks,
// and previews the sample request if there is one. Every evaluation of the
// draft happens where the publisher isolates drafts (Config.Isolate); the
// preview is never nil. Every failure is returned as knowledge.Problems.
func (p *Publisher) Verify(ctx context.Context, ch Change) (*rules.Policy, *Preview, error) {
	cur := p.engine.Current()
	draft, res, err := p.buildDraft(ctx, ch.Source, examOf(ch))
	if err != nil {
		return nil, nil, err
	}
	if ch.Check != nil {
		if problems := ch.Check(cur, draft); len(problems) > 0 {
			return nil, nil, problems
		}
	}
	pv := &Preview{Draft: res.Answers, Current: make(map[string]answer.Response), States: res.States, Decided: res.Decided}
	if len(ch.Sample) > 0 {
		// The current rules may not know the draft's symptoms or facts;
		// their answer is shown only when they can give one.
		if creq, err := answer.Decode(cur.Catalog, ch.Sample); err == nil {
			for _, lang := range locales.Languages {
				if r, err := answer.Evaluate(ctx, cur, creq, lang); err == nil {
					pv.Current[lang] = r
				}
			}
		}
	}
	return draft, pv, nil
}

// build builds trusted rules: those built into the binary or stored by a
// publish, which were verified before.
func (p *Publisher) build(ctx context.Context, src knowledge.Source) (*rules.Policy, error) {
	return rules.Build(ctx, src, p.options())
}

// options are the build options of the rules this publisher serves.
func (p *Publisher) options() rules.Options {
	return rules.Options{Deadline: p.cfg.Deadline, CacheSize: p.cfg.CacheSize, NoCache: p.cfg.NoCache}
}

// examOf is what Verify asks of a change's draft: its sample, its
// self-diagnosis and its kept decisions (their symptoms and typed facts).
func examOf(ch Change) sandbox.Exam {
	exam := sandbox.Exam{Sample: ch.Sample, Explore: true}
	for _, dec := range ch.Kept {
		exam.Kept = append(exam.Kept, sandbox.Kept{Topic: dec.Topic, Symptom: dec.Symptom, Facts: dec.Facts})
	}
	return exam
}

// buildDraft builds rules that an admin or the --rules folder brings and
// answers exam with them. When the publisher isolates, both happen in the
// sandbox first, and the draft is then only compiled here (no tests, no
// samples): nothing of it is evaluated in this process.
func (p *Publisher) buildDraft(ctx context.Context, src knowledge.Source, exam sandbox.Exam) (*rules.Policy, sandbox.Result, error) {
	if p.cfg.Isolate == nil {
		draft, err := p.build(ctx, src)
		if err != nil {
			return nil, sandbox.Result{}, err
		}
		res, err := sandbox.Examine(ctx, draft, exam)
		if err != nil {
			return nil, sandbox.Result{}, err
		}
		return draft, res, nil
	}
	res, err := p.cfg.Isolate(ctx, src, exam)
	if err != nil {
		return nil, sandbox.Result{}, err
	}
	opts := p.options()
	opts.SkipTests, opts.SkipSamples = true, true
	draft, err := rules.Build(ctx, src, opts)
	if err != nil {
		return nil, sandbox.Result{}, err
	}
	return draft, res, nil
}

// Publish verifies a change as Verify does and, if it passes, stores it as
// a new revision and swaps it in. Publishes (and reloads of --rules) are
// one at a time, so the diff is against what was served and a stale draft
// is caught. Requests already holding the old policy finish on it. A
// publisher serving a --rules folder refuses every publish.
func (p *Publisher) Publish(ctx context.Context, ch Change) (store.Revision, *Preview, error) {
	if p.cfg.RulesDir != "" {
		return store.Revision{}, nil, errRulesDir(p.cfg.RulesDir)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Follow {
		if err := p.catchUp(ctx); err != nil {
			return store.Revision{}, nil, err
		}
	}
	cur := p.engine.Current()
	if ch.Base != "" && ch.Base != cur.Revision {
		return store.Revision{}, nil, errStale(ch.Base, cur.Revision)
	}
	draft, pv, err := p.Verify(ctx, ch)
	if err != nil {
		return store.Revision{}, nil, err
	}
	if draft.Revision == cur.Revision {
		return store.Revision{}, nil, errUnchanged
	}
	if err := p.storeBaseline(ctx, cur); err != nil {
		return store.Revision{}, nil, err
	}
	rev := store.Revision{
		ID:          draft.Revision,
		Admin:       ch.Admin,
		PublishedAt: p.cfg.Now().UTC(),
		Note:        ch.Note,
		Diff:        Diff(cur.Source, draft.Source),
		Source:      draft.Source,
	}
	if rev.Seq, err = p.store.AddRevision(ctx, rev); err != nil {
		return store.Revision{}, nil, err
	}
	p.engine.Swap(draft)
	p.log.Info("rules published", "revision", draft.Revision, "seq", rev.Seq, "from", cur.Revision)
	return rev, pv, nil
}

// storeBaseline stores the rules served before anything was ever
// published (the embedded ones), so that a rollback can return to them.
func (p *Publisher) storeBaseline(ctx context.Context, cur *rules.Policy) error {
	if _, _, err := p.store.LatestRevisionID(ctx); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err := p.store.AddRevision(ctx, store.Revision{
		ID:          cur.Revision,
		PublishedAt: p.cfg.Now().UTC(),
		Note:        baselineNote,
		Source:      cur.Source,
	})
	return err
}

// baselineNote marks the revision stored for the rules served before the
// first publish.
const baselineNote = "rules served before the first publish"

// Rollback publishes the source of stored revision seq again, as a new
// revision. A revision written for the rules format of earlier releases is
// refused with what to change in it (explainEarlier).
func (p *Publisher) Rollback(ctx context.Context, seq int64, admin string) (store.Revision, error) {
	old, err := p.store.Revision(ctx, seq)
	if err != nil {
		return store.Revision{}, err
	}
	rev, _, err := p.Publish(ctx, Change{
		Source: old.Source,
		Admin:  admin,
		Note:   fmt.Sprintf("rollback to %s (#%d)", old.ID, old.Seq),
	})
	if err != nil {
		return rev, explainEarlier(old, err)
	}
	return rev, nil
}
