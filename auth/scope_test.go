package auth

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in                    string
		ok                    bool
		level, typ, inter, qs string
	}{
		{"patient/Observation.read", true, "patient", "Observation", "rs", ""},
		{"user/*.write", true, "user", "*", "cud", ""},
		{"system/Patient.*", true, "system", "Patient", "cruds", ""},
		{"patient/Observation.rs", true, "patient", "Observation", "rs", ""},
		{"patient/*.cruds", true, "patient", "*", "cruds", ""},
		{"user/Encounter.cu", true, "user", "Encounter", "cu", ""},
		{"patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", true,
			"patient", "Observation", "rs", "category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fobservation-category%7Claboratory"},
		{"patient/Observation.dus", false, "", "", "", ""},
		{"patient/Observation.rr", false, "", "", "", ""},
		{"patient/Observation.sr", false, "", "", "", ""},
		{"patient/Observation.", false, "", "", "", ""},
		{"patient/Observation.x", false, "", "", "", ""},
		{"patient/observation.rs", false, "", "", "", ""},
		{"patient/Observation.read?category=x", false, "", "", "", ""},
		{"patient/Observation.rs?", false, "", "", "", ""},
		{"patient/Observation.rs?=x", false, "", "", "", ""},
		{"patient/Observation.rs?category=", false, "", "", "", ""},
		{"admin/Observation.rs", false, "", "", "", ""},
		{"patient/Observation", false, "", "", "", ""},
		{"openid", false, "", "", "", ""},
		{"launch/patient", false, "", "", "", ""},
		{"", false, "", "", "", ""},
	}
	for _, tt := range tests {
		sc, ok := ParseScope(tt.in)
		if ok != tt.ok {
			t.Errorf("ParseScope(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if sc.Raw != tt.in || sc.Level != tt.level || sc.ResourceType != tt.typ || sc.Interactions != tt.inter || sc.Query.Encode() != tt.qs {
			t.Errorf("ParseScope(%q) = %+v", tt.in, sc)
		}
	}
}

func TestGrantScopes(t *testing.T) {
	got := grantScopes("openid fhirUser launch/patient patient/Observation.dus patient/Observation.rs bogus patient/Observation.rs offline_access user/*.read", "")
	want := []string{"openid", "fhirUser", "launch/patient", "patient/Observation.rs", "offline_access", "user/*.read"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	got = grantScopes("openid patient/Observation.rs patient/Patient.cruds system/*.rs", "openid patient/*.read")
	want = []string{"openid", "patient/Observation.rs"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("limited: got %v want %v", got, want)
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"patient/Observation.rs", "user/*.read", "system/Patient.cruds?x=1&y=2",
		"patient/Observation.dus", "patient/X.rs?category=a|b", "launch/patient", "a/b.c?d", "patient/*.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, ok := ParseScope(s)
		if !ok {
			return
		}
		if sc.Raw != s {
			t.Fatalf("Raw %q != %q", sc.Raw, s)
		}
		if sc.Level != "patient" && sc.Level != "user" && sc.Level != "system" {
			t.Fatalf("bad level %q", sc.Level)
		}
		if !validCRUDS(sc.Interactions) {
			t.Fatalf("bad interactions %q", sc.Interactions)
		}
		if !validType(sc.ResourceType) {
			t.Fatalf("bad type %q", sc.ResourceType)
		}
		if !strings.HasPrefix(s, sc.Level+"/"+sc.ResourceType+".") {
			t.Fatalf("prefix mismatch %q", s)
		}
		for k, vs := range sc.Query {
			if k == "" || len(vs) == 0 {
				t.Fatalf("bad query %v", sc.Query)
			}
		}
		if !sc.covers(sc) {
			t.Fatalf("scope does not cover itself: %q", s)
		}
		_ = describeScope(s)
	})
}
