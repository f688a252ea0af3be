package store

import (
	"acceso/knowledge"
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestReferencesNeverCollide draws references from a seeded permutation:
// a reference kept from before migration 7 that the first draw would give
// is skipped; two servers (two References on one database) never hand out
// the same one; and a decision written with a reference kept already is
// caught at insert, counted as a collision and as dropped, and the kept
// decision is left as it was.
func TestReferencesNeverCollide(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	key := []byte("seed 21")
	shuffle := knowledge.NewReferenceShuffle(key)
	// The first block claimed is block 0: its first number is the first
	// reference a server would hand out. Kept before migration 7, it must
	// be skipped.
	legacy := shuffle.Reference(0)
	old := Kept{Reference: legacy, At: time.Unix(1_000_000_000, 0), Source: "api", Revision: "old",
		Facts: map[string]any{}, Findings: []string{}, Outcome: "causes_found"}
	if collided, err := db.AddDecisions(ctx, []Kept{old}); err != nil || len(collided) != 0 {
		t.Fatalf("AddDecisions(legacy) = %v, %v", collided, err)
	}
	a, err := NewReferences(ctx, db, key)
	if err != nil {
		t.Fatalf("NewReferences = %v", err)
	}
	b, err := NewReferences(ctx, db, key)
	if err != nil {
		t.Fatalf("NewReferences(second server) = %v", err)
	}
	seen := map[string]string{legacy: "legacy"}
	const n = 20_000
	for i := range n {
		for name, r := range map[string]*References{"a": a, "b": b} {
			ref, err := r.Next()
			if err != nil {
				t.Fatalf("%s.Next() #%d = %v", name, i, err)
			}
			if _, ok := knowledge.NormalizeReference(ref); !ok {
				t.Fatalf("%s.Next() = %q; not a reference", name, ref)
			}
			if first, dup := seen[ref]; dup {
				t.Fatalf("%s.Next() #%d = %s; want a new one, %s had it", name, i, ref, first)
			}
			seen[ref] = name
		}
	}

	// A collision forced at insert: the writer is given the legacy
	// reference again.
	w := NewDecisionWriter(db, WriterConfig{Batch: 8, Every: 10 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	later := old
	later.At, later.Revision, later.Outcome = time.Now(), "new", "no_known_cause"
	w.Add(later)
	fresh := later
	fresh.Reference, _ = a.Next()
	w.Add(fresh)
	w.Flush()
	w.Close(ctx)
	if w.Collisions() != 1 || w.Dropped() != 1 || w.Stored() != 1 {
		t.Errorf("after a forced collision: collisions %d, dropped %d, stored %d; want 1, 1, 1", w.Collisions(), w.Dropped(), w.Stored())
	}
	if got, err := db.Decision(ctx, legacy); err != nil || got.Revision != "old" {
		t.Errorf("Decision(%s) = %+v, %v; want the one kept first", legacy, got, err)
	}
	if got, err := db.Decision(ctx, fresh.Reference); err != nil || got.Revision != "new" {
		t.Errorf("Decision(%s) = %+v, %v; want the fresh one", fresh.Reference, got, err)
	}
}

// TestReferenceShuffleIsAPermutation checks, on a seeded key, that the
// numbers of a range give as many different references, each of which
// reads back as a number below ReferenceSpace.
func TestReferenceShuffleIsAPermutation(t *testing.T) {
	s := knowledge.NewReferenceShuffle([]byte{1, 2, 3})
	seen := make(map[string]bool)
	for _, start := range []uint64{0, ReferenceBlock * 7, knowledge.ReferenceSpace - 50_000} {
		for n := start; n < start+50_000; n++ {
			ref := s.Reference(n)
			if seen[ref] {
				t.Fatalf("Reference(%d) = %s; given before", n, ref)
			}
			seen[ref] = true
			if m, ok := knowledge.ParseReferenceNumber(ref); !ok || m >= knowledge.ReferenceSpace || knowledge.ReferenceNumber(m) != ref {
				t.Fatalf("ParseReferenceNumber(%s) = %d, %v; want its number back", ref, m, ok)
			}
		}
	}
}

// BenchmarkReferencesNext is the cost a decision pays on the request path
// for its reference, beside knowledge.NewReference (random bytes), the
// reference it replaces.
func BenchmarkReferencesNext(b *testing.B) {
	db, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r, err := NewReferences(context.Background(), db, []byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("References.Next", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Next(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("knowledge.NewReference", func(b *testing.B) {
		for b.Loop() {
			knowledge.NewReference()
		}
	})
}
