package rules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"

	"acceso/content"
	"acceso/knowledge"
	"acceso/locales"
)

// The engine's query: the whole answer for one request.
const decisionQuery = "data.login.decision"

// DefaultDeadline bounds one evaluation when the caller's context has no
// earlier deadline; Build refuses a source whose sample evaluations miss it.
const DefaultDeadline = 250 * time.Millisecond

// Policy is a verified revision of the rules, ready to evaluate: its source,
// its catalog, its texts and the prepared decision query.
type Policy struct {
	Revision string
	Source   knowledge.Source
	Catalog  knowledge.Catalog
	Texts    *locales.Texts
	// Articles is the admins' article, in every language, rendered from
	// the source.
	Articles *content.Set
	// Help is the contacts' explanation of each cause, in every language,
	// rendered from the source.
	Help     *content.Set
	deadline time.Duration
	query    rego.PreparedEvalQuery
	cache    *decisionCache // nil when off
	names    map[string]*ast.Term
}

// Options tune Build. The zero value is the product's defaults.
type Options struct {
	// Deadline bounds each evaluation; zero means DefaultDeadline.
	Deadline time.Duration
	// NoCache turns off the reuse of decisions: every request is
	// evaluated.
	NoCache bool
	// CacheSize is how many decisions are kept for reuse; zero means
	// DefaultCacheSize.
	CacheSize int
	// SkipTests leaves the Rego tests out of verification. Only for
	// benchmarks and fuzzing that build many times; never for serving.
	SkipTests bool
	// SkipSamples leaves the sample evaluations out: for a draft that
	// another process (the sandbox) verified with them, so that this one
	// never evaluates it before it is published.
	SkipSamples bool
	// rulesAlone leaves out what the engine tells the rules of what each
	// cause reads (readsQuery): for the tests that compare the two.
	rulesAlone bool
}

// readsQuery is the engine's query: the decision, told which facts each
// cause's rule reads (c's Cause.Facts, from OPA's dependency analysis), so
// that the rules try only answers that could settle an open cause instead
// of every unknown fact (decision.rego's _reads). A verdict can change
// only with a fact its rule reads, so the answer is the rules' alone, as
// stock OPA gives it without this (TestReadsChangeNoAnswer).
func readsQuery(c knowledge.Catalog) string {
	reads := make([][2]*ast.Term, 0, len(c.Causes))
	for _, cause := range c.Causes {
		facts := make([]*ast.Term, len(cause.Facts))
		for i, f := range cause.Facts {
			facts[i] = ast.StringTerm(f)
		}
		reads = append(reads, [2]*ast.Term{ast.StringTerm(cause.ID), ast.ArrayTerm(facts...)})
	}
	return decisionQuery + " with " + packagePath + "._reads as " + ast.NewObject(reads...).String()
}

