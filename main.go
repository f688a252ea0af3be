// Command acceso is the login troubleshooter: it serves the help site, the
// JSON API and the admin area, diagnoses one request from the command line,
// verifies a folder of rules, and manages admin accounts and the API keys
// of integrations.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"acceso/account"
	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
	"acceso/sandbox"
	"acceso/server"
	"acceso/server/api"
	"acceso/server/bundle"
	"acceso/store"
)

func main() {
	if sandbox.IsChild() {
		os.Exit(sandbox.Main(os.Stdin, os.Stdout, server.CheckPages))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// diagnose answers one request body read from stdin exactly as the API
// would, through the same answer service (answer.Service).
// An unsupported --lang is ignored and, after the answer, said on stderr
// with the language answered in; on bad input stderr holds the error JSON
// alone.
func diagnose(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("diagnose", diagnoseUsage)
	lang := fs.String("lang", "", "answer in this language (`LANG`: "+strings.Join(locales.Languages, " or ")+") when the request names none")
	if _, code, ok := parseArgs(fs, args, 0, stdout, stderr); !ok {
		return code
	}
	unsupported := ""
	if *lang != "" && !locales.Supported(*lang) {
		unsupported, *lang = *lang, ""
	}
	// The embedded rules passed their Rego tests in CI before this binary
	// was built; running them again would make every diagnosis slow.
	policy, err := rules.Build(ctx, rules.Embedded(), rules.Options{SkipTests: true})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	body, err := io.ReadAll(io.LimitReader(stdin, answer.MaxBody+1))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	errEnc := json.NewEncoder(stderr)
	errEnc.SetIndent("", "  ")
	if len(body) > answer.MaxBody {
		errEnc.Encode(answer.Body(answer.Errorf(answer.CodeTooLarge, fmt.Sprintf("the body is larger than %d bytes", answer.MaxBody))))
		return 2
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	// The answer service, as the server's surfaces ask it, but with no
	// server around it: one request per process needs no evaluation slot,
	// keeps no decision (no store: the reference is a random one) and
	// counts nothing (no metrics); the policy's own deadline bounds it.
	answers := answer.Service{Engine: rules.NewEngine(policy)}
	res, err := answers.Answer(ctx, answer.Ask{Source: "cli", Body: body, Langs: []string{*lang}})
	resp := res.Response
	if err != nil {
		errEnc.Encode(answer.Body(err))
		if answer.As(err).Code == answer.CodeEvaluationFailed {
			return 1
		}
		return 2
	}
	if err := enc.Encode(resp); err != nil {
		return 1
	}
	if unsupported != "" {
		fmt.Fprintf(stderr, "diagnose: --lang %s is not supported; answering in %s\n", unsupported, resp.Lang)
	}
	return 0
}

// printOpenAPI prints the API's OpenAPI document for the rules serve
// would serve (the latest published in --data or --database, as export
// reads them), or those of --rules DIR, as GET /api/openapi.json serves
// it, for tools that read the document (make openapi-check).
func printOpenAPI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("openapi", openAPIUsage)
	data := dataFlag(fs, "whose published rules are described")
	database := databaseFlag(fs)
	dir := fs.String("rules", "", "the rules folder (`DIR`, as acceso rules init writes it) to describe instead of the published rules")
	if _, code, ok := parseArgs(fs, args, 0, stdout, stderr); !ok {
		return code
	}
	policy, code, ok := publishedRules(ctx, "openapi", "the document of the built-in rules", *dir, *database, *data, stderr)
	if !ok {
		return code
	}
	doc, err := api.OpenAPI(policy)
	if err != nil {
		fmt.Fprintln(stderr, "openapi:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", doc)
	return 0
}

// publishedRules returns the rules a command that shows them reads, as
// export reads them: those of the folder dir when it is set, else the
// latest revision published in the database (--database, else the SQLite
// one in --data), read and never added to, else the built-in rules. A
// --data folder without a database is not created: the built-in rules are
// read, and cmd says so on stderr with what it shows of them (builtIn).
// None of them runs its Rego tests again, but for a stored revision, which
// is verified as serve verifies it.
func publishedRules(ctx context.Context, cmd, builtIn, dir, database, data string, stderr io.Writer) (*rules.Policy, int, bool) {
	src := rules.Embedded()
	switch {
	case dir != "":
		if err := checkFolder(dir); err != nil {
			fmt.Fprintln(stderr, cmd+": --rules", err)
			return nil, 2, false
		}
		var err error
		if src, err = rules.FromDir(dir); err != nil {
			fmt.Fprintln(stderr, cmd+": --rules", err)
			return nil, 1, false
		}
	case database == "" && !fileExists(filepath.Join(data, store.FileName)):
		fmt.Fprintf(stderr, "%s: no database in %s (--data): %s\n", cmd, data, builtIn)
	default:
		db, err := openStore(ctx, database, data)
		if err != nil {
			fmt.Fprintln(stderr, cmd+":", err)
			return nil, 1, false
		}
		defer db.Close()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		pub, err := publish.Load(ctx, publish.Config{ReadOnly: true, NoCache: true}, db, log)
		if err != nil {
			printProblems(stderr, cmd, err)
			return nil, 1, false
		}
		return pub.Engine().Current(), 0, true
	}
	policy, err := rules.Build(ctx, src, rules.Options{SkipTests: true, NoCache: true})
	if err != nil {
		printProblems(stderr, cmd, err)
		return nil, 1, false
	}
	return policy, 0, true
}

// initRules writes the built-in knowledge to DIR, new or empty, for an
// admin to grow and serve with serve --rules DIR.
func initRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("rules init", rulesInitUsage)
	topic := fs.String("topic", "", "add a new topic of this name to the rules folder DIR (its rules, tests, article, explanations and texts, as new files) instead of writing the built-in knowledge")
	args, code, ok := parseArgs(fs, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	if len(args) != 1 {
		fmt.Fprintln(stderr, "rules init: name the folder to write: "+rulesInitUsage)
		return 2
	}
	if *topic != "" {
		return initTopic(args[0], *topic, stdout, stderr)
	}
	if err := rules.Embedded().WriteDir(args[0]); err != nil {
		fmt.Fprintln(stderr, "rules init:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote the built-in rules to %s: check them with acceso rules test %s, serve them with acceso serve --rules %s\n", args[0], args[0], args[0])
	return 0
}

// initTopic writes a new topic's files (rules.TopicFiles) into the rules
// folder dir, each a new file: a file that exists already is not
// overwritten, and nothing is written.
func initTopic(dir, topic string, stdout, stderr io.Writer) int {
	files, err := rules.TopicFiles(topic)
	if err != nil {
		fmt.Fprintln(stderr, "rules init:", err)
		return 2
	}
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(stderr, "rules init: %v: add a topic to a rules folder (write one with acceso rules init %s first)\n", err, dir)
		return 1
	}
	paths := make(map[string]string, len(files))
	for name := range files {
		// The folder's layout (rules.FromDir): modules and documents at its
		// top, texts under locales/.
		paths[name] = filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(name, "rules/")))
		if _, err := os.Stat(paths[name]); err == nil {
			fmt.Fprintf(stderr, "rules init: %s exists already: topic %s is in the folder; choose another name\n", paths[name], topic)
			return 1
		}
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.MkdirAll(filepath.Dir(paths[name]), 0o755); err != nil {
			fmt.Fprintln(stderr, "rules init:", err)
			return 1
		}
		if err := os.WriteFile(paths[name], []byte(files[name]), 0o644); err != nil {
			fmt.Fprintln(stderr, "rules init:", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "wrote the topic %s to %s: write its symptoms, facts, causes, article, explanations and texts, check them with acceso rules test %s\n",
		topic, filepath.Join(dir, topic), dir)
	return 0
}

// testRules verifies the rules in DIR (or the embedded ones) as a publish
// would, printing every problem as file:line: message.
func testRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("rules test", rulesTestUsage)
	args, code, ok := parseArgs(fs, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	src, code, ok := rulesIn("rules test", args, stderr)
	if !ok {
		return code
	}
	policy, err := rules.Build(ctx, src, rules.Options{})
	if err != nil {
		printProblems(stderr, "rules test", err)
		return 1
	}
	m, err := flow.Explore(ctx, policy, 0)
	if err != nil {
		fmt.Fprintln(stderr, "rules:", err)
		return 1
	}
	if problems := m.Check(policy.Catalog); len(problems) > 0 {
		printProblems(stderr, "rules test", problems)
		return 1
	}
	if problems := server.CheckPages(ctx, policy); len(problems) > 0 {
		printProblems(stderr, "rules test", problems)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d modules, %d causes, texts complete in every language, %d self-diagnosis states, revision %s\n",
		len(src.Modules), len(policy.Catalog.Causes), m.States(), policy.Revision)
	return 0
}

// serve runs the server until SIGINT or SIGTERM, then drains it.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, opts := serveFlags()
	if _, code, ok := parseArgs(fs, args, 0, stdout, stderr); !ok {
		return code
	}
	addr, data, rulesDir, proxies, apiRate := opts.addr, opts.data, opts.rules, opts.proxies, opts.apiRate
	rate, err := strconv.ParseFloat(*apiRate, 64)
	if err != nil || !(rate >= server.MinAPIRate && rate <= server.MaxAPIRate) {
		fmt.Fprintf(stderr, "serve: --api-rate (ACCESO_API_RATE) %q: want a number of requests per second between %v and %v\n", *apiRate, server.MinAPIRate, server.MaxAPIRate)
		return 2
	}
	retention, err := time.ParseDuration(*opts.retention)
	if err != nil || retention < time.Hour {
		fmt.Fprintf(stderr, "serve: --decision-retention (ACCESO_DECISION_RETENTION) %q: want a duration of at least 1h, such as 720h\n", *opts.retention)
		return 2
	}
	cacheSize, err := strconv.Atoi(*opts.cacheSize)
	if err != nil || cacheSize < 0 {
		fmt.Fprintf(stderr, "serve: --decision-cache (ACCESO_DECISION_CACHE) %q: want how many decisions to keep for reuse, such as %d, or 0 to keep none\n", *opts.cacheSize, rules.DefaultCacheSize)
		return 2
	}
	cfg := server.Config{Addr: *addr, APIRate: rate, APIBurst: max(1, int(2*rate)),
		MetricsAddr: *opts.metricsAddr, SupportURL: *opts.supportURL, SupportEmail: *opts.supportEmail, DecisionRetention: retention, BaseURL: *opts.baseURL}
	for cidr := range strings.SplitSeq(*proxies, ",") {
		if cidr = strings.TrimSpace(cidr); cidr != "" {
			cfg.TrustedProxies = append(cfg.TrustedProxies, cidr)
		}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	if *rulesDir != "" {
		if err := checkFolder(*rulesDir); err != nil {
			fmt.Fprintln(stderr, "serve: --rules (ACCESO_RULES)", err)
			return 2
		}
	}
	if t := *opts.bundleToken; t != "" && len(t) < bundle.MinToken {
		fmt.Fprintf(stderr, "serve: --bundle-token (ACCESO_BUNDLE_TOKEN) is %d characters; want at least %d, such as the output of openssl rand -hex 32\n", len(t), bundle.MinToken)
		return 2
	}
	cfg.BundleToken = *opts.bundleToken
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	db, err := openStore(ctx, *opts.database, *data)
	if err != nil {
		log.Error("cannot open storage", "err", err)
		return 1
	}
	defer db.Close()
	isolate := func(ctx context.Context, src knowledge.Source, exam sandbox.Exam) (sandbox.Result, error) {
		return sandbox.Run(ctx, src, exam, sandbox.Limits{})
	}
	// On a shared database, other replicas publish too: follow them.
	pcfg := publish.Config{RulesDir: *rulesDir, Isolate: isolate, Follow: db.Shared(), CacheSize: cacheSize, NoCache: cacheSize == 0}
	pub, err := publish.Load(ctx, pcfg, db, log)
	if err != nil {
		log.Error("cannot load rules", "err", err)
		return 1
	}
	srv, err := server.New(cfg, pub, db, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	defer srv.Close()
	ln, err := server.Listen(cfg.Addr)
	if err != nil {
		log.Error("cannot serve", "err", err)
		return 1
	}
	srv.Echo().Listener = ln
	fmt.Fprintf(stdout, "acceso: serving http://%s/ (the admin area at /admin/); Ctrl-C stops it\n", ln.Addr())
	if err := srv.Run(ctx, 15*time.Second); err != nil {
		log.Error("cannot serve", "err", err)
		return 1
	}
	return 0
}

// openStore opens the PostgreSQL database of --database when it is set,
// else the SQLite database in the --data folder. Its errors name the flag.
func openStore(ctx context.Context, database, data string) (*store.DB, error) {
	if database != "" {
		db, err := store.OpenURL(ctx, database)
		if err != nil {
			return nil, fmt.Errorf("--database (ACCESO_DATABASE): %w", err)
		}
		return db, nil
	}
	db, err := store.Open(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("--data (ACCESO_DATA): %w", err)
	}
	return db, nil
}

// dataFlag adds --data to fs, the folder of the SQLite database, said to
// hold what when it is not empty.
func dataFlag(fs *flag.FlagSet, what string) *string {
	usage := "`DIR` of the SQLite database"
	if what != "" {
		usage += " " + what
	}
	return fs.String("data", env("ACCESO_DATA", "./data"), usage+" (ACCESO_DATA)")
}

// databaseFlag adds --database to fs.
func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database", env("ACCESO_DATABASE", ""),
		"postgres:// `URL` of a PostgreSQL database that several servers share; without it, SQLite in --data (ACCESO_DATABASE)")
}

// hours writes d as a whole number of hours, as people type it ("720h"),
// where Duration.String writes "720h0m0s".
func hours(d time.Duration) string {
	return strconv.Itoa(int(d/time.Hour)) + "h"
}

// env returns the environment variable name, or def when it is unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// addAdmin creates an admin, or resets their password, with the password
// read from stdin: typed without echo on a terminal, else the first line.
func addAdmin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name, data, database, code, ok := adminNamed("admin add", adminAddUsage, args, stdout, stderr)
	if !ok {
		return code
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "admin add: reading the password from stdin:", err)
		return 1
	}
	db, err := openStore(ctx, *database, *data)
	if err != nil {
		fmt.Fprintln(stderr, "admin add:", err)
		return 1
	}
	defer db.Close()
	if err := account.Add(ctx, db, name, password); err != nil {
		fmt.Fprintln(stderr, "admin add:", err)
		return 1
	}
	where := *data
	if *database != "" {
		where = "the --database"
	}
	fmt.Fprintf(stdout, "admin %s saved in %s\n", name, where)
	return 0
}

