package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"acceso/apikey"
	"acceso/server/store"
)

// apikeyUsage is the synopsis of the apikey commands.
const apikeyUsage = "acceso apikey add NAME [--scope decisions:read] | acceso apikey list | acceso apikey remove NAME  [--data ./data | --database postgres://…]"

// apikeyCommand runs acceso apikey add, list or remove.
func apikeyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "acceso: unknown command %q\n%s", "apikey", usage)
		return 2
	}
	cmd := "apikey " + args[0]
	fs := newFlagSet(cmd, apikeyUsage)
	data := dataFlag(fs, "")
	database := databaseFlag(fs)
	var scopes []string
	maxArgs := 1
	switch args[0] {
	case "add":
		fs.Func("scope", "what the key may do: "+strings.Join(apikey.Scopes, ", ")+" (repeat it, or separate scopes with commas); without it, the key only has a rate limit of its own on POST /api/v1/evaluate", func(v string) error {
			for s := range strings.SplitSeq(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					scopes = append(scopes, s)
				}
			}
			return nil
		})
	case "list":
		maxArgs = 0
	case "remove":
	default:
		fmt.Fprintf(stderr, "acceso: unknown command %q\n%s", cmd, usage)
		return 2
	}
	pos, code, ok := parseArgs(fs, args[1:], maxArgs, stdout, stderr)
	if !ok {
		return code
	}
	if maxArgs == 1 && len(pos) != 1 {
		fmt.Fprintf(stderr, "%s: the key's NAME is missing\nusage: %s\n", cmd, apikeyUsage)
		return 2
	}
	db, err := openStore(ctx, *database, *data)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	defer db.Close()
	switch args[0] {
	case "add":
		key, err := apikey.Add(ctx, db, pos[0], scopes, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			return 1
		}
		// The key alone on stdout, for a script to read; the rest on
		// stderr. It is never shown again.
		fmt.Fprintln(stdout, key)
		fmt.Fprintf(stderr, "API key %s saved (scopes: %s). This is the only time it is shown: keep it secret; send it as \"Authorization: Bearer <key>\".\n",
			pos[0], scopeList(scopes))
	case "list":
		keys, err := db.APIKeys(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
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
	case "remove":
		if err := db.RemoveAPIKey(ctx, pos[0]); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				fmt.Fprintf(stderr, "%s: no key is named %s (acceso apikey list shows them)\n", cmd, pos[0])
				return 1
			}
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			return 1
		}
		fmt.Fprintf(stdout, "API key %s removed: it is refused from now on\n", pos[0])
	}
	return 0
}

// scopeList is scopes for people: comma-separated, or "none".
func scopeList(scopes []string) string {
	if len(scopes) == 0 {
		return "none"
	}
	return strings.Join(scopes, ",")
}
