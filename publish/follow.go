package publish

import (
	"context"
	"errors"
	"time"

	"acceso/store"
)

// DefaultFollowEvery is how often a following publisher polls the store
// for a revision it missed (a lost LISTEN connection, or SQLite, which has
// no notifications): short enough that a publish reaches every replica
// within 2 s even without a notification.
const DefaultFollowEvery = time.Second

// Follow serves, until ctx is done, the revisions that other servers
// sharing the store publish or roll back to: told at once by the store's
// notifications (PostgreSQL LISTEN), and by polling every cfg.FollowEvery
// in case one was missed. When the latest stored revision is not the one
// served, Follow builds and verifies it as a start-up does and swaps it in;
// a revision that fails here is logged, not served, and not tried again,
// and this server keeps serving its previous rules. A publisher serving a
// --rules folder does not follow.
func (p *Publisher) Follow(ctx context.Context) error {
	if p.store == nil || p.cfg.RulesDir != "" {
		return nil
	}
	every := p.cfg.FollowEvery
	if every <= 0 {
		every = DefaultFollowEvery
	}
	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	listened := make(chan struct{})
	go func() {
		defer close(listened)
		p.store.ListenRevisions(ctx, signal, func(err error) {
			p.log.Warn("listening for published revisions; polling every "+every.String()+" meanwhile", "err", err)
		})
	}()
	defer func() { <-listened }()
	p.log.Info("following the revisions published by every server", "poll", every.String())
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-tick.C:
		}
		p.mu.Lock()
		err := p.catchUp(ctx)
		p.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			p.log.Warn("cannot read the latest published revision; still serving the current rules", "err", err)
		}
	}
}

// CatchUp serves the latest stored revision now, if this publisher follows
// the others (Following) and another server published since: an admin's
// edit form rendered after it has the latest revision as its base, so a
// publish from it is not refused as stale because this replica had not
// heard of the last one yet. It costs one indexed query when nothing
// changed.
func (p *Publisher) CatchUp(ctx context.Context) error {
	if !p.Following() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.catchUp(ctx)
}

// catchUp serves the latest stored revision if it is not the one served
// and has not failed here before. p.mu must be held.
func (p *Publisher) catchUp(ctx context.Context) error {
	seq, id, err := p.store.LatestRevisionID(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cur := p.engine.Current()
	if id == cur.Revision || seq == p.refused {
		return nil
	}
	rev, err := p.store.Revision(ctx, seq)
	if err != nil {
		return err
	}
	policy, err := p.build(ctx, rev.Source)
	if err != nil {
		p.refused = seq
		p.log.Error("a published revision does not verify on this server; it is not served here, the previous rules are",
			"seq", seq, "revision", id, "serving", cur.Revision, "problems", explainEarlier(rev, err).Error())
		return nil
	}
	p.engine.Swap(policy)
	p.log.Info("rules published elsewhere now served", "revision", id, "seq", seq, "from", cur.Revision)
	return nil
}
