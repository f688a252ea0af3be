package rules

import (
	"acceso/knowledge"
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

// decisionCache reuses a topic's decisions exactly. The rules compile against
// capabilities without a builtin that varies between two evaluations, so a
// decision is a function of the revision and the input alone; each Policy
// has its own caches (one per topic), so a publish (a new Policy) starts
// empty.
//
// The key is exactly what a decision depends on: the symptom (the scope),
// the facts the rules derive from personal facts (data.<topic>.derived), and
// the values of the facts that the causes in scope read, as OPA's
// dependency analysis finds them (Cause.Facts), with those the scope and
// the derivation read. Two requests that differ only in facts no cause in
// scope reads share a decision. It never holds personal data: Build
// refuses any rule other than the derivation that reads a personal fact
// (checkPersonalReads), so a personal fact counts only through what is
// derived from it, and the key holds the derived values instead. The
// language is not part of it: a decision is ids, which the caller puts
// into words afterwards.
type decisionCache struct {
	lru      *lru.Cache[string, knowledge.Decision]
	personal map[string]bool
	// reads are the facts whose values key a request, by symptom ("" for
	// a request naming none: every cause is in scope).
	reads map[string][]string
	// derive is the prepared derived query; nil when the rules define
	// none, and then a request with a personal fact is not reused.
	derive       *rego.PreparedEvalQuery
	hits, misses atomic.Uint64
}

// newDecisionCache returns a cache of size decisions for the facts the
// catalog declares; derive is the prepared derived query, or nil; always
// are the facts every decision may depend on beside its causes' (those the
// scope and the derivation read).
func newDecisionCache(size int, catalog knowledge.Catalog, derive *rego.PreparedEvalQuery, always []string) (*decisionCache, error) {
	l, err := lru.New[string, knowledge.Decision](size)
	if err != nil {
		return nil, err
	}
	c := &decisionCache{lru: l, personal: make(map[string]bool), reads: make(map[string][]string), derive: derive}
	for _, f := range catalog.Facts {
		if f.Personal {
			c.personal[f.Name] = true
		}
	}
	for _, s := range append([]string{""}, catalog.Symptoms...) {
		names := slices.Clone(always)
		for _, cause := range catalog.Causes {
			if s == "" || cause.Symptom == s {
				names = append(names, cause.Facts...)
			}
		}
		names = slices.DeleteFunc(names, func(n string) bool { return c.personal[n] })
		slices.Sort(names)
		c.reads[s] = slices.Compact(names)
	}
	return c, nil
}

// CacheStats says how many evaluations of p were answered from its cache
// (hits) and how many were evaluated and kept (misses). Requests that
// cannot be reused count as neither.
func (p *Policy) CacheStats() (hits, misses uint64) {
	for _, t := range p.Topics {
		if t.cache != nil {
			hits += t.cache.hits.Load()
			misses += t.cache.misses.Load()
		}
	}
	return hits, misses
}

// derives reports whether key runs the derived query for req: whether req
// carries a personal fact.
func (c *decisionCache) derives(req knowledge.Request) bool {
	for name := range req.Facts {
		if c.personal[name] {
			return true
		}
	}
	return false
}

// key returns the cache key of req, and false when req cannot be reused.
// The derived query runs, on input() with the options opts gives, only
// when req carries a personal fact; a derived value stands for the fact
// of that name, as in the rules.
func (c *decisionCache) key(ctx context.Context, req knowledge.Request, input func() ast.Value, opts func(context.Context, ast.Value) []rego.EvalOption) (string, bool, error) {
	names, ok := c.reads[req.Symptom]
	if !ok {
		return "", false, nil
	}
	var derived map[string]any
	for name := range req.Facts {
		if !c.personal[name] {
			continue
		}
		if c.derive == nil {
			return "", false, nil
		}
		rs, err := c.derive.Eval(ctx, opts(ctx, input())...)
		if err != nil {
			return "", false, err
		}
		if len(rs) != 1 || len(rs[0].Expressions) != 1 {
			return "", false, nil
		}
		v, ok := rs[0].Expressions[0].Value.(ast.Value)
		if !ok {
			return "", false, nil
		}
		doc, err := ast.JSON(v)
		if err != nil {
			return "", false, nil
		}
		if derived, _ = doc.(map[string]any); derived == nil {
			return "", false, nil
		}
		break
	}
	b := make([]byte, 0, 128)
	b = strconv.AppendQuote(b, req.Symptom)
	for _, name := range slices.Sorted(maps.Keys(derived)) {
		if c.personal[name] {
			return "", false, nil // a derived fact is never personal; refuse rather than keep it
		}
		if !slices.Contains(names, name) {
			b = append(b, " derived:"...)
			b = append(b, name...)
			b = append(b, '=')
			var ok bool
			if b, ok = appendValue(b, derived[name]); !ok {
				return "", false, nil
			}
		}
	}
	for _, name := range names {
		v, ok := derived[name]
		if !ok {
			if v, ok = req.Facts[name]; !ok {
				continue
			}
		}
		b = append(b, ' ')
		b = append(b, name...)
		b = append(b, '=')
		if b, ok = appendValue(b, v); !ok {
			return "", false, nil
		}
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
