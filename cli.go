package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"
)

// The synopsis of each command, for the usage and for its --help.
const (
	serveUsage       = "acceso serve [--addr 127.0.0.1:8080] [--data ./data] [--rules DIR] [--trusted-proxies CIDR,...] [--api-rate 50] [--base-url URL] [--support-url URL] [--support-email ADDR] [--decision-retention 720h] [--decision-cache 10000] [--metrics-addr ADDR] [--database postgres://…] [--bundle-token TOKEN]"
	diagnoseUsage    = "acceso diagnose [--lang en] < request.json"
	rulesTestUsage   = "acceso rules test [DIR]"
	rulesInitUsage   = "acceso rules init [--topic NAME] DIR"
	rulesMapUsage    = "acceso rules map [--lang es] [--data ./data | --database postgres://… | DIR]"
	adminAddUsage    = "acceso admin add [--data ./data | --database postgres://…] NAME < password"
	adminListUsage   = "acceso admin list [--data ./data | --database postgres://…]"
	adminRemoveUsage = "acceso admin remove [--data ./data | --database postgres://…] NAME"
	backupUsage      = "acceso backup --out FILE [--data ./data | --database postgres://…]"
	exportUsage      = "acceso export --out DIR [--base-url URL] [--data ./data | --database postgres://… | --rules DIR]"
	openAPIUsage     = "acceso openapi [--data ./data | --database postgres://… | --rules DIR]"
	versionUsage     = "acceso version"
	helpUsage        = "acceso help [COMMAND]"
)

// A command is one thing acceso does. Commands of a group ("rules",
// "admin", "apikey") are named with their group: "rules test".
type command struct {
	name, synopsis, summary string
	run                     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands lists every command, in the order the usage shows them.
func commands() []command {
	noStdin := func(f func(context.Context, []string, io.Writer, io.Writer) int) func(context.Context, []string, io.Reader, io.Writer, io.Writer) int {
		return func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return f(ctx, args, stdout, stderr)
		}
	}
	return []command{
		{"serve", serveUsage, "serve the help site, the API and the admin area", noStdin(serve)},
		{"diagnose", diagnoseUsage, "answer one API request read from stdin, as the API would", diagnose},
		{"rules init", rulesInitUsage, "write the built-in knowledge (rules, tests, texts, article, contacts' explanations) to a new or empty folder, or --topic NAME: add a new topic's files to it", noStdin(initRules)},
		{"rules test", rulesTestUsage, "verify rules: compile, Rego tests, texts, the self-diagnosis", noStdin(testRules)},
		{"rules map", rulesMapUsage, "print the self-diagnosis as a tree of questions and outcomes", noStdin(mapRules)},
		{"admin add", adminAddUsage, "create an admin, or reset their password (read from stdin)", addAdmin},
		{"admin list", adminListUsage, "list the admin accounts and their open sessions", noStdin(listAdmins)},
		{"admin remove", adminRemoveUsage, "remove an admin account and end its sessions", noStdin(removeAdmin)},
		{"apikey add", apikeyAddUsage, "make an integration's API key and print it, once", noStdin(addAPIKey)},
		{"apikey list", apikeyListUsage, "list the API keys with their scopes and last use", noStdin(listAPIKeys)},
		{"apikey remove", apikeyRemoveUsage, "remove an API key: it is refused from then on", noStdin(removeAPIKey)},
		{"backup", backupUsage, "write a consistent copy of the SQLite database", noStdin(backup)},
		{"export", exportUsage, "write the whole help site as static files", noStdin(export)},
		{"openapi", openAPIUsage, "print the API's OpenAPI document", noStdin(printOpenAPI)},
		{"version", versionUsage, "print the version of this build", noStdin(printVersion)},
		{"help", helpUsage, "print this list, or one command's synopsis and flags", help},
	}
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		writeUsage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" {
		return help(ctx, nil, stdin, stdout, stderr)
	}
	cmd, rest, err := find(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return cmd.run(ctx, rest, stdin, stdout, stderr)
}