// listAdmins prints the admin accounts, one a line: the name, when it was
// created and how many sessions it has open.
func listAdmins(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("admin list", adminListUsage)
	data := dataFlag(fs, "")
	database := databaseFlag(fs)
	if _, code, ok := parseArgs(fs, args, 0, stdout, stderr); !ok {
		return code
	}
	db, err := openStore(ctx, *database, *data)
	if err != nil {
		fmt.Fprintln(stderr, "admin list:", err)
		return 1
	}
	defer db.Close()
	admins, err := db.Admins(ctx, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "admin list:", err)
		return 1
	}
	for _, a := range admins {
		fmt.Fprintf(stdout, "%s\tcreated %s\t%d open sessions\n", a.Name, a.Created.Format(time.DateOnly), a.Sessions)
	}
	if len(admins) == 0 {
		fmt.Fprintln(stderr, "admin list: no admins; add one with acceso admin add NAME")
	}
	return 0
}

// removeAdmin removes an admin account and ends its sessions at once.
func removeAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name, data, database, code, ok := adminNamed("admin remove", adminRemoveUsage, args, stdout, stderr)
	if !ok {
		return code
	}
	db, err := openStore(ctx, *database, *data)
	if err != nil {
		fmt.Fprintln(stderr, "admin remove:", err)
		return 1
	}
	defer db.Close()
	switch err := db.RemoveAdmin(ctx, name); {
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintf(stderr, "admin remove: no admin is named %q (acceso admin list shows them)\n", name)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "admin remove:", err)
		return 1
	}
	fmt.Fprintf(stdout, "admin %s removed; their sessions are ended\n", name)
	return 0
}

