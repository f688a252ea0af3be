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
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"

	"acceso/knowledge"
	"acceso/locales"
)

// DefaultDeadline bounds one evaluation when the caller's context has no
// earlier deadline; Build refuses a source whose sample evaluations miss it.
const DefaultDeadline = 250 * time.Millisecond

// Policy is a verified revision of the rules, ready to evaluate: its source,
// its topics with their catalogs and prepared decision queries, and its
// texts.
type Policy struct {
	Revision string
	Source   knowledge.Source
	// Catalog is the union of the topics' catalogs (knowledge.Catalog),
	// with each topic's own in Catalog.Topics.
	Catalog knowledge.Catalog
	// Topics are the topics, the default first (see Topic).
	Topics []*Topic
	// Texts are the texts of every topic and of the site, in every
	// language. Each topic's admins' article and contacts' explanations
	// are its own (Topic.Articles, Topic.Help).
	Texts    *locales.Texts
	deadline time.Duration
	names    map[string]*ast.Term
	// txn is a read transaction on the policy's store, opened once its
	// queries are prepared and shared by every evaluation (see evalOptions).
	txn storage.Transaction
	// evalConst are the options every evaluation shares (constEvalOptions).
	evalConst []rego.EvalOption
}

// Options tune Build. The zero value is the product's defaults.
type Options struct {
	// Deadline bounds each evaluation; zero means DefaultDeadline.
	Deadline time.Duration
	// NoCache turns off the reuse of decisions: every request is
	// evaluated.
	NoCache bool
	// CacheSize is how many decisions are kept for reuse, per topic; zero
	// means DefaultCacheSize.
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

// readsQuery is a topic's query: its decision, told which facts each
// cause's rule reads (c's Cause.Facts, from OPA's dependency analysis), so
// that the rules try only answers that could settle an open cause instead
// of every unknown fact (decision.rego's _reads). A verdict can change
// only with a fact its rule reads, so the answer is the rules' alone, as
// stock OPA gives it without this (TestReadsChangeNoAnswer).
func readsQuery(t *Topic) string {
	reads := make([][2]*ast.Term, 0, len(t.Catalog.Causes))
	for _, cause := range t.Catalog.Causes {
		facts := make([]*ast.Term, len(cause.Facts))
		for i, f := range cause.Facts {
			facts[i] = ast.StringTerm(f)
		}
		reads = append(reads, [2]*ast.Term{ast.StringTerm(cause.ID), ast.ArrayTerm(facts...)})
	}
	return t.queryOf(decisionRule) + " with " + t.queryOf("_reads") + " as " + ast.NewObject(reads...).String()
}

// Build verifies src and prepares it for evaluation. Verification finds
// the topics (findTopics), compiles the modules, reads each topic's
// catalog from their metadata, checks that every cause, symptom, question
// and topic has its texts in every language, runs the Rego tests, and
// evaluates sample requests of every topic within the deadline. Policies
// and tests compile against capabilities.json, so a call to a builtin that
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
	topics, problems := findTopics(policies)
	if len(problems) > 0 {
		return nil, problems
	}
	caps, err := capabilities()
	if err != nil {
		return nil, knowledge.Problems{{File: "rules/capabilities.json", Message: err.Error()}}
	}
	compiler := ast.NewCompiler().WithCapabilities(caps)
	schemas, typed := inputSchema(policies, topics)
	if typed {
		compiler = compiler.WithSchemas(schemas)
	}
	if compiler.Compile(policies); compiler.Failed() {
		return nil, explainRefused(fromAST(compiler.Errors))
	}
	for _, t := range topics {
		catalog, ps := readCatalog(ctx, compiler, t)
		problems = append(problems, ps...)
		if len(ps) > 0 {
			continue
		}
		catalog.Topic = t.Name
		t.Catalog = catalog
		t.always, ps = checkPersonalReads(compiler, t)
		problems = append(problems, ps...)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	if problems := checkAcrossTopics(topics); len(problems) > 0 {
		return nil, problems
	}
	catalog := unionOf(topics)
	// A cause without its section in the article or the contacts'
	// explanations is reported with the
	// problems found after it (texts, tests), so that adding a cause shows
	// everything it still lacks at once.
	var linkProblems knowledge.Problems
	for _, t := range topics {
		var ps knowledge.Problems
		t.Articles, t.Help, ps = readDocs(src, t, len(topics) == 1)
		linkProblems = append(linkProblems, ps...)
	}
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
	if problems := checkTopicTexts(topics, texts); len(problems) > 0 {
		return nil, append(problems, linkProblems...)
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
	for _, t := range topics {
		if err := t.prepare(ctx, compiler, store, opts); err != nil {
			return nil, err
		}
	}
	// The store holds no data and nothing writes to it once the queries
	// are prepared, so one read transaction serves every evaluation: it is
	// never closed, and goes with the store.
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, knowledge.Problems{{Message: "opening the rules' store: " + err.Error()}}
	}
	p := &Policy{
		txn:       txn,
		evalConst: constEvalOptions(txn),
		Revision:  src.Revision(),
		Source:    src,
		Catalog:   catalog,
		Topics:    topics,
		Texts:     texts,
		deadline:  opts.Deadline,
		names:     namesOf(catalog),
	}
	if opts.SkipSamples {
		return p, nil
	}
	if problems := p.trySamples(ctx); len(problems) > 0 {
		return nil, problems
	}
	return p, nil
}

// prepare prepares the topic's decision query (readsQuery) and, unless
// the cache is off, its cache with the topic's derived query.
func (t *Topic) prepare(ctx context.Context, compiler *ast.Compiler, store storage.Store, opts Options) error {
	q := readsQuery(t)
	if opts.rulesAlone {
		q = t.queryOf(decisionRule)
	}
	query, err := rego.New(rego.Query(q), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
	if err != nil {
		return knowledge.Problems{{File: t.Dir, Message: "preparing " + t.queryOf(decisionRule) + ": " + err.Error()}}
	}
	t.query = query
	if opts.NoCache {
		return nil
	}
	var derive *rego.PreparedEvalQuery
	if len(compiler.GetRulesExact(t.ref(derivedRule))) > 0 {
		pq, err := rego.New(rego.Query(t.queryOf(derivedRule)), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
		if err != nil {
			return knowledge.Problems{{File: t.Dir, Message: "preparing " + t.queryOf(derivedRule) + ": " + err.Error()}}
		}
		derive = &pq
	}
	if t.cache, err = newDecisionCache(cmp.Or(opts.CacheSize, DefaultCacheSize), t.Catalog, derive, t.always); err != nil {
		return knowledge.Problems{{File: t.Dir, Message: "the decision cache: " + err.Error()}}
	}
	return nil
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

// trySamples evaluates, in every topic, a request with no facts and one
// with every fact, within the deadline, so that a source that errors or
// runs too long at evaluation time is refused before it is served.
func (p *Policy) trySamples(ctx context.Context) knowledge.Problems {
	for _, t := range p.Topics {
		for _, sample := range sampleRequests(t.Catalog) {
			if _, err := p.Evaluate(ctx, sample.req); err != nil {
				msg := fmt.Sprintf("evaluating the %s sample of topic %s: %v", sample.name, t.Name, err)
				if errors.Is(err, context.DeadlineExceeded) {
					msg = fmt.Sprintf("evaluating the %s sample of topic %s took longer than the %v deadline", sample.name, t.Name, p.deadline)
				}
				return knowledge.Problems{{File: t.Dir, Message: msg}}
			}
		}
	}
	return nil
}
