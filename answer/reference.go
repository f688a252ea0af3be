package answer

import (
	"crypto/rand"
	"strings"
)

// referenceAlphabet has no letters or digits that look alike when read out
// or written down: no 0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V.
const referenceAlphabet = "34679ACDEFGHJKMNPQRTWXY"

// NewReference returns a short code a person can read out over the phone,
// such as K7M4-QX9P: eight characters of referenceAlphabet (23^8, about 78
// billion codes) in two groups. Support staff look a decision up by it.
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
		// matter for a reference, whose uniqueness the store checks.
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

// ReferenceAlphabet is what a reference is made of, for messages that say
// what one looks like.
const ReferenceAlphabet = referenceAlphabet
