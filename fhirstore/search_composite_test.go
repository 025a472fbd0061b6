package fhirstore

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
)

// The composite fixture, known by hand:
//
//	bp1   Patient/p1  85354-9 panel; components 8480-6 systolic 120 mm[Hg], 8462-4 diastolic 80 mm[Hg]
//	bp2   Patient/p2  85354-9 panel; components 8480-6 systolic 135 mm[Hg], 8462-4 diastolic 90 mm[Hg]
//	hr1   Patient/p1  8867-4 heart rate 72, ucum code /min, unit beats/minute
//	glu1  Patient/p1  loinc 2339-0 + local GLU, 5.5 ucum mmol/L
//	wt1   Patient/p2  29463-7 body weight 180, ucum code [lb_av], unit lb
//	bt1   Patient/p1  883-9 ABO group = snomed 112144000 "Blood group A"
//	lmp1  Patient/p1  8665-2 = dateTime 2021-03-10
//	lmp2  Patient/p2  8665-2 = Period 2021-01-01..2021-01-31
//	note1 Patient/p1  8251-1 = "Patient feels well"
//	note2 Patient/p2  8251-1 = "Feeling dizzy"
//	note3 Patient/p2  8251-1 = "Cost $5, paid"
//	g1    Group  gender = female (CodeableConcept), smoker = true (boolean)
//	g2    Group  gender = male, smoker = false
//	d2    DocumentReference  replaces DocumentReference/d1
//	d3    DocumentReference  appends DocumentReference/d1, replaces DocumentReference/d0
var compositeFixture = []struct{ typ, id, body string }{
	{"Observation", "bp1", `{"resourceType":"Observation","id":"bp1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},
		"subject":{"reference":"Patient/p1"},
		"component":[
			{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic"}]},
			 "valueQuantity":{"value":120,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic"}]},
			 "valueQuantity":{"value":80,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`},
	{"Observation", "bp2", `{"resourceType":"Observation","id":"bp2","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
		"subject":{"reference":"Patient/p2"},
		"component":[
			{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
			 "valueQuantity":{"value":135,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},
			 "valueQuantity":{"value":90,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`},
	{"Observation", "hr1", `{"resourceType":"Observation","id":"hr1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p1"},
		"valueQuantity":{"value":72,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}}`},
	{"Observation", "glu1", `{"resourceType":"Observation","id":"glu1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"2339-0"},{"system":"http://local","code":"GLU"}]},
		"subject":{"reference":"Patient/p1"},
		"valueQuantity":{"value":5.5,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`},
	{"Observation", "wt1", `{"resourceType":"Observation","id":"wt1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/p2"},
		"valueQuantity":{"value":180,"unit":"lb","system":"http://unitsofmeasure.org","code":"[lb_av]"}}`},
	{"Observation", "bt1", `{"resourceType":"Observation","id":"bt1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"883-9"}]},"subject":{"reference":"Patient/p1"},
		"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"112144000","display":"Blood group A"}]}}`},
	{"Observation", "lmp1", `{"resourceType":"Observation","id":"lmp1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8665-2"}]},"subject":{"reference":"Patient/p1"},
		"valueDateTime":"2021-03-10"}`},
	{"Observation", "lmp2", `{"resourceType":"Observation","id":"lmp2","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8665-2"}]},"subject":{"reference":"Patient/p2"},
		"valuePeriod":{"start":"2021-01-01","end":"2021-01-31"}}`},
	{"Observation", "note1", `{"resourceType":"Observation","id":"note1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8251-1"}]},"subject":{"reference":"Patient/p1"},
		"valueString":"Patient feels well"}`},
	{"Observation", "note2", `{"resourceType":"Observation","id":"note2","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8251-1"}]},"subject":{"reference":"Patient/p2"},
		"valueString":"Feeling dizzy"}`},
	{"Observation", "note3", `{"resourceType":"Observation","id":"note3","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8251-1"}]},"subject":{"reference":"Patient/p2"},
		"valueString":"Cost $5, paid"}`},
	{"Group", "g1", `{"resourceType":"Group","id":"g1","type":"person","actual":false,"characteristic":[
		{"code":{"coding":[{"system":"http://example.org/c","code":"gender"}]},
		 "valueCodeableConcept":{"coding":[{"system":"http://hl7.org/fhir/administrative-gender","code":"female"}]},"exclude":false},
		{"code":{"coding":[{"system":"http://example.org/c","code":"smoker"}]},"valueBoolean":true,"exclude":false}]}`},
	{"Group", "g2", `{"resourceType":"Group","id":"g2","type":"person","actual":false,"characteristic":[
		{"code":{"coding":[{"system":"http://example.org/c","code":"gender"}]},
		 "valueCodeableConcept":{"coding":[{"system":"http://hl7.org/fhir/administrative-gender","code":"male"}]},"exclude":false},
		{"code":{"coding":[{"system":"http://example.org/c","code":"smoker"}]},"valueBoolean":false,"exclude":false}]}`},
	{"DocumentReference", "d2", `{"resourceType":"DocumentReference","id":"d2","status":"current",
		"relatesTo":[{"code":"replaces","target":{"reference":"DocumentReference/d1"}}],
		"content":[{"attachment":{"contentType":"text/plain"}}]}`},
	{"DocumentReference", "d3", `{"resourceType":"DocumentReference","id":"d3","status":"current",
		"relatesTo":[{"code":"appends","target":{"reference":"DocumentReference/d1"}},
			{"code":"replaces","target":{"reference":"DocumentReference/d0"}}],
		"content":[{"attachment":{"contentType":"text/plain"}}]}`},
}