// adminNamed reads the flags and the one NAME of an admin command (admin
// add, admin remove); ok is false when the command must end with code.
func adminNamed(cmd, usage string, args []string, stdout, stderr io.Writer) (name string, data, database *string, code int, ok bool) {
	fs := newFlagSet(cmd, usage)
	data = dataFlag(fs, "")
	database = databaseFlag(fs)
	args, code, ok = parseArgs(fs, args, 1, stdout, stderr)
	if !ok {
		return "", nil, nil, code, false
	}
	if len(args) != 1 {
		fmt.Fprintf(stderr, "%s: the admin's NAME is missing\nusage: %s\n", cmd, usage)
		return "", nil, nil, 2, false
	}
	return args[0], data, database, 0, true
}

// readPassword reads a password: without echo from a terminal, else the
// first line of stdin, without its line end.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "Password (at least %d characters): ", account.MinPasswordLen)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// serveOptions are serve's settings, each from its flag, else its
// environment variable, else its default.
type serveOptions struct {
	addr, data, rules, proxies, apiRate, metricsAddr *string
	supportURL, supportEmail, retention, baseURL     *string
	cacheSize, database, bundleToken                 *string
}

// serveFlags returns serve's flag set and where it puts what it parses. The
// tests parse the systemd unit's ExecStart with it.
func serveFlags() (*flag.FlagSet, serveOptions) {
	fs := newFlagSet("serve", serveUsage)
	return fs, serveOptions{
		addr:    fs.String("addr", env("ACCESO_ADDR", "127.0.0.1:8080"), "`ADDRESS` to listen on (ACCESO_ADDR)"),
		data:    dataFlag(fs, ""),
		rules:   fs.String("rules", env("ACCESO_RULES", ""), "`DIR` of .rego files to serve and watch instead of the embedded rules (ACCESO_RULES)"),
		proxies: fs.String("trusted-proxies", env("ACCESO_TRUSTED_PROXIES", ""), "comma-separated `CIDRS` of reverse proxies whose X-Forwarded-For is believed; none by default (ACCESO_TRUSTED_PROXIES)"),
		apiRate: fs.String("api-rate", env("ACCESO_API_RATE", fmt.Sprint(server.DefaultAPIRate)), "API requests per second (`N`) allowed to one client, in bursts of up to twice as many (ACCESO_API_RATE)"),
		supportURL: fs.String("support-url", env("ACCESO_SUPPORT_URL", ""),
			"web page (`URL`) where a contact asks for help, shown at the end of the self-diagnosis (ACCESO_SUPPORT_URL)"),
		supportEmail: fs.String("support-email", env("ACCESO_SUPPORT_EMAIL", ""),
			"email `ADDRESS` where a contact asks for help, shown at the end of the self-diagnosis (ACCESO_SUPPORT_EMAIL)"),
		baseURL: fs.String("base-url", env("ACCESO_BASE_URL", ""),
			"the site's public address (`URL`), such as https://help.example.com: absolute hreflang, canonical and sitemap links (ACCESO_BASE_URL)"),
		retention: fs.String("decision-retention", env("ACCESO_DECISION_RETENTION", hours(server.DefaultDecisionRetention)),
			"how long (`DURATION`) decisions are kept for look-up by their reference, then purged (ACCESO_DECISION_RETENTION)"),
		cacheSize: fs.String("decision-cache", env("ACCESO_DECISION_CACHE", strconv.Itoa(rules.DefaultCacheSize)),
			"how many decisions (`N`) the rules being served keep, to answer the same non-personal facts again without evaluating; 0 keeps none (ACCESO_DECISION_CACHE)"),
		metricsAddr: fs.String("metrics-addr", env("ACCESO_METRICS_ADDR", ""),
			"`ADDRESS` of a second listener serving only /metrics; none by default, and never on the public listener (ACCESO_METRICS_ADDR)"),
		database: databaseFlag(fs),
		bundleToken: fs.String("bundle-token", env("ACCESO_BUNDLE_TOKEN", ""),
			"bearer `TOKEN` that GET /bundles/{name}.tar.gz (the served rules as an OPA bundle) requires; without it, no bundles are served (ACCESO_BUNDLE_TOKEN)"),
	}
}

