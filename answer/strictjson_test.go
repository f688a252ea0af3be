package answer

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestCheckJSONRefuses(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"duplicate fact", `{"symptom":"code_not_received","facts":{"online":true,"online":false}}`,
			`duplicate key "online" in facts at offset 54`},
		{"duplicate top-level key", `{"lang":"es", "lang":"en"}`, `duplicate key "lang" in the body at offset 14`},
		{"duplicate after a nested object", `{"facts":{"a":{"b":1}},"facts":{}}`, `duplicate key "facts" in the body at offset 23`},
		{"duplicate in an object in a list", `{"list":[{"a":1},{"a":1,"a":2}]}`, `duplicate key "a" in list[1] at offset 24`},
		{"duplicate with escapes", `{"a\"b":1,"a\u0022b":2}`, `duplicate key "a\"b" in the body at offset 10`},
		{"duplicate among many keys", manyKeysBody(40, true), `duplicate key "k0" in the body at offset 311`},
		{"invalid UTF-8", "{\"identifier\":\"ana\xff\"}", "invalid UTF-8 at offset 18"},
		{"truncated UTF-8", "{\"identifier\":\"\xc3\"}", "invalid UTF-8 at offset 15"},
		{"lone high surrogate", `{"identifier":"\ud800"}`, `\ud800 is half of a UTF-16 surrogate pair, alone, at offset 15`},
		{"lone low surrogate", `{"identifier":"x\uDC00y"}`, `\uDC00 is half of a UTF-16 surrogate pair, alone, at offset 16`},
		{"high surrogate then a letter", `{"identifier":"\ud83dA"}`, `\ud83d is half of a UTF-16 surrogate pair, alone, at offset 15`},
		{"two high surrogates", `{"identifier":"\ud83d\ud83d"}`, `\ud83d is half of a UTF-16 surrogate pair, alone, at offset 15`},
		{"high surrogate at the end", `"\ud83d`, `\ud83d is half of a UTF-16 surrogate pair, alone, at offset 1`},
		{"surrogate in a key", `{"\udfff":1}`, `\udfff is half of a UTF-16 surrogate pair, alone, at offset 2`},
		{"surrogate after an escaped backslash", `{"a":"\\\udc00"}`, `\udc00 is half of a UTF-16 surrogate pair, alone, at offset 8`},
		{"empty", ``, "unexpected end of JSON input"},
		{"truncated", `{"facts":{"online":true}`, "unexpected end of JSON input"},
		{"two values", `{} {}`, "after top-level value at offset 4"},
		{"syntax error", `{"a" 1}`, "at offset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckJSON([]byte(tc.body))
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("CheckJSON(%s) = %v; want a *Error", tc.body, err)
			}
			if re.Code != CodeInvalidJSON {
				t.Errorf("CheckJSON(%s).Code = %q; want %q", tc.body, re.Code, CodeInvalidJSON)
			}
			if !strings.HasPrefix(re.Message, "the body is not valid JSON: ") || !strings.Contains(re.Message, tc.want) {
				t.Errorf("CheckJSON(%s) = %q; want the body is not valid JSON: …%s…", tc.body, re.Message, tc.want)
			}
		})
	}
}

func TestCheckJSONAccepts(t *testing.T) {
	tests := []struct{ name, body string }{
		{"request", benchBody},
		{"same key in different objects", `{"a":{"x":1,"y":{"x":2}},"b":{"x":3},"c":[{"x":1},{"x":1}]}`},
		{"surrogate pair", `{"identifier":"\ud83d\ude00 \uD83D\uDE00"}`},
		{"escaped quotes and backslashes", `{"a\"":"\\","a\\":"\"\\\"","\\ud800":"\\\\ud800"}`},
		{"non-surrogate escapes", `{"a":"\u00e9\u4e2d\uffff\ud7ff\ue000"}`},
		{"raw UTF-8", `{"nombre":"José 😀"}`},
		{"many distinct keys", manyKeysBody(40, false)},
		{"scalar", ` 1e400 `},
		{"empty object and list", `{"a":{},"b":[],"c":[[],[{}]]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckJSON([]byte(tc.body)); err != nil {
				t.Errorf("CheckJSON(%s) = %v; want nil", tc.body, err)
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

func BenchmarkCheckJSON(b *testing.B) {
	body := []byte(benchBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}
