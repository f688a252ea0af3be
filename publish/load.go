package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"acceso/knowledge"
	"acceso/rules"
	"acceso/sandbox"
	"acceso/store"
)

// Load builds the publisher a server starts with: serving the rules of
// cfg.RulesDir when set, else the revision published last, else the
// embedded rules.
func Load(ctx context.Context, cfg Config, db *store.DB, log *slog.Logger) (*Publisher, error) {
	p := New(cfg, nil, db, log)
	src := rules.Embedded()
	if cfg.RulesDir != "" {
		var err error
		if src, err = readDir(cfg.RulesDir); err != nil {
			return nil, err
		}
	} else if latest := p.latestPublished(ctx); latest != nil {
		log.Info("rules loaded from the latest published revision", "revision", latest.Revision,
			"causes", len(latest.Catalog.Causes), "built_in", rules.Embedded().Revision())
		p.engine = rules.NewEngine(latest)
		return p, nil
	}
	build := p.build
	if cfg.RulesDir != "" {
		build = func(ctx context.Context, src knowledge.Source) (*rules.Policy, error) {
			policy, _, err := p.buildDraft(ctx, src, sandbox.Exam{})
			return policy, err
		}
	}
	policy, err := build(ctx, src)
	if err != nil {
		return nil, err
	}
	log.Info("rules loaded", "revision", policy.Revision, "causes", len(policy.Catalog.Causes))
	p.engine = rules.NewEngine(policy)
	return p, nil
}

// readDir reads a --rules folder, naming it when it is missing.
func readDir(dir string) (knowledge.Source, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return knowledge.Source{}, knowledge.Problems{{File: dir, Message: "no such folder"}}
	}
	src, err := rules.FromDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return knowledge.Source{}, knowledge.Problems{{File: dir, Message: "the folder or one of its files is gone"}}
	}
	return src, err
}

// latestPublished returns the policy to start with when revisions were
// published: the latest one, unless this release's built-in rules were
// never stored, in which case they are stored as a new revision (earlier
// ones stay available for rollback) and nil is returned so that they are
// served. It returns nil too when nothing was ever published or the store
// cannot say. A stored revision that no longer verifies (the engine's
// checks grew stricter) is logged and skipped, so the server still starts.
func (p *Publisher) latestPublished(ctx context.Context) *rules.Policy {
	if p.store == nil {
		return nil
	}
	rev, err := p.store.LatestRevision(ctx)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			p.log.Warn("cannot read the latest published revision; serving the built-in rules", "err", err)
		}
		return nil
	}
	if adopted, err := p.adoptRelease(ctx, rev); err != nil {
		p.log.Warn("cannot store this release's built-in rules; serving them anyway", "err", err)
		return nil
	} else if adopted {
		p.log.Info("this release brings new built-in rules: served instead of the latest published revision", "replaces", rev.ID, "stored", !p.cfg.ReadOnly)
		return nil
	}
	policy, err := p.build(ctx, rev.Source)
	if err != nil {
		p.log.Warn("the latest published revision no longer verifies; serving the built-in rules",
			"seq", rev.Seq, "revision", rev.ID, "problems", explainEarlier(rev, err).Error())
		return nil
	}
	return policy
}

// explainEarlier returns err, the error of building stored revision rev;
// when rev was written for the rules format of earlier releases, the
// problems instead name the revision, say so, and list each line to change
// (rules.EarlierFormat).
func explainEarlier(rev store.Revision, err error) error {
	if _, ok := knowledge.AsProblems(err); !ok {
		return err
	}
	marks := rules.EarlierFormat(rev.Source)
	if len(marks) == 0 {
		return err
	}
	return append(knowledge.Problems{rules.EarlierFormatNote(fmt.Sprintf("revision %s (#%d)", rev.ID, rev.Seq))}, marks...)
}

// releaseNote marks the revision stored for the built-in rules of a new
// release of Acceso.
const releaseNote = "rules built into a new release of Acceso"

// adoptRelease stores the built-in rules as a new revision when no stored
// revision has them, that is when this binary is a release whose rules (or
// texts) differ from every revision published so far. A deploy thereby
// takes effect like a publish, and the revisions published before it stay
// available for rollback. With Config.ReadOnly it only says whether it
// would, storing nothing.
func (p *Publisher) adoptRelease(ctx context.Context, latest store.Revision) (bool, error) {
	builtIn := rules.Embedded()
	id := builtIn.Revision()
	if known, err := p.store.HasRevision(ctx, id); err != nil || known {
		return false, err
	}
	if p.cfg.ReadOnly {
		return true, nil
	}
	_, err := p.store.AddRevision(ctx, store.Revision{
		ID:          id,
		PublishedAt: p.cfg.Now().UTC(),
		Note:        releaseNote,
		Diff:        Diff(latest.Source, builtIn),
		Source:      builtIn,
	})
	if err != nil {
		return false, fmt.Errorf("storing the built-in rules: %w", err)
	}
	return true, nil
}
