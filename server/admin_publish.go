package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"acceso/locales"
	"acceso/rules"
	"acceso/server/store"
)

// change is a draft on its way to being served: its source, the revision
// it was made from (empty for a rollback, which names its own source), who
// publishes it, a note for the revisions list, and an optional sample
// request (the API's JSON) to preview it with.
type change struct {
	Source rules.Source
	Base   string
	Admin  string
	Note   string
	Sample []byte
	// Check, when set, adds checks of its own on the built draft, such as
	// "the new rule declares the new cause".
	Check func(cur, draft *rules.Policy) rules.Problems
}

// draftPreview is a draft's answer to a sample request next to the answer of
// the rules being served, in every language.
type draftPreview struct {
	Draft, Current map[string]Response
}

// errStale is the problem of a draft made from rules that have changed
// since: publishing it would undo someone else's change.
func errStale(base, now string) rules.Problems {
	return rules.Problems{{File: "rules", Message: fmt.Sprintf(
		"the rules changed while you edited (from revision %s to %s); open the page again and redo your change", base, now)}}
}

// errRulesDir is the problem of a publish or rollback on a server started
// with --rules: the folder is what it serves, at every change and every
// start, so a publish would be silently undone.
func errRulesDir(dir string) rules.Problems {
	return rules.Problems{{File: dir, Message: "publishing is off: this server serves the --rules folder " + dir +
		", which replaces any publish at its next change and at restart; edit the .rego files there instead"}}
}

// errUnchanged is the problem of a draft identical to what is served.
var errUnchanged = rules.Problems{{File: "rules", Message: "nothing to publish: the draft is the same as the rules being served"}}

// verify builds a draft exactly as a publish does (compile, Rego tests,
// texts in every language, sample evaluations within the deadline), runs
// the change's own checks, and previews the sample request if there is
// one. Every failure is returned as rules.Problems.
func (s *Server) verify(ctx context.Context, ch change) (*rules.Policy, *draftPreview, error) {
	cur := s.engine.Current()
	p, err := rules.Build(ctx, ch.Source, rules.Options{Deadline: s.cfg.Deadline})
	if err != nil {
		return nil, nil, err
	}
	if ch.Check != nil {
		if problems := ch.Check(cur, p); len(problems) > 0 {
			return nil, nil, problems
		}
	}
	if len(ch.Sample) == 0 {
		return p, nil, nil
	}
	pv, err := preview(ctx, cur, p, ch.Sample)
	if err != nil {
		return nil, nil, err
	}
	return p, pv, nil
}

// preview answers a sample request with the draft and with the current
// rules, in every language: the same decision the API would give.
func preview(ctx context.Context, cur, draft *rules.Policy, sample []byte) (*draftPreview, error) {
	req, err := draft.Catalog.DecodeRequest(sample)
	if err != nil {
		var re *rules.RequestError
		if errors.As(err, &re) {
			problems := rules.Problems{{File: "sample", Message: re.Message}}
			for _, d := range re.Details {
				problems = append(problems, rules.Problem{File: "sample", Message: d.Field + ": " + d.Problem})
			}
			return nil, problems
		}
		return nil, err
	}
	pv := &draftPreview{Draft: make(map[string]Response), Current: make(map[string]Response)}
	for _, lang := range locales.Languages {
		if pv.Draft[lang], err = Evaluate(ctx, draft, req, lang); err != nil {
			return nil, rules.Problems{{File: "sample", Message: "the draft could not answer the sample: " + err.Error()}}
		}
		// The current rules may not know the draft's symptoms or facts;
		// their answer is shown only when they can give one.
		if creq, err := cur.Catalog.DecodeRequest(sample); err == nil {
			if r, err := Evaluate(ctx, cur, creq, lang); err == nil {
				pv.Current[lang] = r
			}
		}
	}
	return pv, nil
}