// Build verifies src and prepares it for evaluation. Verification compiles
// the modules, reads the catalog from their metadata, checks that every
// cause, symptom and question has its texts in every language, runs the Rego
// tests, and evaluates sample requests within the deadline. Policies and
// tests compile against capabilities.json, so a call to a builtin that
// reaches outside the engine is refused. Any failure returns Problems
// (file:line: message) and no policy.
func Build(ctx context.Context, src knowledge.Source, opts Options) (*Policy, error) {
	if opts.Deadline <= 0 {
		opts.Deadline = DefaultDeadline
	}
	policies, all, problems := parse(src.Modules)
	if len(problems) > 0 {
		return nil, problems
	}
	caps, err := capabilities()
	if err != nil {
		return nil, knowledge.Problems{{File: "rules/capabilities.json", Message: err.Error()}}
	}
	compiler := ast.NewCompiler().WithCapabilities(caps)
	schemas, typed := inputSchema(policies)
	if typed {
		compiler = compiler.WithSchemas(schemas)
	}
	if compiler.Compile(policies); compiler.Failed() {
		return nil, explainRefused(fromAST(compiler.Errors))
	}
	catalog, problems := readCatalog(ctx, compiler)
	if len(problems) > 0 {
		return nil, problems
	}
	always, problems := checkPersonalReads(compiler, catalog)
	if len(problems) > 0 {
		return nil, problems
	}
	// A cause without its section in the article or the contacts'
	// explanations is reported with the
	// problems found after it (texts, tests), so that adding a cause shows
	// everything it still lacks at once.
	articles, help, linkProblems := readDocs(src, catalog)
	texts, err := locales.Parse(src.Messages)
	var plain locales.TextProblems
	switch {
	case errors.As(err, &plain):
		problems := make(knowledge.Problems, len(plain))
		for i, p := range plain {
			problems[i] = knowledge.Problem{File: p.File, Line: p.Line, Message: p.Message}
		}
		return nil, problems
	case err != nil:
		return nil, knowledge.Problems{{File: "locales", Message: err.Error()}}
	}
	if problems := checkTexts(catalog, texts); len(problems) > 0 {
		return nil, append(problems, linkProblems...)
	}
	if builtIn, err := builtInTexts(); err == nil {
		texts = texts.WithFallback(builtIn)
	}
	if !opts.SkipTests {
		newCompiler := func() *ast.Compiler {
			c := ast.NewCompiler().WithCapabilities(caps)
			if typed {
				c = c.WithSchemas(schemas)
			}
			return c
		}
		if problems := runTests(ctx, all, newCompiler); len(problems) > 0 {
			return nil, append(problems, linkProblems...)
		}
	}
	if len(linkProblems) > 0 {
		return nil, linkProblems
	}
	store := inmem.NewWithOpts(inmem.OptReturnASTValuesOnRead(true))
	q := readsQuery(catalog)
	if opts.rulesAlone {
		q = decisionQuery
	}
	query, err := rego.New(rego.Query(q), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
	if err != nil {
		return nil, knowledge.Problems{{File: "rules", Message: "preparing " + decisionQuery + ": " + err.Error()}}
	}
	var cache *decisionCache
	if !opts.NoCache {
		var derive *rego.PreparedEvalQuery
		if len(compiler.GetRulesExact(ast.MustParseRef(derivedQuery))) > 0 {
			pq, err := rego.New(rego.Query(derivedQuery), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
			if err != nil {
				return nil, knowledge.Problems{{File: "rules", Message: "preparing " + derivedQuery + ": " + err.Error()}}
			}
			derive = &pq
		}
		if cache, err = newDecisionCache(cmp.Or(opts.CacheSize, DefaultCacheSize), catalog, derive, always); err != nil {
			return nil, knowledge.Problems{{File: "rules", Message: "the decision cache: " + err.Error()}}
		}
	}
	p := &Policy{
		Revision: src.Revision(),
		Source:   src,
		Catalog:  catalog,
		Texts:    texts,
		Articles: articles,
		Help:     help,
		deadline: opts.Deadline,
		query:    query,
		cache:    cache,
		names:    namesOf(catalog),
	}
	if opts.SkipSamples {
		return p, nil
	}
	if problems := p.trySamples(ctx); len(problems) > 0 {
		return nil, problems
	}
	return p, nil
}

// builtInTexts are the message files built into the binary, the fallback
// for a message a source lacks (one it was stored without, by an earlier
// release).
var builtInTexts = sync.OnceValues(func() (*locales.Texts, error) {
	return locales.Parse(locales.Embedded())
})

// parse parses every module, returning the policies alone (for evaluation)
// and all modules with their tests (for the test runner). Each set gets its
// own parse, since compilers rewrite the modules they are given.
func parse(modules map[string]string) (policies, all map[string]*ast.Module, problems knowledge.Problems) {
	opts := ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1}
	policies = make(map[string]*ast.Module)
	all = make(map[string]*ast.Module)
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		m, err := ast.ParseModuleWithOpts(name, modules[name], opts)
		if err != nil {
			problems = append(problems, fromAST(err)...)
			continue
		}
		all[name] = m
		if !knowledge.IsTest(name) {
			policies[name], _ = ast.ParseModuleWithOpts(name, modules[name], opts)
		}
	}
	if len(problems) == 0 && len(policies) == 0 {
		problems = knowledge.Problems{{File: "rules", Message: "no policy modules"}}
	}
	return policies, all, problems
}