func newCompositeStore(t *testing.T) *Store {
	t.Helper()
	s := openTestStore(t)
	loadFixture(t, s, compositeFixture)
	return s
}

func TestSearchCompositeQuantity(t *testing.T) {
	s := newCompositeStore(t)
	runSearchCases(t, s, []searchCase{
		{"system-code-value", "Observation", q("code-value-quantity=http://loinc.org|8867-4$72"), "hr1"},
		{"code-value", "Observation", q("code-value-quantity=8867-4$72"), "hr1"},
		{"value-precision", "Observation", q("code-value-quantity=8867-4$72.0"), "hr1"},
		{"value-mismatch", "Observation", q("code-value-quantity=8867-4$73"), ""},
		{"code-mismatch", "Observation", q("code-value-quantity=2339-0$72"), ""},
		{"gt", "Observation", q("code-value-quantity=8867-4$gt70"), "hr1"},
		{"gt-equal", "Observation", q("code-value-quantity=8867-4$gt72"), ""},
		{"ge", "Observation", q("code-value-quantity=8867-4$ge72"), "hr1"},
		{"lt", "Observation", q("code-value-quantity=8867-4$lt72"), ""},
		{"le", "Observation", q("code-value-quantity=8867-4$le72"), "hr1"},
		{"ne", "Observation", q("code-value-quantity=8867-4$ne72"), ""},
		{"second-coding", "Observation", q("code-value-quantity=http://local|GLU$5.5"), "glu1"},
		{"system-mismatch", "Observation", q("code-value-quantity=http://local|2339-0$5.5"), ""},
		{"unit-system-code", "Observation", q("code-value-quantity=2339-0$5.5|http://unitsofmeasure.org|mmol/L"), "glu1"},
		{"unit-wrong", "Observation", q("code-value-quantity=2339-0$5.5||mg"), ""},
		{"unit-by-code", "Observation", q("code-value-quantity=29463-7$180||[lb_av]"), "wt1"},
		{"unit-by-unit", "Observation", q("code-value-quantity=29463-7$180||lb"), "wt1"},
		{"unit-by-unit-short", "Observation", q("code-value-quantity=29463-7$180|lb"), "wt1"},
		{"unit-system-needs-code", "Observation", q("code-value-quantity=29463-7$180|http://unitsofmeasure.org|lb"), ""},
		{"unit-system-code-2", "Observation", q("code-value-quantity=29463-7$180|http://unitsofmeasure.org|[lb_av]"), "wt1"},
		// bp1 and bp2 have no value of their own: only their components do.
		{"root-without-value", "Observation", q("code-value-quantity=85354-9$120"), ""},
		{"or", "Observation", q("code-value-quantity=8867-4$72,2339-0$5.5"), "glu1,hr1"},
		{"or-no-match-part", "Observation", q("code-value-quantity=8867-4$99,2339-0$5.5"), "glu1"},
		{"and-with-plain", "Observation", q("code-value-quantity=8867-4$gt0", "subject=Patient/p1"), "hr1"},
		{"and-with-plain-none", "Observation", q("code-value-quantity=8867-4$gt0", "subject=Patient/p2"), ""},
	})
}

