package web

import (
	"context"
	"sync/atomic"

	"golang.org/x/sync/singleflight"

	"acceso/flow"
	"acceso/rules"
)

// exploredFlow is the self-diagnosis of one revision, explored once.
type exploredFlow struct {
	revision string
	m        *flow.Map
}

// FlowMaps explores the self-diagnosis of the rules being served, once per
// revision. The zero value is ready to use.
type FlowMaps struct {
	// flowCache is the self-diagnosis of the revision served last, explored.
	flowCache atomic.Pointer[exploredFlow]
	// exploring lets callers that ask at once for a revision not yet
	// explored share one exploration.
	exploring singleflight.Group
}

// Map is the self-diagnosis the rules p give (flow.Explore: one
// evaluation per state), explored again only when the revision changes:
// the sitemap, which anyone may ask for, the export, the admin's map and
// the look-up of the export's references all read it. Callers that ask at
// once after a publish share one exploration; it is not cut short when the
// caller that started it leaves, since the others wait for it.
func (s *FlowMaps) Map(ctx context.Context, p *rules.Policy) (*flow.Map, error) {
	if f := s.flowCache.Load(); f != nil && f.revision == p.Revision {
		return f.m, nil
	}
	m, err, _ := s.exploring.Do(p.Revision, func() (any, error) {
		if f := s.flowCache.Load(); f != nil && f.revision == p.Revision {
			return f.m, nil
		}
		m, err := flow.Explore(context.WithoutCancel(ctx), p, 0)
		if err != nil {
			return nil, err
		}
		s.flowCache.Store(&exploredFlow{revision: p.Revision, m: m})
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return m.(*flow.Map), nil
}