// runTests runs the Rego tests of all modules, compiled as the policies are
// (capabilities, input schema) and with no data beside them, as stock opa
// test runs them; each failing test is a problem at its location. The
// failing tests run once more with tracing, so that each problem shows the
// expression that failed with the values of its terms (as opa test
// --var-values does): what was expected beside what the rules gave.
func runTests(ctx context.Context, modules map[string]*ast.Module, newCompiler func() *ast.Compiler) knowledge.Problems {
	copies := make(map[string]*ast.Module, len(modules))
	for name, m := range modules {
		copies[name] = m.Copy()
	}
	ch, err := tester.NewRunner().
		SetCompiler(newCompiler()).
		SetModules(modules).
		SetTimeout(10*time.Second).
		RunTests(ctx, nil)
	if err != nil {
		return explainRefused(fromAST(err))
	}
	var problems knowledge.Problems
	var failed []string
	ran := 0
	for r := range ch {
		ran++
		switch {
		case r.Error != nil:
			problems = append(problems, located(r.Location, fmt.Sprintf("%s: error: %v", r.Name, r.Error)))
		case r.Fail:
			failed = append(failed, regexp.QuoteMeta(r.Package+"."+r.Name))
			problems = append(problems, located(r.Location, r.Name+": failed"))
		}
	}
	if ran == 0 {
		problems = append(problems, knowledge.Problem{File: "rules", Message: "no Rego tests: every policy needs its _test.rego"})
	}
	if len(failed) > 0 {
		explained := explainFailures(ctx, copies, newCompiler(), "^("+strings.Join(failed, "|")+")$")
		for i, p := range problems {
			if why, ok := explained[p.File+":"+strconv.Itoa(p.Line)]; ok {
				problems[i].Message += "\n" + why
			}
		}
	}
	slices.SortFunc(problems, func(a, b knowledge.Problem) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return problems
}

// explainFailures runs the tests matching filter with tracing and returns,
// for each failing test by its file:line, the expression that failed and
// the values of its terms.
func explainFailures(ctx context.Context, modules map[string]*ast.Module, compiler *ast.Compiler, filter string) map[string]string {
	ch, err := tester.NewRunner().
		SetCompiler(compiler.WithRewriteTestRules(true)).
		SetModules(modules).
		EnableTracing(true).
		Filter(filter).
		SetTimeout(10*time.Second).
		RunTests(ctx, nil)
	if err != nil {
		return nil
	}
	out := make(map[string]string)
	for r := range ch {
		if !r.Fail || r.Location == nil {
			continue
		}
		for _, e := range slices.Backward(r.Trace) {
			if e.Op != topdown.FailOp || e.Location == nil || e.QueryID == 0 {
				continue
			}
			if expr, ok := e.Node.(*ast.Expr); ok {
				if _, every := expr.Terms.(*ast.Every); every {
					continue // the expression that failed inside it says more
				}
			}
			var b strings.Builder
			if err := topdown.PrettyEvent(&b, e, topdown.PrettyEventOpts{PrettyVars: true}); err == nil {
				out[r.Location.File+":"+strconv.Itoa(r.Location.Row)] = fmt.Sprintf("%s:%d: the failing expression and its values:\n%s", e.Location.File, e.Location.Row, strings.TrimRight(b.String(), "\n"))
			}
			break
		}
	}
	return out
}

func located(loc *ast.Location, msg string) knowledge.Problem {
	if loc == nil {
		return knowledge.Problem{File: "rules", Message: msg}
	}
	return knowledge.Problem{File: loc.File, Line: loc.Row, Message: msg}
}

// trySamples evaluates a request with no facts and one with every fact,
// within the deadline, so that a source that errors or runs too long at
// evaluation time is refused before it is served.
func (p *Policy) trySamples(ctx context.Context) knowledge.Problems {
	for _, sample := range sampleRequests(p.Catalog) {
		if _, err := p.Evaluate(ctx, sample.req); err != nil {
			msg := fmt.Sprintf("evaluating the %s sample: %v", sample.name, err)
			if errors.Is(err, context.DeadlineExceeded) {
				msg = fmt.Sprintf("evaluating the %s sample took longer than the %v deadline", sample.name, p.deadline)
			}
			return knowledge.Problems{{File: "rules", Message: msg}}
		}
	}
	return nil
}
