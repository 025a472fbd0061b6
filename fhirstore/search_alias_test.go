package fhirstore

import (
	"context"
	"slices"
	"testing"
)

// Observation.patient is Observation.subject.where(resolve() is Patient): it stores no
// reference rows of its own and is searched through subject's. These cases are the ones
// where the two differ, so each fails if an alias reads its base's rows unnarrowed (or
// reads rows of its own that are no longer written).
func TestReferenceAliases(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	loadFixture(t, s, []struct{ typ, id, body string }{
		{"Patient", "p1", `{"resourceType":"Patient","id":"p1","name":[{"family":"Adams"}]}`},
		{"Patient", "p2", `{"resourceType":"Patient","id":"p2","name":[{"family":"Baker"}]}`},
		{"Group", "g1", `{"resourceType":"Group","id":"g1","type":"person","actual":true,"name":"Adams cohort"}`},
		{"Observation", "o-p1", `{"resourceType":"Observation","id":"o-p1","status":"final","code":{"coding":[{"code":"a"}]},
			"subject":{"reference":"Patient/p1"}}`},
		{"Observation", "o-p2", `{"resourceType":"Observation","id":"o-p2","status":"final","code":{"coding":[{"code":"b"}]},
			"subject":{"reference":"Patient/p2","identifier":{"system":"http://mrn","value":"Y"}}}`},
		{"Observation", "o-g1", `{"resourceType":"Observation","id":"o-g1","status":"final","code":{"coding":[{"code":"a"}]},
			"subject":{"reference":"Group/g1"}}`},
		{"Observation", "o-ident", `{"resourceType":"Observation","id":"o-ident","status":"final","code":{"coding":[{"code":"a"}]},
			"subject":{"identifier":{"system":"http://mrn","value":"X"}}}`},
		{"Observation", "o-none", `{"resourceType":"Observation","id":"o-none","status":"final","code":{"coding":[{"code":"c"}]}}`},
		{"Encounter", "e-p1", `{"resourceType":"Encounter","id":"e-p1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"}}`},
		{"Immunization", "i-p1", `{"resourceType":"Immunization","id":"i-p1","status":"completed","vaccineCode":{"text":"flu"},
			"patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2020-01-01"}`},
	})

	pt, _ := loadParams()
	patient, subject := pt.byType["Observation"]["patient"], pt.byType["Observation"]["subject"]
	if patient.aliasOf != subject || patient.aliasType != "Patient" {
		t.Fatalf("Observation.patient: aliasOf %v, aliasType %q; want subject, Patient", patient.aliasOf, patient.aliasType)
	}
	var own, base int
	if err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM idx_reference WHERE pid = ?),
		(SELECT count(*) FROM idx_reference WHERE pid = ?)`, patient.PID, subject.PID).Scan(&own, &base); err != nil {
		t.Fatal(err)
	}
	if own != 0 || base != 3 {
		t.Errorf("reference rows: patient %d, subject %d; want 0 and 3", own, base)
	}

	runSearchCases(t, s, []searchCase{
		{"patient", "Observation", q("patient=p1"), "o-p1"},
		{"patient-group", "Observation", q("patient=Group/g1"), ""},
		{"patient-bare-group-id", "Observation", q("patient=g1"), ""},
		{"subject-group", "Observation", q("subject=Group/g1"), "o-g1"},
		{"patient-type-modifier", "Observation", q("patient:Patient=p2"), "o-p2"},
		{"patient-wrong-type-modifier", "Observation", q("patient:Group=g1"), ""},
		{"patient-missing", "Observation", q("patient:missing=true"), "o-g1,o-ident,o-none"},
		{"patient-present", "Observation", q("patient:missing=false"), "o-p1,o-p2"},
		{"subject-missing", "Observation", q("subject:missing=true"), "o-none"},
		// An identifier counts for patient only beside a reference that names a Patient.
		{"patient-identifier", "Observation", q("patient:identifier=http://mrn|Y"), "o-p2"},
		{"patient-identifier-unresolved", "Observation", q("patient:identifier=X"), ""},
		{"subject-identifier", "Observation", q("subject:identifier=X"), "o-ident"},
		{"chain", "Observation", q("patient.name=adams"), "o-p1"},
		{"chain-group-through-patient", "Observation", q("patient:Group.type=person"), ""},
		{"chain-group-through-subject", "Observation", q("subject:Group.type=person"), "o-g1"},
		{"has-patient", "Group", q("_has:Observation:patient:code=a"), ""},
		{"has-subject", "Group", q("_has:Observation:subject:code=a"), "g1"},
		{"has-patient-on-patient", "Patient", q("_has:Observation:patient:code=a"), "p1"},
		{"encounter-patient", "Encounter", q("patient=p1"), "e-p1"},
	})

	incl := func(typ string, params ...string) []string {
		t.Helper()
		res, err := s.Search(ctx, SearchRequest{Type: typ, Params: q(params...)})
		if err != nil {
			t.Fatalf("%s?%v: %v", typ, params, err)
		}
		_, inc := split(res)
		return inc
	}
	for _, c := range []struct {
		typ    string
		params []string
		want   []string
	}{
		{"Observation", []string{"_id=o-g1,o-p1", "_include=Observation:patient"}, []string{"Patient/p1"}},
		{"Observation", []string{"_id=o-g1,o-p1", "_include=Observation:subject"}, []string{"Group/g1", "Patient/p1"}},
		{"Observation", []string{"_id=o-p1", "_include=Observation:patient:Group"}, nil},
		{"Group", []string{"_id=g1", "_revinclude=Observation:patient"}, nil},
		{"Group", []string{"_id=g1", "_revinclude=Observation:subject"}, []string{"Observation/o-g1"}},
		{"Group", []string{"_id=g1", "_revinclude=*"}, []string{"Observation/o-g1"}},
		{"Patient", []string{"_id=p1", "_revinclude=Observation:patient", "_revinclude=Encounter:patient"}, []string{"Encounter/e-p1", "Observation/o-p1"}},
		{"Patient", []string{"_id=p1", "_revinclude=*"}, []string{"Encounter/e-p1", "Immunization/i-p1", "Observation/o-p1"}},
	} {
		if got := incl(c.typ, c.params...); !slices.Equal(got, c.want) {
			t.Errorf("%s?%v includes %v, want %v", c.typ, c.params, got, c.want)
		}
	}

	// System search over an alias (Observation.patient) and a parameter of its own
	// (Immunization.patient) at once.
	res, err := s.Search(ctx, SearchRequest{Params: q("_type=Observation,Immunization", "patient=p1")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Entries {
		got = append(got, e.Type+"/"+e.ID)
	}
	if want := []string{"Immunization/i-p1", "Observation/o-p1"}; !slices.Equal(sorted(got), want) {
		t.Errorf("_type=Observation,Immunization&patient=p1: %v, want %v", sorted(got), want)
	}

	// _sort on an alias: the Group's Observation has no patient, so it sorts last.
	res, err = s.Search(ctx, SearchRequest{Type: "Observation", Params: q("_id=o-g1,o-p2,o-p1", "_sort=patient")})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := split(res); !slices.Equal(m, []string{"o-p1", "o-p2", "o-g1"}) {
		t.Errorf("_sort=patient: %v, want [o-p1 o-p2 o-g1]", m)
	}

	// Encounter's compartment parameter is patient, an alias of subject.
	res, err = s.Search(ctx, SearchRequest{Type: "Encounter", Compartment: &CompartmentRef{"Patient", "p1"}})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := split(res); !slices.Equal(m, []string{"e-p1"}) {
		t.Errorf("Patient/p1/Encounter: %v, want [e-p1]", m)
	}
}
