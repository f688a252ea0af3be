package knowledge

import (
	"crypto/rand"
	"strings"
)

// referenceAlphabet has no letters or digits that look alike when read out
// or written down: no 0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V.
const referenceAlphabet = "34679ACDEFGHJKMNPQRTWXY"

// NewReference returns a short code a person can read out over the phone,
// such as K7M4-QX9P: eight characters of referenceAlphabet (23^8, about 78
// billion codes) in two groups, drawn at random. Support staff look a
// decision up by it. A server with a store draws the references of the
// decisions it keeps from store.References instead, which no other
// decision has (answer.Service.Keep).
func NewReference() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return ReferenceOf(b)
}

// ReferenceOf is the reference made of the first eight bytes of b: random
// bytes for a decision, a hash for a state of the static export.
func ReferenceOf(b []byte) string {
	var r strings.Builder
	for i, c := range b[:8] {
		if i == 4 {
			r.WriteByte('-')
		}
		// 256 is not a multiple of 23; the bias (at most 1 in 11) does not
		// matter here. The references of kept decisions are drawn by
		// store.References instead, unique by construction.
		r.WriteByte(referenceAlphabet[int(c)%len(referenceAlphabet)])
	}
	return r.String()
}

// NormalizeReference turns what a person typed into a reference as stored:
// upper case, without spaces, with its dash; ok is false when it cannot be
// one.
func NormalizeReference(s string) (string, bool) {
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s))
	if len(s) != 8 || strings.Trim(s, referenceAlphabet) != "" {
		return "", false
	}
	return s[:4] + "-" + s[4:], true
}

// ReferenceSpace is how many references there are: 23^8.
const ReferenceSpace = 23 * 23 * 23 * 23 * 23 * 23 * 23 * 23

// ReferenceNumber is the reference of number n (n < ReferenceSpace): its
// eight characters are n written in base 23 with referenceAlphabet, so
// that every number has its own reference and every reference its number
// (ParseReferenceNumber).
func ReferenceNumber(n uint64) string {
	var b [9]byte
	for i := 8; i >= 0; i-- {
		if i == 4 {
			b[i] = '-'
			continue
		}
		b[i] = referenceAlphabet[n%uint64(len(referenceAlphabet))]
		n /= uint64(len(referenceAlphabet))
	}
	return string(b[:])
}

// ParseReferenceNumber is the number of a reference as stored (XXXX-XXXX);
// ok is false when ref is not one.
func ParseReferenceNumber(ref string) (n uint64, ok bool) {
	if len(ref) != 9 || ref[4] != '-' {
		return 0, false
	}
	for i := range 9 {
		if i == 4 {
			continue
		}
		d := strings.IndexByte(referenceAlphabet, ref[i])
		if d < 0 {
			return 0, false
		}
		n = n*uint64(len(referenceAlphabet)) + uint64(d)
	}
	return n, true
}

// ReferenceShuffle is a keyed permutation of the numbers below
// ReferenceSpace: numbers drawn in order (0, 1, 2, …) become references
// that look random and are far apart, so that references handed out in
// order are unique by construction, yet a typo in one rarely names
// another. It is a Feistel network on 38 bits, walked until it lands below
// ReferenceSpace (about 3.5 steps on average).
type ReferenceShuffle struct {
	keys [feistelRounds]uint64
}

const (
	feistelRounds = 6
	feistelHalf   = 19
	feistelMask   = 1<<feistelHalf - 1
)

// NewReferenceShuffle returns the permutation of key (any length; a
// secret of the database, or a test's seed).
func NewReferenceShuffle(key []byte) ReferenceShuffle {
	var s ReferenceShuffle
	h := uint64(0x9e3779b97f4a7c15)
	for _, c := range key {
		h = mix64(h ^ uint64(c))
	}
	for i := range s.keys {
		h = mix64(h + uint64(i) + 1)
		s.keys[i] = h
	}
	return s
}

// Reference is the reference of the n-th number (n < ReferenceSpace).
func (s ReferenceShuffle) Reference(n uint64) string {
	x := n % ReferenceSpace
	for {
		x = s.encrypt(x)
		if x < ReferenceSpace {
			return ReferenceNumber(x)
		}
	}
}

func (s ReferenceShuffle) encrypt(x uint64) uint64 {
	l, r := x>>feistelHalf, x&feistelMask
	for _, k := range s.keys {
		l, r = r, l^(mix64(r^k)&feistelMask)
	}
	return l<<feistelHalf | r
}

// mix64 is SplitMix64's finalizer: every bit of x affects every bit of
// the result.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// ReferenceAlphabet is what a reference is made of, for messages that say
// what one looks like.
const ReferenceAlphabet = referenceAlphabet
