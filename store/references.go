package store

import (
	"acceso/knowledge"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// How references are drawn so that two decisions never share one, across
// replicas and across a storage outage, without asking the database on the
// request path: each server claims a block of ReferenceBlock numbers from
// the database (one shared counter, reference_blocks, migration 7) and
// hands them out in order, each through a keyed permutation
// (knowledge.ReferenceShuffle, its key the database's secret "references"),
// so that they look random. Two servers never hold the same block; a
// server claims its next block when half of the current one is used, so
// an outage of the database does not stop it. Blocks wrap around after
// ReferenceSpace/ReferenceBlock (74,682) claims, far more than a retention
// period sees. References drawn at random before migration 7 (legacy) are
// skipped: they are loaded once at start, as numbers.
const ReferenceBlock = 1 << 20

// referenceBlocks is how many blocks the reference space holds.
const referenceBlocks = knowledge.ReferenceSpace / ReferenceBlock

// ErrNoReference is a server that has used up its block of references and
// cannot reach the database for another (after ReferenceBlock/2 decisions
// without storage).
var ErrNoReference = fmt.Errorf("%w: no reference left to hand out until the database answers", ErrUnavailable)

// References hands out the references of decisions (see ReferenceBlock).
type References struct {
	db      *DB
	shuffle knowledge.ReferenceShuffle
	legacy  []uint64 // sorted numbers of references drawn before migration 7

	mu       sync.Mutex
	block    int64 // the block in use, -1 when none
	used     int64 // numbers of it handed out
	next     int64 // the block claimed ahead, -1 when none
	claiming bool
}

// NewReferences claims a first block; key keys the permutation (the
// database's secret "references" when nil).
func NewReferences(ctx context.Context, db *DB, key []byte) (*References, error) {
	if key == nil {
		var err error
		if key, err = db.Secret(ctx, "references"); err != nil {
			return nil, err
		}
	}
	r := &References{db: db, shuffle: knowledge.NewReferenceShuffle(key), block: -1, next: -1}
	var err error
	if r.legacy, err = db.legacyReferences(ctx); err != nil {
		return nil, fmt.Errorf("reading the references kept before migration 7: %w", err)
	}
	if r.block, err = db.claimReferenceBlock(ctx); err != nil {
		return nil, fmt.Errorf("claiming a block of references: %w", err)
	}
	return r, nil
}

// Next returns a reference no other decision has or will have.
func (r *References) Next() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.used == ReferenceBlock {
			if r.next < 0 {
				r.claimAhead()
				return "", ErrNoReference
			}
			r.block, r.next, r.used = r.next, -1, 0
		}
		if r.used >= ReferenceBlock/2 && r.next < 0 {
			r.claimAhead()
		}
		n := uint64(r.block%referenceBlocks)*ReferenceBlock + uint64(r.used)
		r.used++
		ref := r.shuffle.Reference(n)
		if _, taken := slices.BinarySearch(r.legacy, mustNumber(ref)); !taken {
			return ref, nil
		}
	}
}

// claimAhead claims the next block in the background, unless a claim is
// on its way. r.mu must be held.
func (r *References) claimAhead() {
	if r.claiming {
		return
	}
	r.claiming = true
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b, err := r.db.claimReferenceBlock(ctx)
		cancel()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.claiming = false
		if err == nil {
			r.next = b
		}
	}()
}

func mustNumber(ref string) uint64 {
	n, _ := knowledge.ParseReferenceNumber(ref)
	return n
}

// claimReferenceBlock takes the next block of the shared counter.
func (d *DB) claimReferenceBlock(ctx context.Context) (int64, error) {
	var next int64
	err := d.queryRow(ctx, nil, `UPDATE reference_blocks SET next = next + 1 WHERE id = 1 RETURNING next`).Scan(&next)
	return next - 1, err
}

// legacyReferences are the numbers of the references kept from before
// migration 7, sorted.
func (d *DB) legacyReferences(ctx context.Context) ([]uint64, error) {
	rows, err := d.query(ctx, nil, `SELECT reference FROM decisions
		WHERE created_at < (SELECT applied_at FROM schema_migrations WHERE version = 7)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			return nil, err
		}
		if n, ok := knowledge.ParseReferenceNumber(ref); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, rows.Err()
}

// errCollision is a decision whose reference another kept decision has:
// it is not stored (counted as dropped).
var errCollision = errors.New("reference already kept for another decision")