// The same component must carry the code and the value: bp1's systolic is 120 and its
// diastolic 80, so "systolic 80" is not bp1.
func TestSearchCompositeSameComponent(t *testing.T) {
	s := newCompositeStore(t)
	runSearchCases(t, s, []searchCase{
		{"systolic-120", "Observation", q("component-code-value-quantity=http://loinc.org|8480-6$120"), "bp1"},
		{"systolic-80-is-diastolic", "Observation", q("component-code-value-quantity=http://loinc.org|8480-6$80"), ""},
		{"diastolic-80", "Observation", q("component-code-value-quantity=http://loinc.org|8462-4$80"), "bp1"},
		{"diastolic-120-is-systolic", "Observation", q("component-code-value-quantity=8462-4$120"), ""},
		{"systolic-gt100", "Observation", q("component-code-value-quantity=http://loinc.org|8480-6$gt100"), "bp1,bp2"},
		{"systolic-gt130", "Observation", q("component-code-value-quantity=8480-6$gt130"), "bp2"},
		{"diastolic-gt100", "Observation", q("component-code-value-quantity=8462-4$gt100"), ""},
		{"units", "Observation", q("component-code-value-quantity=8480-6$120|http://unitsofmeasure.org|mm[Hg]"), "bp1"},
		{"units-by-unit", "Observation", q("component-code-value-quantity=8480-6$120||mmHg"), "bp1"},
		{"units-wrong", "Observation", q("component-code-value-quantity=8480-6$120||kPa"), ""},
		{"or", "Observation", q("component-code-value-quantity=8480-6$120,8462-4$90"), "bp1,bp2"},
		{"and", "Observation", q("component-code-value-quantity=8480-6$120", "component-code-value-quantity=8462-4$80"), "bp1"},
		{"and-across-observations", "Observation", q("component-code-value-quantity=8480-6$120", "component-code-value-quantity=8462-4$90"), ""},
		{"and-or", "Observation", q("component-code-value-quantity=8480-6$120,8480-6$135", "component-code-value-quantity=8462-4$ge90"), "bp2"},
		{"plain-component-params-do-cross", "Observation", q("component-code=8480-6", "component-value-quantity=80"), "bp1"},
		// combo: the Observation's own code and value, or any component's.
		{"combo-component", "Observation", q("combo-code-value-quantity=8480-6$120"), "bp1"},
		{"combo-root", "Observation", q("combo-code-value-quantity=8867-4$72"), "hr1"},
		{"combo-cross", "Observation", q("combo-code-value-quantity=8480-6$80"), ""},
		{"combo-root-code-component-value", "Observation", q("combo-code-value-quantity=85354-9$120"), ""},
	})
}

