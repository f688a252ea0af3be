package rules

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// DefaultCacheSize is how many decisions a policy keeps for reuse unless
// Options.CacheSize says otherwise.
const DefaultCacheSize = 10_000

// The rules' query for the facts they derive from personal facts.
const derivedQuery = "data.login.derived"

// decisionCache reuses decisions exactly. The rules compile against
// capabilities without a builtin that varies between two evaluations, so a
// decision is a function of the revision and the input alone; each Policy
// has its own cache, so a publish (a new Policy) starts empty.
//
// The key never holds personal data: it is the symptom and the
// non-personal facts, with the facts the rules derive from personal facts
// (data.login.derived) in place of the personal facts, and the names (not
// the values) of the personal facts given. This is exact as long as the
// rules read a personal fact's value only to derive facts, which
// decision.rego's derived rule states; the values are ids and fact names.
type decisionCache struct {
	lru      *lru.Cache[string, Decision]
	personal map[string]bool
	// derive is the prepared derived query; nil when the rules define
	// none, and then a request with a personal fact is not reused.
	derive       *rego.PreparedEvalQuery
	hits, misses atomic.Uint64
}

// newDecisionCache returns a cache of size decisions for the facts the
// catalog declares; derive is the prepared derived query, or nil.
func newDecisionCache(size int, catalog Catalog, derive *rego.PreparedEvalQuery) (*decisionCache, error) {
	l, err := lru.New[string, Decision](size)
	if err != nil {
		return nil, err
	}
	c := &decisionCache{lru: l, personal: make(map[string]bool), derive: derive}
	for _, f := range catalog.Facts {
		if f.Personal {
			c.personal[f.Name] = true
		}
	}
	return c, nil
}

// CacheStats says how many evaluations of p were answered from its cache
// (hits) and how many were evaluated and kept (misses). Requests that
// cannot be reused count as neither.
func (p *Policy) CacheStats() (hits, misses uint64) {
	if p.cache == nil {
		return 0, 0
	}
	return p.cache.hits.Load(), p.cache.misses.Load()
}

// key returns the cache key of req, and false when req cannot be reused.
// The derived query runs, on input(), only when req carries a personal
// fact.
func (c *decisionCache) key(ctx context.Context, req Request, input func() ast.Value) (string, bool, error) {
	var derived map[string]any
	var personal []string
	for name := range req.Facts {
		if c.personal[name] {
			personal = append(personal, name)
		}
	}
	if len(personal) > 0 {
		if c.derive == nil {
			return "", false, nil
		}
		rs, err := c.derive.Eval(ctx, rego.EvalParsedInput(input()))
		if err != nil {
			return "", false, err
		}
		if len(rs) != 1 || len(rs[0].Expressions) != 1 {
			return "", false, nil
		}
		if derived, _ = rs[0].Expressions[0].Value.(map[string]any); derived == nil {
			return "", false, nil
		}
		slices.Sort(personal)
	}
	names := make([]string, 0, len(req.Facts)+len(derived))
	for name := range req.Facts {
		if _, replaced := derived[name]; !replaced && !c.personal[name] {
			names = append(names, name)
		}
	}
	for name := range derived {
		if c.personal[name] {
			return "", false, nil // a derived fact is never personal; refuse rather than keep it
		}
		names = append(names, name)
	}
	slices.Sort(names)

	b := make([]byte, 0, 128)
	b = strconv.AppendQuote(b, req.Symptom)
	for _, name := range names {
		v, ok := derived[name]
		if !ok {
			v = req.Facts[name]
		}
		b = append(b, ' ')
		b = append(b, name...)
		b = append(b, '=')
		if b, ok = appendValue(b, v); !ok {
			return "", false, nil
		}
	}
	for _, name := range personal {
		b = append(b, " given:"...)
		b = append(b, name...)
	}
	return string(b), true, nil
}

// appendValue appends a fact's value in one canonical form, whether it
// comes from a decoded request (bool, int, string, []string) or from the
// rules (bool, json.Number, string, []any).
func appendValue(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case bool:
		return strconv.AppendBool(b, v), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case json.Number:
		return append(b, v...), true
	case string:
		return strconv.AppendQuote(b, v), true
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, s)
		}
		return append(b, ']'), true
	case []any:
		b = append(b, '[')
		for i, item := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, item); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendValue(b, v[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case nil:
		return append(b, "null"...), true
	}
	return b, false
}

// clone returns a copy of d that shares nothing with it, so that a caller
// changing its answer cannot change the one kept.
func (d Decision) clone() Decision {
	d.Symptoms = slices.Clone(d.Symptoms)
	d.RuledOut = slices.Clone(d.RuledOut)
	d.ToTry = slices.Clone(d.ToTry)
	d.Questions = slices.Clone(d.Questions)
	findings := make([]Finding, len(d.Findings))
	for i, f := range d.Findings {
		f.Because = slices.Clone(f.Because)
		findings[i] = f
	}
	d.Findings = findings
	return d
}
