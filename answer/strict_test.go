package answer

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestDecodeRefusesWhatIsNotStrictJSON: a duplicate key anywhere, invalid
// UTF-8, a lone surrogate, a second value or a syntax error is
// invalid_json naming the place, not a request read one way or another.
func TestDecodeRefusesWhatIsNotStrictJSON(t *testing.T) {
	c := policy(t).Catalog
	tests := []struct {
		name, body, want string
	}{
		{"duplicate fact", `{"symptom":"code_not_received","facts":{"online":true,"online":false}}`, `duplicate object member name "online" within "/facts"`},
		{"duplicate top-level key", `{"lang":"es", "lang":"en"}`, `duplicate object member name "lang"`},
		{"duplicate after a nested object", `{"facts":{"vpn":true},"facts":{}}`, `duplicate object member name "facts"`},
		{"duplicate in an unknown field's object", `{"list":[{"a":1},{"a":1,"a":2}]}`, `duplicate object member name "a" within "/list/1"`},
		{"duplicate with escapes", `{"facts":{"vpn":true,"v\u0070n":false}}`, `duplicate object member name "vpn"`},
		{"duplicate among many keys", manyKeysBody(40, true), `duplicate object member name "k0"`},
		{"invalid UTF-8", "{\"facts\":{\"identifier\":\"ana\xff\"}}", `invalid UTF-8 within "/facts/identifier"`},
		{"truncated UTF-8", "{\"facts\":{\"identifier\":\"\xc3\"}}", `invalid UTF-8 within "/facts/identifier"`},
		{"lone high surrogate", `{"facts":{"identifier":"\ud800"}}`, `invalid surrogate pair`},
		{"lone low surrogate", `{"facts":{"identifier":"x\uDC00y"}}`, `invalid surrogate pair`},
		{"high surrogate then a letter", `{"facts":{"identifier":"\ud83dA"}}`, `invalid surrogate pair`},
		{"surrogate in a key", `{"\udfff":1}`, `invalid surrogate pair`},
		{"empty", ``, "it ends too soon"},
		{"truncated", `{"facts":{"online":true}`, "it ends too soon"},
		{"two values", `{} {}`, "a second value at offset 4"},
		{"syntax error", `{"a" 1}`, "after offset 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(c, []byte(tc.body))
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Decode(%s) = %v; want an *Error", tc.body, err)
			}
			if re.Code != CodeInvalidJSON || !strings.HasPrefix(re.Message, "the body is not valid JSON: ") || !strings.Contains(re.Message, tc.want) {
				t.Errorf("Decode(%s) = %s %q; want invalid_json saying …%s…", tc.body, re.Code, re.Message, tc.want)
			}
		})
	}
}

func TestDecodeAcceptsStrictJSON(t *testing.T) {
	c := policy(t).Catalog
	tests := []struct{ name, body string }{
		{"every fact", benchBody},
		{"surrogate pair", `{"facts":{"identifier":"\ud83d\ude00 \uD83D\uDE00"}}`},
		{"escaped quotes and backslashes", `{"facts":{"identifier":"a\"b\\c"}}`},
		{"non-surrogate escapes", `{"facts":{"identifier":"\u00e9\u4e2d\uffff\ud7ff\ue000"}}`},
		{"raw UTF-8", `{"facts":{"identifier":"José 😀"}}`},
		{"space around", " \n{\"facts\":{}}\t "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(c, []byte(tc.body)); err != nil {
				t.Errorf("Decode(%s) = %v; want nil", tc.body, err)
			}
		})
	}
}

// manyKeysBody is an object with n keys k0…k(n-1), and k0 once more if dup.
func manyKeysBody(n int, dup bool) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":1`)
	}
	if dup {
		b.WriteString(`,"k0":2`)
	}
	b.WriteString("}")
	return b.String()
}

// benchBody is a realistic request of about 400 bytes, every fact given.
const benchBody = `{"symptom":"code_not_received","lang":"en","facts":{"identifier":"ana@example.com","registered_emails":["Ana@Example.com"],"registered_phones":["+34 600 111 222"],"identifier_registered":true,"opted_out":false,"channels_tried":["email"],"spam_checked":false,"online":true,"incognito":true,"cookies_autodelete":false,"new_device":true,"message_published":true,"vpn":false,"codes_requested":3,"used_latest_code":false}}`
