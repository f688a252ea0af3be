package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"acceso/apikey"
	"acceso/store"
)

// The synopses of the apikey commands.
const (
	apikeyAddUsage    = "acceso apikey add [--scope decisions:read] [--data ./data | --database postgres://…] NAME"
	apikeyListUsage   = "acceso apikey list [--data ./data | --database postgres://…]"
	apikeyRemoveUsage = "acceso apikey remove [--data ./data | --database postgres://…] NAME"
)

// apikeyFlags is the flag set of an apikey command, with where its
// database is.
func apikeyFlags(name, synopsis string) (fs *flag.FlagSet, data, database *string) {
	fs = newFlagSet(name, synopsis)
	return fs, dataFlag(fs, ""), databaseFlag(fs)
}

// apikeyStore parses args (with at most maxArgs positional arguments,
// exactly that many when want is set) and opens the database they name.
func apikeyStore(ctx context.Context, fs *flag.FlagSet, data, database *string, args []string, maxArgs int, stdout, stderr io.Writer) (*store.DB, []string, int) {
	pos, code, ok := parseArgs(fs, args, maxArgs, stdout, stderr)
	if !ok {
		return nil, nil, code
	}
	if len(pos) != maxArgs {
		fmt.Fprintf(stderr, "%s: the key's NAME is missing\nRun 'acceso %s --help' for its flags.\n", fs.Name(), fs.Name())
		return nil, nil, 2
	}
	db, err := openStore(ctx, *database, *data)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return nil, nil, 1
	}
	return db, pos, 0
}

// addAPIKey makes an integration's API key and prints it, the only time
// it is shown; only its hash is kept.
func addAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, data, database := apikeyFlags("apikey add", apikeyAddUsage)
	var scopes []string
	fs.Func("scope", "what the key may do: `SCOPE`, one of "+strings.Join(apikey.Scopes, ", ")+" (repeat the flag, or separate scopes with commas); without it, the key only has a rate limit of its own on POST /api/v1/evaluate", func(v string) error {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				scopes = append(scopes, s)
			}
		}
		return nil
	})
	db, pos, code := apikeyStore(ctx, fs, data, database, args, 1, stdout, stderr)
	if db == nil {
		return code
	}
	defer db.Close()
	key, err := apikey.Add(ctx, db, pos[0], scopes, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "apikey add:", err)
		return 1
	}
	// The key alone on stdout, for a script to read; the rest on stderr.
	fmt.Fprintln(stdout, key)
	fmt.Fprintf(stderr, "API key %s saved (scopes: %s). This is the only time it is shown: keep it secret; send it as \"Authorization: Bearer <key>\".\n",
		pos[0], scopeList(scopes))
	return 0
}

// listAPIKeys prints the keys: name, scopes, when made and last used.
func listAPIKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, data, database := apikeyFlags("apikey list", apikeyListUsage)
	db, _, code := apikeyStore(ctx, fs, data, database, args, 0, stdout, stderr)
	if db == nil {
		return code
	}
	defer db.Close()
	keys, err := db.APIKeys(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "apikey list:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tLAST USED")
	for _, k := range keys {
		used := "never"
		if !k.LastUsed.IsZero() {
			used = k.LastUsed.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, scopeList(k.Scopes), k.Created.Format(time.RFC3339), used)
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}

// removeAPIKey removes a key: it is refused from the next request on, on
// every server sharing the database.
func removeAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, data, database := apikeyFlags("apikey remove", apikeyRemoveUsage)
	db, pos, code := apikeyStore(ctx, fs, data, database, args, 1, stdout, stderr)
	if db == nil {
		return code
	}
	defer db.Close()
	if err := db.RemoveAPIKey(ctx, pos[0]); errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stderr, "apikey remove: no key is named %s (acceso apikey list shows them)\n", pos[0])
		return 1
	} else if err != nil {
		fmt.Fprintln(stderr, "apikey remove:", err)
		return 1
	}
	fmt.Fprintf(stdout, "API key %s removed: it is refused from now on\n", pos[0])
	return 0
}

// scopeList is scopes for people: comma-separated, or "none".
func scopeList(scopes []string) string {
	if len(scopes) == 0 {
		return "none"
	}
	return strings.Join(scopes, ",")
}