// rulesIn returns the rules of the folder args names, or the built-in ones
// when it names none; when the folder cannot be read, it says why on stderr
// under cmd and returns the exit code.
func rulesIn(cmd string, args []string, stderr io.Writer) (knowledge.Source, int, bool) {
	if len(args) == 0 {
		return rules.Embedded(), 0, true
	}
	if err := checkFolder(args[0]); err != nil {
		fmt.Fprintln(stderr, cmd+":", err)
		return knowledge.Source{}, 2, false
	}
	src, err := rules.FromDir(args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return knowledge.Source{}, 1, false
	}
	return src, 0, true
}

// checkFolder says, naming it, why dir is not a folder that can be read.
func checkFolder(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: no such folder", dir)
	case err != nil:
		return err
	case !info.IsDir():
		return fmt.Errorf("%s: not a folder", dir)
	}
	return nil
}

// fileExists says whether path is a file that exists.
func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// backup writes a consistent copy of the database in --data to --out,
// also while a server is using it. A PostgreSQL --database is copied with
// pg_dump, which it says.
func backup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backup", backupUsage)
	out := fs.String("out", "", "`FILE` to write the copy to; it must not exist")
	data := dataFlag(fs, "")
	database := databaseFlag(fs)
	if _, code, ok := parseArgs(fs, args, 0, stdout, stderr); !ok {
		return code
	}
	if *database != "" {
		// PostgreSQL's own tool copies a consistent snapshot, restorable
		// with pg_restore: say so rather than make a lesser copy.
		fmt.Fprintln(stderr, store.ErrBackupPostgres)
		return 2
	}
	if *out == "" {
		fmt.Fprintf(stderr, "backup: --out FILE is required\nusage: %s\n", backupUsage)
		return 2
	}
	// Opening a folder without a database would create an empty one and
	// back that up: say instead that there is nothing to copy.
	file := filepath.Join(*data, store.FileName)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "backup: no database in %s (%s does not exist)\n", *data, file)
		return 1
	} else if err != nil {
		fmt.Fprintln(stderr, "backup:", err)
		return 1
	}
	db, err := store.Open(ctx, *data)
	if err != nil {
		fmt.Fprintln(stderr, "backup:", err)
		return 1
	}
	defer db.Close()
	if err := db.Backup(ctx, *out); err != nil {
		fmt.Fprintln(stderr, err) // "backup to FILE: …"
		return 1
	}
	fmt.Fprintf(stdout, "backup of %s written to %s\n", file, *out)
	return 0
}

