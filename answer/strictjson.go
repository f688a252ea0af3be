package answer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CheckJSON refuses JSON text that encoding/json would accept but read
// loosely: a key repeated in one object (json.Unmarshal keeps the last, so
// two parts of a system could read two different requests), invalid UTF-8,
// and a \u escape of a lone UTF-16 surrogate (both silently become U+FFFD).
// It also refuses text that is not exactly one JSON value. The error is a
// *Error with code invalid_json whose message names the place and
// its byte offset, e.g. `duplicate key "online" in facts at offset 37`.
//
// CheckJSON only checks; call it on the raw body before decoding it.
func CheckJSON(body []byte) error {
	if off := invalidUTF8(body); off >= 0 {
		return invalidJSON(fmt.Sprintf("invalid UTF-8 at offset %d", off))
	}
	if off := loneSurrogate(body); off >= 0 {
		return invalidJSON(fmt.Sprintf("%s is half of a UTF-16 surrogate pair, alone, at offset %d", body[off:off+6], off))
	}
	return checkKeys(body)
}

func invalidJSON(msg string) *Error {
	return &Error{Code: CodeInvalidJSON, Message: "the body is not valid JSON: " + msg}
}

// invalidUTF8 returns the offset of the first byte that is not part of valid
// UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// loneSurrogate returns the offset of the first \u escape of a surrogate
// (U+D800–U+DFFF) that is not a high surrogate followed at once by a low
// one, or -1. A backslash outside a string is a syntax error that the
// decoder reports, so the text can be scanned without tracking strings.
func loneSurrogate(b []byte) int {
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b); {
		if b[i+1] != 'u' {
			i += 2 // \" \\ \/ \b \f \n \r \t: none starts another escape
		} else {
			r, ok := hex4(b, i+2)
			switch {
			case !ok || r < 0xD800 || r > 0xDFFF:
				i += 2
			case r >= 0xDC00: // a low surrogate first
				return i
			default:
				if len(b) < i+12 || b[i+6] != '\\' || b[i+7] != 'u' {
					return i
				}
				if lo, ok := hex4(b, i+8); !ok || lo < 0xDC00 || lo > 0xDFFF {
					return i
				}
				i += 12
			}
		}
		if i >= len(b) {
			break
		}
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			break
		}
		i += j
	}
	return -1
}

// hex4 reads the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if len(b) < i+4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// level is one open object or array while scanning.
type level struct {
	object   bool
	wantKey  bool     // objects: the next string is a key
	keys     [][]byte // objects: keys so far, unescaped (small objects)
	seen     map[string]bool
	lastKey  []byte // objects: the key of the value being read
	index    int    // arrays: index of the element being read
	keysFrom int    // where this level's keys start in the shared list
}

// manyKeys is the number of keys past which an object's keys also go in a
// map, so that a body with thousands of keys stays linear.
const manyKeys = 16

// checkKeys refuses text that is not exactly one JSON value, and a key
// repeated in one object. The text is validated by encoding/json first, so
// the scan that follows can trust its structure and allocate nothing but
// the unescaped form of a key with escapes.
func checkKeys(body []byte) error {
	if !json.Valid(body) {
		var raw json.RawMessage
		err := json.Unmarshal(body, &raw)
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return invalidJSON(fmt.Sprintf("%s at offset %d", strings.TrimPrefix(syn.Error(), "json: "), syn.Offset))
		}
		return invalidJSON("unexpected end of JSON input")
	}
	var stackBuf [8]level
	var keysBuf [32][]byte
	stack := stackBuf[:0]
	keys := keysBuf[:0] // the open objects' keys, innermost last
	for i := 0; i < len(body); i++ {
		var top *level
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch body[i] {
		case '{', '[':
			stack = append(stack, level{object: body[i] == '{', wantKey: body[i] == '{', keysFrom: len(keys)})
		case '}', ']':
			keys = keys[:top.keysFrom]
			stack = stack[:len(stack)-1]
		case ',':
			if top.object {
				top.wantKey = true
			} else {
				top.index++
			}
		case ':':
			top.wantKey = false
		case '"':
			end, escaped := stringEnd(body, i)
			if top != nil && top.object && top.wantKey {
				key := body[i+1 : end]
				if escaped {
					var s string
					_ = json.Unmarshal(body[i:end+1], &s) // valid: checked above
					key = []byte(s)
				}
				if top.has(keys[top.keysFrom:], key) {
					return invalidJSON(fmt.Sprintf("duplicate key %q in %s at offset %d", key, path(stack), i))
				}
				keys = append(keys, key)
				top.lastKey = key
			}
			i = end
		}
	}
	return nil
}

// stringEnd returns the offset of the quote that closes the string opened
// at b[start], and whether the string holds an escape.
func stringEnd(b []byte, start int) (end int, escaped bool) {
	for i := start + 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i, escaped
		}
	}
	return len(b) - 1, escaped
}

// has reports whether key is among the object's keys so far (given as
// keys), and records it in the map once the object is large.
func (l *level) has(keys [][]byte, key []byte) bool {
	if l.seen != nil {
		if l.seen[string(key)] {
			return true
		}
		l.seen[string(key)] = true
		return false
	}
	for _, k := range keys {
		if bytes.Equal(k, key) {
			return true
		}
	}
	if len(keys)+1 > manyKeys {
		l.seen = make(map[string]bool, 2*manyKeys)
		for _, k := range keys {
			l.seen[string(k)] = true
		}
		l.seen[string(key)] = true
	}
	return false
}

// path names the innermost open object, e.g. facts or list[1], or "the body".
func path(stack []level) string {
	if len(stack) <= 1 {
		return "the body"
	}
	var b strings.Builder
	for _, l := range stack[:len(stack)-1] {
		if l.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(l.lastKey)
		} else {
			b.WriteString("[" + strconv.Itoa(l.index) + "]")
		}
	}
	return b.String()
}
