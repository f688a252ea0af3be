package server

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"acceso/rules"
)

// TestCheckPages renders the site of the shipped rules (every page under
// MaxPage) and of rules whose every text is as long as a text may be: a
// page of those passes MaxPage, and the publish is refused naming it.
func TestCheckPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, err := rules.Build(ctx, rules.Embedded(), rules.Options{SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	if problems := CheckPages(ctx, p); problems != nil {
		t.Errorf("CheckPages(the shipped rules) = %v; want nil", problems)
	}
	if problems := checkPages(ctx, p, 4<<10); len(problems) != 1 || !strings.Contains(problems[0].Message, "more than the 4 KB") {
		t.Errorf("checkPages(the shipped rules, 4 KB) = %v; want one page refused", problems)
	}

	// Every text 1,990 bytes long: each one is allowed, but a page shows
	// dozens of them.
	long := strings.TrimSpace(strings.Repeat("palabra ", 1990/8))
	other := regexp.MustCompile(`(?m)^other = ".*"$`)
	src := rules.Embedded().Clone()
	for name, b := range src.Messages {
		src.Messages[name] = other.ReplaceAll(b, []byte(`other = "`+long+`"`))
	}
	heavy, err := rules.Build(ctx, src, rules.Options{SkipTests: true})
	if err != nil {
		t.Fatalf("Build(every text %d bytes) = %v", len(long), err)
	}
	problems := CheckPages(ctx, heavy)
	if len(problems) != 1 || !regexp.MustCompile(`^the page /(es|en)/\S* would be \d+ KB, more than the 64 KB`).MatchString(problems[0].Message) {
		t.Errorf("CheckPages(every text %d bytes) = %v; want a page refused", len(long), problems)
	}
	t.Logf("every text %d bytes: %v", len(long), problems)
}
