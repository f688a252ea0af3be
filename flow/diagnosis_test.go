package flow

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"acceso/answer"
)

func TestPathRoundTrip(t *testing.T) {
	cat := policy(t).Catalog
	tests := []struct {
		path string
		want Diagnosis
	}{
		{"/es/diagnose/", Diagnosis{}},
		{"/es/diagnose/code_not_received/", Diagnosis{Symptom: "code_not_received"}},
		{"/en/diagnose/code_not_received/channels_tried=email-sms/spam_checked=no/online=unknown/", Diagnosis{Symptom: "code_not_received", Answers: []Reply{
			{"channels_tried", []string{"email", "sms"}}, {"spam_checked", []string{"no"}}, {"online", []string{"unknown"}}}}},
		{"/en/diagnose/code_needed_often/new_device=yes/", Diagnosis{Symptom: "code_needed_often", Answers: []Reply{{"new_device", []string{"yes"}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			lang := tc.path[1:3]
			rest := strings.TrimPrefix(tc.path, "/"+lang+"/diagnose/")
			got, err := ParsePath(cat, strings.Split(rest, "/"))
			if err != nil {
				t.Fatalf("ParsePath(%s) = %v", rest, err)
			}
			if got.Symptom != tc.want.Symptom || !slices.EqualFunc(got.Answers, tc.want.Answers, func(a, b Reply) bool {
				return a.Fact == b.Fact && slices.Equal(a.Values, b.Values)
			}) {
				t.Errorf("ParsePath(%s) = %+v; want %+v", rest, got, tc.want)
			}
			if p := got.Path(lang); p != tc.path {
				t.Errorf("Path = %s; want %s", p, tc.path)
			}
			for _, seg := range strings.Split(tc.path, "/") {
				if e := url.PathEscape(seg); e != seg {
					t.Errorf("segment %s needs escaping (%s); want plain characters, fit for a folder name", seg, e)
				}
			}
		})
	}
}

func TestParsePathRefuses(t *testing.T) {
	cat := policy(t).Catalog
	tests := []struct{ path, field string }{
		{"nope/", "symptom"},
		{"code_not_received/online=maybe/", "online"},
		{"code_not_received/online=yes/online=no/", "online"},
		{"code_not_received/channels_tried=/", "channels_tried"},
		{"code_not_received/channels_tried=sms-email-sms/", "channels_tried"},
		{"code_not_received/channels_tried=fax/", "channels_tried"},
		{"code_not_received/opted_out=no/", "opted_out"},
		{"code_not_received/incognito=no/", "incognito"},
		{"code_not_received/online/", "online"},
		{"code_not_received/<x>=1/", "answer"},
	}
	for _, tc := range tests {
		_, err := ParsePath(cat, strings.Split(tc.path, "/"))
		if e := answer.As(err); err == nil || e.Field != tc.field || e.Code != answer.CodeBadRequest {
			t.Errorf("ParsePath(%s) = %v; want bad_request on %s", tc.path, err, tc.field)
		}
	}
}

func TestParseQuery(t *testing.T) {
	cat := policy(t).Catalog
	q, _ := url.ParseQuery("online=no&channels_tried=sms&channels_tried=email&symptom=code_not_received&opted_out=yes&utm_source=x&channels_tried=")
	d, err := ParseQuery(cat, q)
	if err != nil {
		t.Fatal(err)
	}
	// Declared asking order; choices in declared order; admin facts and
	// other parameters left out.
	if got, want := d.Path("en"), "/en/diagnose/code_not_received/channels_tried=email-sms/online=no/"; got != want {
		t.Errorf("ParseQuery path = %s; want %s", got, want)
	}
}

func TestOptions(t *testing.T) {
	cat := policy(t).Catalog
	f, _ := cat.Fact("channels_tried")
	var got []string
	for _, o := range Options(f) {
		got = append(got, o.Reply.Segment())
	}
	want := []string{"channels_tried=email", "channels_tried=sms", "channels_tried=email-sms", "channels_tried=unknown"}
	if !slices.Equal(got, want) {
		t.Errorf("Options(channels_tried) = %v; want %v", got, want)
	}
	f, _ = cat.Fact("vpn")
	got = got[:0]
	for _, o := range Options(f) {
		got = append(got, o.Reply.Segment())
	}
	if want := []string{"vpn=yes", "vpn=no", "vpn=unknown"}; !slices.Equal(got, want) {
		t.Errorf("Options(vpn) = %v; want %v", got, want)
	}
}
