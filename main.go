// Command acceso is the login troubleshooter: it serves the help site, the
// JSON API and the admin area, diagnoses one request from the command line,
// verifies a folder of rules, and manages admin accounts.
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
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"acceso/account"
	"acceso/answer"
	"acceso/publish"
	"acceso/rules"
	"acceso/server"
	"acceso/server/store"
)

const usage = `usage:
  acceso serve [--addr 127.0.0.1:8080] [--data ./data] [--rules DIR] [--trusted-proxies CIDR,...] [--api-rate 50]
  acceso diagnose [--lang en] < request.json
  acceso rules test [DIR]
  acceso admin add [--data ./data] NAME < password
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "diagnose":
		return diagnose(ctx, args[1:], stdin, stdout, stderr)
	case "rules":
		if len(args) >= 2 && args[1] == "test" {
			return testRules(ctx, args[2:], stdout, stderr)
		}
	case "admin":
		if len(args) >= 3 && args[1] == "add" {
			return addAdmin(ctx, args[2:], stdin, stdout, stderr)
		}
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// diagnose answers one request body read from stdin exactly as the API would.
func diagnose(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", "", "answer in this language (es or en) when the request names none")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	policy, err := rules.Build(ctx, rules.Embedded(), rules.Options{})
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
	resp, err := answer.Diagnose(ctx, rules.NewEngine(policy), body, *lang)
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
	return 0
}

// testRules verifies the rules in DIR (or the embedded ones) as a publish
// would, printing every problem as file:line: message.
func testRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	src := rules.Embedded()
	if len(args) > 0 {
		var err error
		if src, err = rules.FromDir(args[0]); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	policy, err := rules.Build(ctx, src, rules.Options{})
	if err != nil {
		if problems, ok := rules.AsProblems(err); ok {
			for _, p := range problems {
				fmt.Fprintln(stderr, p)
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d modules, %d causes, texts complete in every language, revision %s\n",
		len(src.Modules), len(policy.Catalog.Causes), policy.Revision)
	return 0
}

// serve runs the server until SIGINT or SIGTERM, then drains it.
func serve(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("ACCESO_ADDR", "127.0.0.1:8080"), "address to listen on (ACCESO_ADDR)")
	data := fs.String("data", env("ACCESO_DATA", "./data"), "folder of the SQLite database (ACCESO_DATA)")
	rulesDir := fs.String("rules", env("ACCESO_RULES", ""), "folder of .rego files to serve and watch instead of the embedded rules (ACCESO_RULES)")
	proxies := fs.String("trusted-proxies", env("ACCESO_TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed; none by default (ACCESO_TRUSTED_PROXIES)")
	apiRate := fs.String("api-rate", env("ACCESO_API_RATE", fmt.Sprint(server.DefaultAPIRate)), "API requests per second allowed to one client, in bursts of up to twice as many (ACCESO_API_RATE)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rate, err := strconv.ParseFloat(*apiRate, 64)
	if err != nil || !(rate >= server.MinAPIRate && rate <= server.MaxAPIRate) {
		fmt.Fprintf(stderr, "serve: --api-rate (ACCESO_API_RATE) %q: want a number of requests per second between %v and %v\n", *apiRate, server.MinAPIRate, server.MaxAPIRate)
		return 2
	}
	cfg := server.Config{Addr: *addr, APIRate: rate, APIBurst: max(1, int(2*rate))}
	for cidr := range strings.SplitSeq(*proxies, ",") {
		if cidr = strings.TrimSpace(cidr); cidr != "" {
			cfg.TrustedProxies = append(cfg.TrustedProxies, cidr)
		}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	db, err := store.Open(ctx, *data)
	if err != nil {
		log.Error("cannot open storage", "err", err)
		return 1
	}
	defer db.Close()
	pub, err := publish.Load(ctx, publish.Config{RulesDir: *rulesDir}, db, log)
	if err != nil {
		log.Error("cannot load rules", "err", err)
		return 1
	}
	srv, err := server.New(cfg, pub, db, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := srv.Run(ctx, 15*time.Second); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
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
	fs := flag.NewFlagSet("admin add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", env("ACCESO_DATA", "./data"), "folder of the SQLite database (ACCESO_DATA)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name := fs.Arg(0)
	password, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "admin add: reading the password from stdin:", err)
		return 1
	}
	db, err := store.Open(ctx, *data)
	if err != nil {
		fmt.Fprintln(stderr, "admin add:", err)
		return 1
	}
	defer db.Close()
	if err := account.Add(ctx, db, name, password); err != nil {
		fmt.Fprintln(stderr, "admin add:", err)
		return 1
	}
	fmt.Fprintf(stdout, "admin %s saved in %s\n", name, *data)
	return 0
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