// export writes the whole help site as static files: the embedded rules,
// or those of --rules, rendered by the server's own pages.
func export(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export", exportUsage)
	out := fs.String("out", "", "folder (`DIR`) to write the site to; it must be new or empty")
	baseURL := fs.String("base-url", env("ACCESO_BASE_URL", ""), "the site's public address (`URL`), for absolute links, the sitemap and feedback on the live site (ACCESO_BASE_URL)")
	data := dataFlag(fs, "whose published rules are exported")
	database := databaseFlag(fs)
	rulesDir := fs.String("rules", "", "folder (`DIR`) of .rego files (and locales/) to export instead of the published rules")
	if _, code, ok := parseArgs(fs, args, 0, stdout, stderr); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintf(stderr, "export: --out DIR is required\nusage: %s\n", exportUsage)
		return 2
	}
	if *rulesDir != "" {
		if err := checkFolder(*rulesDir); err != nil {
			fmt.Fprintln(stderr, "export: --rules", err)
			return 2
		}
	}
	cfg := server.Config{Static: true, BaseURL: *baseURL}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 2
	}
	// The site exported is the one served: the rules published last, read
	// from the database (opening it brings its schema up to date, as for
	// every command; nothing else is stored), unless --rules names a
	// folder. A SQLite folder without a database is not created: the
	// built-in rules are exported, and the message says so.
	var db *store.DB
	switch {
	case *rulesDir != "":
	case *database == "" && !fileExists(filepath.Join(*data, store.FileName)):
		fmt.Fprintf(stderr, "export: no database in %s (--data): exporting the built-in rules\n", *data)
	default:
		var err error
		if db, err = openStore(ctx, *database, *data); err != nil {
			fmt.Fprintln(stderr, "export:", err)
			return 1
		}
		defer db.Close()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub, err := publish.Load(ctx, publish.Config{RulesDir: *rulesDir, ReadOnly: true}, db, log)
	if err != nil {
		printProblems(stderr, "export", err)
		return 1
	}
	srv, err := server.New(cfg, pub, nil, log)
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 1
	}
	fmt.Fprintf(stderr, "export: writing the site of revision %s to %s\n", pub.Engine().Current().Revision, *out)
	st, err := srv.Export(ctx, *out, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 1
	}
	fmt.Fprintf(stdout, "exported %d files (%d KB) to %s: %d self-diagnosis states in each language, in %v\n",
		st.Files, (st.Bytes+1023)/1024, *out, st.States, st.Took.Round(time.Millisecond))
	return 0
}