// find returns the command args name and the arguments after its name, or
// an error that says what was not understood, with what would be.
func find(args []string) (command, []string, error) {
	var group []command
	for _, c := range commands() {
		name, sub, grouped := strings.Cut(c.name, " ")
		switch {
		case name != args[0]:
		case !grouped:
			return c, args[1:], nil
		case len(args) > 1 && args[1] == sub:
			return c, args[2:], nil
		default:
			group = append(group, c)
		}
	}
	if len(group) == 0 {
		return command{}, nil, fmt.Errorf("acceso: unknown command %q\n%s", args[0], usageText())
	}
	var subs, lines []string
	for _, c := range group {
		_, sub, _ := strings.Cut(c.name, " ")
		subs = append(subs, sub)
		lines = append(lines, "  "+c.synopsis)
	}
	what := "missing subcommand"
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		what = fmt.Sprintf("unknown subcommand %q", args[1])
	}
	return command{}, nil, fmt.Errorf("acceso %s: %s; want %s\nusage:\n%s", args[0], what, strings.Join(subs, " or "), strings.Join(lines, "\n"))
}

// usageText is the list of commands, one a line with what it does.
func usageText() string {
	var b strings.Builder
	b.WriteString("usage: acceso COMMAND [flags] [arguments]\n\ncommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	b.WriteString("\nRun 'acceso help COMMAND' (or 'acceso COMMAND --help') for a command's synopsis and flags.\n")
	return b.String()
}

func writeUsage(w io.Writer) { io.WriteString(w, usageText()) }

// help prints the list of commands, or a command's synopsis and flags as
// its --help does.
func help(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		writeUsage(stdout)
		return 0
	}
	if args[0] == "-h" || args[0] == "--help" {
		args = []string{"help"}
	}
	cmd, rest, err := find(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "help: unexpected argument %q\nusage: %s\n", rest[0], helpUsage)
		return 2
	}
	if cmd.name == "help" || cmd.name == "version" {
		fmt.Fprintf(stdout, "usage: %s\n\n%s.\n", cmd.synopsis, cmd.summary)
		return 0
	}
	return cmd.run(ctx, []string{"--help"}, stdin, stdout, stderr)
}

// printVersion prints the commit this binary was built from (when the
// build recorded one) and the Go version that built it.
func printVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", versionUsage)
	if _, code, ok := parseArgs(fs, args, 0, stdout, stderr); !ok {
		return code
	}
	fmt.Fprintln(stdout, version())
	return 0
}

// version describes this build: "acceso 6ad5441 (2026-12-05T02:20:00Z), go1.26.8",
// with "+changes" when it was built from a work tree with uncommitted
// changes; "acceso (development build)" when the build recorded no commit,
// as `go run` builds do.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "acceso (no build information)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	rev := settings["vcs.revision"]
	if rev == "" {
		return "acceso (development build), " + info.GoVersion
	}
	rev = rev[:min(len(rev), 12)]
	if settings["vcs.modified"] == "true" {
		rev += "+changes"
	}
	return fmt.Sprintf("acceso %s (%s), %s", rev, settings["vcs.time"], info.GoVersion)
}

// newFlagSet returns an empty flag set for the command name, whose usage
// is its synopsis followed by its flags. It prints nothing while parsing:
// parseArgs says what went wrong, and where.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n", synopsis)
		writeFlags(fs.Output(), fs)
	}
	return fs
}

// writeFlags lists fs's flags as they are typed: "--addr ADDR", the value's
// name taken from the back-quoted word of the flag's usage (flag's own
// convention), then what the flag does and its default.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nflags:")
			first = false
		}
		value, usage := flag.UnquoteUsage(f)
		if value == "string" { // no back-quoted name in the usage
			value = "VALUE"
		}
		fmt.Fprintf(w, "  --%s %s\n        %s", f.Name, value, usage)
		if f.DefValue != "" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// parseArgs parses args with fs, flags before and after the positional
// arguments alike (everything after "--" is positional), and returns at
// most maxArgs positional arguments. Otherwise ok is false and code is the
// exit code: 0 after printing fs's usage on stdout for -h or --help, 2
// after naming the mistake, with the command's synopsis, on stderr.
func parseArgs(fs *flag.FlagSet, args []string, maxArgs int, stdout, stderr io.Writer) (positional []string, code int, ok bool) {
	fail := func(err error) ([]string, int, bool) {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil, 0, false
		}
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		for _, c := range commands() {
			if c.name == fs.Name() {
				fmt.Fprintf(stderr, "usage: %s\n", c.synopsis)
			}
		}
		fmt.Fprintf(stderr, "Run 'acceso %s --help' for its flags.\n", fs.Name())
		return nil, 2, false
	}
	for {
		if err := fs.Parse(args); err != nil {
			return fail(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	if len(positional) > maxArgs {
		return fail(fmt.Errorf("unexpected argument %q", positional[maxArgs]))
	}
	return positional, 0, true
}