func TestSearchCompositeConceptDateString(t *testing.T) {
	s := newCompositeStore(t)
	runSearchCases(t, s, []searchCase{
		{"concept-system-code", "Observation", q("code-value-concept=883-9$http://snomed.info/sct|112144000"), "bt1"},
		{"concept-code", "Observation", q("code-value-concept=http://loinc.org|883-9$112144000"), "bt1"},
		{"concept-no-system", "Observation", q("code-value-concept=883-9$|112144000"), ""},
		{"concept-other-code", "Observation", q("code-value-concept=8867-4$112144000"), ""},
		{"concept-system-only", "Observation", q("code-value-concept=883-9$http://snomed.info/sct|"), "bt1"},
		{"date-day", "Observation", q("code-value-date=8665-2$2021-03-10"), "lmp1"},
		{"date-month", "Observation", q("code-value-date=8665-2$2021-03"), "lmp1"},
		{"date-year", "Observation", q("code-value-date=8665-2$2021"), "lmp1,lmp2"},
		{"date-inside-period-not-eq", "Observation", q("code-value-date=8665-2$2021-01-15"), ""},
		{"date-gt", "Observation", q("code-value-date=8665-2$gt2021-02-01"), "lmp1"},
		{"date-lt", "Observation", q("code-value-date=8665-2$lt2021-02-01"), "lmp2"},
		{"date-sa", "Observation", q("code-value-date=8665-2$sa2021-01-31"), "lmp1"},
		{"date-eb", "Observation", q("code-value-date=8665-2$eb2021-02-01"), "lmp2"},
		{"date-other-code", "Observation", q("code-value-date=8251-1$2021"), ""},
		{"string-prefix", "Observation", q("code-value-string=8251-1$patient"), "note1"},
		{"string-case-accent", "Observation", q("code-value-string=8251-1$FÉEL"), "note2"},
		{"string-not-prefix", "Observation", q("code-value-string=8251-1$dizzy"), ""},
		{"string-escaped-dollar-comma", "Observation", q(`code-value-string=8251-1$cost \$5\, paid`), "note3"},
		{"string-or", "Observation", q("code-value-string=8251-1$patient,8251-1$feel"), "note1,note2"},
		{"group-concept", "Group", q("characteristic-value=gender$female"), "g1"},
		{"group-boolean", "Group", q("characteristic-value=smoker$true"), "g1"},
		{"group-boolean-false", "Group", q("characteristic-value=http://example.org/c|smoker$false"), "g2"},
		{"group-cross", "Group", q("characteristic-value=gender$true"), ""},
		{"group-and", "Group", q("characteristic-value=gender$male", "characteristic-value=smoker$false"), "g2"},
		{"docref-reference-code", "DocumentReference", q("relationship=DocumentReference/d1$replaces"), "d2"},
		{"docref-cross", "DocumentReference", q("relationship=d0$appends"), ""},
		{"docref-bare-id", "DocumentReference", q("relationship=d1$appends"), "d3"},
		{"docref-or", "DocumentReference", q("relationship=d1$replaces,d0$replaces"), "d2,d3"},
	})
}

