package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"acceso/answer"
)

// FuzzEvaluateAPI posts arbitrary bodies, languages and media types to
// POST /api/v1/evaluate. Whatever arrives, the answer is JSON, never a
// panic, and never a 5xx other than 503 evaluation_failed.
func FuzzEvaluateAPI(f *testing.F) {
	for _, seed := range []string{
		specExample,
		`{}`,
		`{"facts":null}`,
		`{"symptom":"code_needed_often","facts":{"incognito":false,"cookies_autodelete":false,"new_device":false}}`,
		`{"facts":{"identifier":"+34 600-111 222","registered_phones":["+34600111222","600 111 222"],"channels_tried":["sms","email","sms"]}}`,
		`{"facts":{"identifier":"@","registered_emails":[""],"registered_phones":["+"]}}`,
		`{"facts":{"codes_requested":1e309,"online":"yes"}}`,
		`{"facts":{"codes_requested":-0,"channels_tried":[null]}}`,
		`{"lang":"en-US","symptom":"","facts":{"vpn":true,"used_latest_code":false}}`,
		`{"facts":{"facts":{"facts":{}}}}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
		`{"a":1,"a":2}`,
		"\xff\xfe{}",
		`null`,
		`"facts"`,
		strings.Repeat(`{"facts":`, 1000),
	} {
		f.Add([]byte(seed), "en", "application/json")
	}
	f.Add([]byte(`{}`), "", "application/json; charset=UTF-8")
	f.Add([]byte(`{}`), "es-ES,es;q=0.9", "text/plain")
	f.Add([]byte(`{}`), "*", "application/json; charset")
	s, _, _, _ := newServer(f, Config{})
	h := s.Handler()

	f.Fuzz(func(t *testing.T, body []byte, lang, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/evaluate?"+url.Values{"lang": {lang}}.Encode(), bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept-Language", lang)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("POST %q (%q, %q) answered Content-Type %q; want JSON", body, lang, contentType, ct)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("POST %q answered %d with a body that is not JSON: %q", body, rec.Code, rec.Body)
		}
		if rec.Code >= 500 {
			var e answer.ErrorBody
			_ = json.Unmarshal(rec.Body.Bytes(), &e)
			if rec.Code != http.StatusServiceUnavailable || e.Error.Code != answer.CodeEvaluationFailed {
				t.Fatalf("POST %q (%q, %q) = %d %s; want no 5xx but 503 evaluation_failed", body, lang, contentType, rec.Code, rec.Body)
			}
		}
	})
}
