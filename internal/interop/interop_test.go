package interop

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestAPIAndOPAReadAlike(t *testing.T) {
	api := `{"decision_id":"d1","reference":"ABCD-EFGH","policy_revision":"r1","lang":"en","symptoms":["code_not_received"],"outcome":"findings",
		"findings":[{"id":"spam","symptom":"code_not_received","title":"T","advice":"A","because":["b","a"],"article_url":"/x"}],
		"ruled_out":["z","y"],"questions":[{"fact":"vpn","text":"Q","type":"boolean","asked_of":"contact"},{"fact":"online","text":"Q","type":"boolean","asked_of":"contact"}]}`
	opa := `{"result":{"outcome":"findings","symptoms":["code_not_received"],"findings":["spam"],"ruled_out":["y","z"],"questions":["online","vpn"]}}`
	a, err := FromAPI([]byte(api))
	if err != nil {
		t.Fatal(err)
	}
	o, err := FromOPAServer([]byte(opa))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, o) || fmt.Sprint(a) != fmt.Sprint(o) {
		t.Errorf("the same decision reads as\n%+v from the API and\n%+v from OPA", a, o)
	}

	other, err := FromOPA([]byte(`{"outcome":"findings","symptoms":["code_not_received"],"findings":["spam","vpn_in_use"],"ruled_out":["y","z"],"questions":["online","vpn"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, other) {
		t.Errorf("a finding more reads as the same decision: %+v", other)
	}
}

func TestNoDecision(t *testing.T) {
	if _, err := FromOPAServer([]byte(`{}`)); err == nil || !strings.Contains(err.Error(), "no result") {
		t.Errorf("an answer without a result gives %v; want an error saying so", err)
	}
	a, err := FromAPI([]byte(`{"outcome":"questions"}`))
	if err != nil {
		t.Fatal(err)
	}
	o, err := FromOPA([]byte(`{"outcome":"questions","findings":[],"questions":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, o) {
		t.Errorf("empty and missing lists read differently: %+v and %+v", a, o)
	}
}