// Three components, numbers, and a component taken from the resource root (%resource):
// ms1 is on chromosome 1 with variants 100..200 and 300..350, window 50..400.
func TestSearchCompositeNumbers(t *testing.T) {
	s := newCompositeStore(t)
	body := `{"resourceType":"MolecularSequence","id":"ms1","coordinateSystem":0,
		"referenceSeq":{"chromosome":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/chromosome-human","code":"1"}]},
			"windowStart":50,"windowEnd":400},
		"variant":[{"start":100,"end":200},{"start":300,"end":350}]}`
	if _, _, err := s.Update(context.Background(), "MolecularSequence", "ms1", []byte(body), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	runSearchCases(t, s, []searchCase{
		{"variant-exact", "MolecularSequence", q("chromosome-variant-coordinate=1$100$200"), "ms1"},
		{"variant-second", "MolecularSequence", q("chromosome-variant-coordinate=1$gt250$lt360"), "ms1"},
		{"variant-cross", "MolecularSequence", q("chromosome-variant-coordinate=1$lt150$gt300"), ""},
		{"variant-other-chromosome", "MolecularSequence", q("chromosome-variant-coordinate=2$100$200"), ""},
		{"window", "MolecularSequence", q("chromosome-window-coordinate=1$le50$ge400"), "ms1"},
		{"window-miss", "MolecularSequence", q("chromosome-window-coordinate=1$gt50$ge400"), ""},
	})
}

func TestSearchCompositeReindex(t *testing.T) {
	s := newCompositeStore(t)
	ctx := context.Background()
	// bp1's systolic goes from 120 to 110.
	body := `{"resourceType":"Observation","id":"bp1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"Patient/p1"},
		"component":[
			{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":110,"code":"mm[Hg]"}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"code":"mm[Hg]"}}]}`
	if _, _, err := s.Update(ctx, "Observation", "bp1", []byte(body), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	runSearchCases(t, s, []searchCase{
		{"old-tuple-gone", "Observation", q("component-code-value-quantity=8480-6$120"), ""},
		{"new-tuple", "Observation", q("component-code-value-quantity=8480-6$110"), "bp1"},
		{"unchanged-component", "Observation", q("component-code-value-quantity=8462-4$80"), "bp1"},
	})
	if err := s.Delete(ctx, "Observation", "bp2", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	runSearchCases(t, s, []searchCase{
		{"deleted-gone", "Observation", q("component-code-value-quantity=8480-6$gt100"), "bp1"},
	})
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM idx_composite WHERE rid = (SELECT rid FROM resource_current WHERE id = 'bp2')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("deleted bp2 keeps %d composite rows (err %v)", n, err)
	}
}

func TestSearchCompositeInvalid(t *testing.T) {
	s := newCompositeStore(t)
	ctx := context.Background()
	for _, p := range []url.Values{
		q("code-value-quantity=8867-4"),           // one value for two components
		q("code-value-quantity=8867-4$72$1"),      // three
		q("code-value-quantity=8867-4$abc"),       // not a number
		q("code-value-date=8665-2$yesterday"),     // not a date
		q("code-value-quantity:missing=true"),     // no modifiers on composites
		q("code-value-quantity:exact=8867-4$72"),  //
		q("code-value-quantity.name=8867-4$72"),   // nor chains
		q("relationship=Nope/x/y$replaces"),       // not a reference
		q("code-value-quantity=8867-4$72,2339-0"), // one bad alternative spoils the value
	} {
		for _, strict := range []bool{true, false} {
			_, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: p, Strict: strict})
			if p.Has("relationship") {
				_, err = s.Search(ctx, SearchRequest{Type: "DocumentReference", Params: p, Strict: strict})
			}
			if ErrorCode(err) != EInvalid {
				t.Errorf("%s (strict %v): err %v, want EInvalid", p.Encode(), strict, err)
			}
		}
	}
	if _, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("_sort=code-value-quantity")}); ErrorCode(err) != EInvalid {
		t.Errorf("_sort on a composite: err %v, want EInvalid", err)
	}
}

// A patient-confined grant sees only its patient's tuples.
func TestSearchCompositeAccess(t *testing.T) {
	s := newCompositeStore(t)
	ctx := WithAccess(context.Background(), p1Only())
	for _, c := range []struct {
		params url.Values
		want   string
	}{
		{q("component-code-value-quantity=8480-6$gt100"), "bp1"},
		{q("component-code-value-quantity=8480-6$135"), ""},
		{q("code-value-string=8251-1$feel"), ""},
		{q("code-value-date=8665-2$2021"), "lmp1"},
	} {
		res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: c.params})
		if err != nil {
			t.Fatalf("%s: %v", c.params.Encode(), err)
		}
		got, _ := split(res)
		if want := list(c.want); !slices.Equal(sorted(got), sorted(want)) || res.Total == nil || *res.Total != len(want) {
			t.Errorf("%s under p1's grant: got %v (total %v), want %v", c.params.Encode(), got, res.Total, want)
		}
	}
}

