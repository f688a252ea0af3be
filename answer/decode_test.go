package answer

import (
	"errors"
	"slices"
	"testing"
)

func TestDecodeRequestRefuses(t *testing.T) {
	c := policy(t).Catalog
	tests := []struct {
		name, body, code string
		fields           []string
	}{
		{"not JSON", `{"facts":`, CodeInvalidJSON, nil},
		{"empty body", ``, CodeInvalidJSON, nil},
		{"two values", `{} {}`, CodeInvalidJSON, nil},
		{"array body", `[]`, CodeInvalidFacts, []string{"body"}},
		{"null body", `null`, CodeInvalidFacts, []string{"body"}},
		{"wrong type", `{"facts":{"online":"yes"}}`, CodeInvalidFacts, []string{"facts.online"}},
		{"unknown fact", `{"facts":{"onlin":true}}`, CodeInvalidFacts, []string{"facts.onlin"}},
		{"unknown top-level field", `{"symptoms":"code_not_received"}`, CodeInvalidFacts, []string{"symptoms"}},
		{"unknown symptom", `{"symptom":"cannot_login"}`, CodeInvalidFacts, []string{"symptom"}},
		{"unknown channel", `{"facts":{"channels_tried":["email","fax"]}}`, CodeInvalidFacts, []string{"facts.channels_tried"}},
		{"negative count", `{"facts":{"codes_requested":-1}}`, CodeInvalidFacts, []string{"facts.codes_requested"}},
		{"fractional count", `{"facts":{"codes_requested":1.5}}`, CodeInvalidFacts, []string{"facts.codes_requested"}},
		{"huge count", `{"facts":{"codes_requested":1e9}}`, CodeInvalidFacts, []string{"facts.codes_requested"}},
		{"facts not an object", `{"facts":[]}`, CodeInvalidFacts, []string{"facts"}},
		{"empty identifier", `{"facts":{"identifier":"  "}}`, CodeInvalidFacts, []string{"facts.identifier"}},
		{"list of numbers", `{"facts":{"registered_emails":[1]}}`, CodeInvalidFacts, []string{"facts.registered_emails"}},
		{"lang not a string", `{"lang":1}`, CodeInvalidFacts, []string{"lang"}},
		{"every problem at once", `{"x":1,"facts":{"vpn":1,"online":"no"}}`, CodeInvalidFacts, []string{"facts.online", "facts.vpn", "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(c, []byte(tc.body))
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Decode(%s) = %v; want an *Error", tc.body, err)
			}
			if re.Code != tc.code {
				t.Errorf("Decode(%s) code = %s; want %s", tc.body, re.Code, tc.code)
			}
			var fields []string
			for _, d := range re.Details {
				fields = append(fields, d.Field)
				if d.Problem == "" {
					t.Errorf("field %s has no problem text", d.Field)
				}
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("Decode(%s) fields = %v; want %v", tc.body, fields, tc.fields)
			}
		})
	}
}

func TestDecodeRequestAccepts(t *testing.T) {
	c := policy(t).Catalog
	req, err := Decode(c, []byte(`{"symptom":"code_not_received","lang":"en","facts":{"identifier":"a@b.c","channels_tried":[],"codes_requested":2,"vpn":null,"online":false}}`))
	if err != nil {
		t.Fatalf("DecodeRequest = %v", err)
	}
	if req.Symptom != "code_not_received" || req.Lang != "en" {
		t.Errorf("symptom, lang = %q, %q; want code_not_received, en", req.Symptom, req.Lang)
	}
	want := map[string]any{"identifier": "a@b.c", "channels_tried": []string{}, "codes_requested": 2, "online": false}
	if len(req.Facts) != len(want) {
		t.Errorf("Facts = %v; want %v", req.Facts, want)
	}
	if _, ok := req.Facts["vpn"]; ok {
		t.Errorf("a null fact is unknown, yet Facts has vpn = %v", req.Facts["vpn"])
	}
	if req.Facts["codes_requested"] != 2 || req.Facts["online"] != false {
		t.Errorf("Facts = %v; want %v", req.Facts, want)
	}
}
