package answer

import (
	"context"
	"sync"
	"testing"

	"acceso/rules"
)

// build returns the embedded policy, built once per test binary.
var build = sync.OnceValues(func() (*rules.Policy, error) {
	return rules.Build(context.Background(), rules.Embedded(), rules.Options{})
})

func policy(t testing.TB) *rules.Policy {
	t.Helper()
	p, err := build()
	if err != nil {
		t.Fatalf("Build(embedded) = %v", err)
	}
	return p
}