// A database indexed before composites and full text existed is re-indexed when it opens.
func TestReindexOldDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s := openAt(t, path)
	for _, f := range compositeFixture[:3] {
		if _, _, err := s.Update(ctx, f.typ, f.id, []byte(f.body), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// What a database written by the previous version looks like: no tuples, no words,
	// no index version.
	for _, stmt := range []string{`DELETE FROM idx_composite`, `DELETE FROM search_text`, `DELETE FROM store_meta WHERE key = 'index_version'`} {
		if _, err := s.w.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "Observation", "hr1", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path)
	defer s.Close()
	runSearchCases(t, s, []searchCase{
		{"tuples-back", "Observation", q("component-code-value-quantity=8480-6$gt100"), "bp1,bp2"},
		{"words-back", "Observation", q("_content=systolic"), "bp1"},
		{"deleted-stays-out", "Observation", q("code-value-quantity=8867-4$72"), ""},
	})
	var v string
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'index_version'`).Scan(&v); err != nil || v != indexVersion {
		t.Errorf("index_version = %q (%v), want %s", v, err, indexVersion)
	}
}

// The combo parameters store nothing of their own: they are searched through their parts
// (combo-code = code | component-code), and must answer as if they held every value.
func TestSearchComboParams(t *testing.T) {
	s := newCompositeStore(t)
	runSearchCases(t, s, []searchCase{
		{"code-root", "Observation", q("combo-code=http://loinc.org|85354-9"), "bp1,bp2"},
		{"code-component", "Observation", q("combo-code=8480-6"), "bp1,bp2"},
		{"code-root-plain", "Observation", q("combo-code=8867-4"), "hr1"},
		{"code-or-root-component", "Observation", q("combo-code=8867-4,8462-4"), "bp1,bp2,hr1"},
		{"code-second-coding", "Observation", q("combo-code=http://local|GLU"), "glu1"},
		{"code-text", "Observation", q("combo-code:text=systolic"), "bp1"},
		{"code-missing", "Observation", q("combo-code:missing=true"), ""},
		{"value-root", "Observation", q("combo-value-quantity=72"), "hr1"},
		{"value-component", "Observation", q("combo-value-quantity=80"), "bp1"},
		{"value-gt", "Observation", q("combo-value-quantity=gt130"), "bp2,wt1"},
		{"value-unit", "Observation", q("combo-value-quantity=120|http://unitsofmeasure.org|mm[Hg]"), "bp1"},
		{"value-missing", "Observation", q("combo-value-quantity:missing=true"), "bt1,lmp1,lmp2,note1,note2,note3"},
		{"value-present", "Observation", q("combo-value-quantity:missing=false"), "bp1,bp2,hr1,glu1,wt1"},
		{"concept", "Observation", q("combo-value-concept=http://snomed.info/sct|112144000"), "bt1"},
		{"with-plain", "Observation", q("combo-code=8480-6", "combo-value-quantity=gt130"), "bp2"},
	})
	pt, _ := loadParams()
	for code, table := range map[string]string{"combo-code": "idx_token", "combo-value-quantity": "idx_number", "combo-code-value-quantity": "idx_composite"} {
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM `+table+` WHERE pid = ?`, pt.byType["Observation"][code].PID).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows of its own in %s (%v), want none", code, n, table, err)
		}
	}
	// Sorting takes the smallest value over the parts: bp1's 80, bp2's 90.
	res, err := s.Search(context.Background(), SearchRequest{Type: "Observation",
		Params: q("combo-value-quantity:missing=false", "_sort=combo-value-quantity")})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := split(res); !slices.Equal(got, list("glu1,hr1,bp1,bp2,wt1")) {
		t.Errorf("_sort=combo-value-quantity: got %v, want glu1,hr1,bp1,bp2,wt1", got)
	}
}