// publish verifies a change as verify does and, if it passes, stores it as
// a new revision and swaps it in. Publishes (and reloads of --rules) are
// one at a time, so the diff is against what was served and a stale draft
// is caught. Requests already holding the old policy finish on it. A
// server serving a --rules folder refuses every publish (errRulesDir).
func (s *Server) publish(ctx context.Context, ch change) (store.Revision, *draftPreview, error) {
	if s.cfg.RulesDir != "" {
		return store.Revision{}, nil, errRulesDir(s.cfg.RulesDir)
	}
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	cur := s.engine.Current()
	if ch.Base != "" && ch.Base != cur.Revision {
		return store.Revision{}, nil, errStale(ch.Base, cur.Revision)
	}
	p, pv, err := s.verify(ctx, ch)
	if err != nil {
		return store.Revision{}, nil, err
	}
	if p.Revision == cur.Revision {
		return store.Revision{}, nil, errUnchanged
	}
	if err := s.storeBaseline(ctx, cur); err != nil {
		return store.Revision{}, nil, err
	}
	rev := store.Revision{
		ID:          p.Revision,
		Admin:       ch.Admin,
		PublishedAt: time.Now().UTC(),
		Note:        ch.Note,
		Diff:        diffSources(cur.Source, p.Source),
		Source:      p.Source,
	}
	if rev.Seq, err = s.store.AddRevision(ctx, rev); err != nil {
		return store.Revision{}, nil, err
	}
	s.engine.Swap(p)
	s.log.Info("rules published", "revision", p.Revision, "seq", rev.Seq, "from", cur.Revision)
	return rev, pv, nil
}

// storeBaseline stores the rules served before anything was ever
// published (the embedded ones, or --rules), so that a rollback can return
// to them.
func (s *Server) storeBaseline(ctx context.Context, cur *rules.Policy) error {
	if _, err := s.store.LatestRevision(ctx); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err := s.store.AddRevision(ctx, store.Revision{
		ID:          cur.Revision,
		PublishedAt: time.Now().UTC(),
		Note:        baselineNote,
		Source:      cur.Source,
	})
	return err
}

// baselineNote marks the revision stored for the rules served before the
// first publish.
const baselineNote = "rules served before the first publish"

// rollback publishes the source of stored revision seq again, as a new
// revision.
func (s *Server) rollback(ctx context.Context, seq int64, admin string) (store.Revision, error) {
	old, err := s.store.Revision(ctx, seq)
	if err != nil {
		return store.Revision{}, err
	}
	rev, _, err := s.publish(ctx, change{
		Source: old.Source,
		Admin:  admin,
		Note:   fmt.Sprintf("rollback to %s (#%d)", old.ID, old.Seq),
	})
	return rev, err
}

// latestPublished returns the policy to start with when revisions were
// published: the latest one, unless this release's built-in rules were
// never stored, in which case they are stored as a new revision (earlier
// ones stay available for rollback) and nil is returned so that they are
// served. It returns nil too when nothing was ever published or the store
// cannot say. A stored revision that no longer verifies (the engine's
// checks grew stricter) is logged and skipped, so the server still starts.
func latestPublished(ctx context.Context, cfg Config, db *store.DB, log *slog.Logger) *rules.Policy {
	if db == nil {
		return nil
	}
	rev, err := db.LatestRevision(ctx)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			log.Warn("cannot read the latest published revision; serving the built-in rules", "err", err)
		}
		return nil
	}
	if adopted, err := adoptRelease(ctx, db, rev); err != nil {
		log.Warn("cannot store this release's built-in rules; serving them anyway", "err", err)
		return nil
	} else if adopted {
		log.Info("this release brings new built-in rules: stored as a new revision", "replaces", rev.ID)
		return nil
	}
	p, err := rules.Build(ctx, rev.Source, rules.Options{Deadline: cfg.Deadline})
	if err != nil {
		log.Warn("the latest published revision no longer verifies; serving the built-in rules",
			"seq", rev.Seq, "revision", rev.ID, "problems", err.Error())
		return nil
	}
	return p
}

// releaseNote marks the revision stored for the built-in rules of a new
// release of Acceso.
const releaseNote = "rules built into a new release of Acceso"

// adoptRelease stores the built-in rules as a new revision when no stored
// revision has them, that is when this binary is a release whose rules (or
// texts) differ from every revision published so far. A deploy thereby
// takes effect like a publish, and the revisions published before it stay
// available for rollback.
func adoptRelease(ctx context.Context, db *store.DB, latest store.Revision) (bool, error) {
	builtIn := rules.Embedded()
	id := builtIn.Revision()
	if known, err := db.HasRevision(ctx, id); err != nil || known {
		return false, err
	}
	_, err := db.AddRevision(ctx, store.Revision{
		ID:          id,
		PublishedAt: time.Now().UTC(),
		Note:        releaseNote,
		Diff:        diffSources(latest.Source, builtIn),
		Source:      builtIn,
	})
	return err == nil, err
}