// printProblems prints err's problems one per line (file:line: message),
// or err itself.
func printProblems(w io.Writer, cmd string, err error) {
	if problems, ok := knowledge.AsProblems(err); ok {
		for _, p := range problems {
			fmt.Fprintln(w, p)
		}
		return
	}
	fmt.Fprintln(w, cmd+":", err)
}

// mapRules prints the self-diagnosis the rules give, as a tree: per
// symptom, each question and where each answer leads, down to the
// outcomes. The rules are those of DIR, else the ones serve would serve
// (the latest published in --data or --database, as export reads them).
func mapRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("rules map", rulesMapUsage)
	lang := fs.String("lang", locales.Source, "language (`LANG`) of the questions and causes: es or en")
	data := dataFlag(fs, "whose published rules are mapped")
	database := databaseFlag(fs)
	args, code, ok := parseArgs(fs, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	// As diagnose does: an unsupported language is said, not fatal.
	if !locales.Supported(*lang) {
		fmt.Fprintf(stderr, "rules map: --lang %s is not supported (%s are); printing in %s\n", *lang, strings.Join(locales.Languages, ", "), locales.Source)
		*lang = locales.Source
	}
	var policy *rules.Policy
	if len(args) > 0 {
		src, code, ok := rulesIn("rules map", args, stderr)
		if !ok {
			return code
		}
		var err error
		if policy, err = rules.Build(ctx, src, rules.Options{SkipTests: true}); err != nil {
			printProblems(stderr, "rules map", err)
			return 1
		}
	} else if policy, code, ok = publishedRules(ctx, "rules map", "the map of the built-in rules", "", *database, *data, stderr); !ok {
		return code
	}
	m, err := flow.Explore(ctx, policy, 0)
	if err != nil {
		fmt.Fprintln(stderr, "rules map:", err)
		return 1
	}
	if err := m.WriteText(stdout, flow.NewTexts(locales.NewLocalizer(policy.Texts, *lang))); err != nil {
		return 1
	}
	return 0
}
