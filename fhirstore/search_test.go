package fhirstore

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fixture: a small world whose right answers are known by hand.
//
// Patients           family       given  birthDate    gender  identifier                    org  gp
//
//	p1               Müller       Hans   1980         male    http://hosp/mrn|MRN1 (MR)     o1   pr1
//	p2               Miller       Anna   1980-06-15   female  http://hosp/mrn|MRN2          o2
//	p3               Mullins      -      1990-01-01   female  |X3 (no system)               -
//	p4               Smith-Jones  Jo     1979-12-31   -       -                             -
//	p5               Zorn         -      -            male    -                             -
//
// Observations  category  code                         subject                          effective                       value
//
//	obs1        lab       loinc|2339-0 Glucose          Patient/p1                       2020-03-15T10:00:00+02:00       5.5 ucum|mg
//	obs2        lab       loinc|2339-0 Glucose          Patient/p2                       2020-03-15T23:30:00-05:00       5.54 ucum|mg
//	obs3        vital     loinc|8867-4 Heart rate       Patient/p1                       Period 2020-01-01..2020-01-31   5.6 ucum|mg
//	obs4        lab       loinc|2339-0 + local|GLU      identifier http://hosp/mrn|MRN1  -                               5.4 ucum|mg
//	obs5        lab       text "free text glucose"      http://other.org/fhir/Patient/ext1 -                             5.4 http://other|mg
//	obs6        vital     |HR (no system)               -                                2019-05                         -
//
// Encounters: e1 p1 2021-01-01..2021-01-10; e2 p1 2021-02-01..(open); e3 p2 (open)..2020-12-31.
var fixture = []struct{ typ, id, body string }{
	{"Organization", "o1", `{"resourceType":"Organization","id":"o1","name":"Acme Health"}`},
	{"Organization", "o2", `{"resourceType":"Organization","id":"o2","name":"Beta Clinic"}`},
	{"Practitioner", "pr1", `{"resourceType":"Practitioner","id":"pr1","name":[{"family":"Smith","given":["Paula"]}]}`},
	{"Patient", "p1", `{"resourceType":"Patient","id":"p1",
		"meta":{"tag":[{"system":"http://tags","code":"vip"}],"profile":["http://example.org/fhir/StructureDefinition/my-patient"]},
		"identifier":[{"system":"http://hosp/mrn","value":"MRN1","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}],"text":"Medical record number"}}],
		"name":[{"family":"Müller","given":["Hans"]}],"gender":"male","birthDate":"1980",
		"managingOrganization":{"reference":"Organization/o1"},"generalPractitioner":[{"reference":"Practitioner/pr1"}]}`},
	{"Patient", "p2", `{"resourceType":"Patient","id":"p2","identifier":[{"system":"http://hosp/mrn","value":"MRN2"}],
		"name":[{"family":"Miller","given":["Anna"]}],"gender":"female","birthDate":"1980-06-15",
		"managingOrganization":{"reference":"Organization/o2"}}`},
	{"Patient", "p3", `{"resourceType":"Patient","id":"p3","identifier":[{"value":"X3"}],
		"name":[{"family":"Mullins"}],"gender":"female","birthDate":"1990-01-01"}`},
	{"Patient", "p4", `{"resourceType":"Patient","id":"p4","name":[{"family":"Smith-Jones","given":["Jo"]}],"birthDate":"1979-12-31"}`},
	{"Patient", "p5", `{"resourceType":"Patient","id":"p5","name":[{"family":"Zorn"}],"gender":"male"}`},
	{"Observation", "obs1", `{"resourceType":"Observation","id":"obs1","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose"}]},
		"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Practitioner/pr1"}],
		"effectiveDateTime":"2020-03-15T10:00:00+02:00",
		"valueQuantity":{"value":5.5,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`},
	{"Observation", "obs2", `{"resourceType":"Observation","id":"obs2","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose"}]},
		"subject":{"reference":"Patient/p2"},
		"effectiveDateTime":"2020-03-15T23:30:00-05:00",
		"valueQuantity":{"value":5.54,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`},
	{"Observation", "obs3", `{"resourceType":"Observation","id":"obs3","status":"preliminary",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
		"subject":{"reference":"Patient/p1"},
		"effectivePeriod":{"start":"2020-01-01","end":"2020-01-31"},
		"valueQuantity":{"value":5.6,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`},
	{"Observation", "obs4", `{"resourceType":"Observation","id":"obs4","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose"},{"system":"http://local","code":"GLU"}]},
		"subject":{"identifier":{"system":"http://hosp/mrn","value":"MRN1"}},
		"valueQuantity":{"value":5.4,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`},
	{"Observation", "obs5", `{"resourceType":"Observation","id":"obs5","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"text":"free text glucose"},
		"subject":{"reference":"http://other.org/fhir/Patient/ext1"},
		"valueQuantity":{"value":5.4,"unit":"mg","system":"http://other","code":"mg"}}`},
	{"Observation", "obs6", `{"resourceType":"Observation","id":"obs6","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{"code":"HR"}]},"effectiveDateTime":"2019-05"}`},
	{"Encounter", "e1", `{"resourceType":"Encounter","id":"e1","status":"finished",
		"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
		"subject":{"reference":"Patient/p1"},"period":{"start":"2021-01-01","end":"2021-01-10"}}`},
	{"Encounter", "e2", `{"resourceType":"Encounter","id":"e2","status":"in-progress",
		"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
		"subject":{"reference":"Patient/p1"},"period":{"start":"2021-02-01"}}`},
	{"Encounter", "e3", `{"resourceType":"Encounter","id":"e3","status":"finished",
		"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
		"subject":{"reference":"Patient/p2"},"period":{"end":"2020-12-31"}}`},
	{"ValueSet", "vs1", `{"resourceType":"ValueSet","id":"vs1","url":"http://example.org/fhir/ValueSet/colors","status":"active"}`},
}

// fakeClock advances one minute per call, so every write has a distinct lastUpdated.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Minute)
	return c.t
}

type fixtureStore struct {
	*Store
	lastUpdated map[string]time.Time // "Type/id" -> meta.lastUpdated
}

func openTestStore(t testing.TB) *Store {
	t.Helper()
	clock := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "s.db"), Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newFixtureStore(t testing.TB) *fixtureStore {
	t.Helper()
	s := openTestStore(t)
	fs := &fixtureStore{Store: s, lastUpdated: map[string]time.Time{}}
	for _, f := range fixture {
		r, _, err := s.Update(context.Background(), f.typ, f.id, []byte(f.body), WriteOptions{})
		if err != nil {
			t.Fatalf("loading %s/%s: %v", f.typ, f.id, err)
		}
		fs.lastUpdated[f.typ+"/"+f.id] = r.LastUpdated
	}
	return fs
}

// q builds url.Values from "k=v" pairs (v taken literally, no unescaping).
func q(pairs ...string) url.Values {
	v := url.Values{}
	for _, p := range pairs {
		k, val, _ := strings.Cut(p, "=")
		v.Add(k, val)
	}
	return v
}

// split returns the ids of the match entries (in order) and "Type/id" of the include
// entries (sorted).
func split(res *SearchResult) (matches, includes []string) {
	for _, e := range res.Entries {
		if e.Mode == "match" {
			matches = append(matches, e.ID)
		} else {
			includes = append(includes, e.Type+"/"+e.ID)
		}
	}
	slices.Sort(includes)
	return matches, includes
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

type searchCase struct {
	name   string
	typ    string
	params url.Values
	want   string // comma-separated match ids, compared as a set
}

// runSearchCases runs every case and compares the match ids as a set and Total.
// loadFixture writes each resource of fixture by id.
func loadFixture(t *testing.T, s *Store, fixture []struct{ typ, id, body string }) {
	t.Helper()
	for _, f := range fixture {
		if _, _, err := s.Update(context.Background(), f.typ, f.id, []byte(f.body), WriteOptions{}); err != nil {
			t.Fatalf("loading %s/%s: %v", f.typ, f.id, err)
		}
	}
}

func runSearchCases(t *testing.T, s *Store, cases []searchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.Search(context.Background(), SearchRequest{Type: c.typ, Params: c.params})
			if err != nil {
				t.Fatalf("%s?%s: %v", c.typ, c.params.Encode(), err)
			}
			got, _ := split(res)
			want := sorted(list(c.want))
			if !slices.Equal(sorted(got), want) {
				t.Errorf("%s?%s\n got %v\nwant %v", c.typ, c.params.Encode(), sorted(got), want)
			}
			if res.Total == nil {
				t.Errorf("Total is nil")
			} else if *res.Total != len(want) {
				t.Errorf("Total = %d, want %d", *res.Total, len(want))
			}
		})
	}
}

func TestSearchString(t *testing.T) {
	s := newFixtureStore(t)
	runSearchCases(t, s.Store, []searchCase{
		{"accent-insensitive", "Patient", q("family=muller"), "p1"},
		{"starts-with", "Patient", q("family=Mul"), "p1,p3"},
		{"case-insensitive", "Patient", q("family=MÜL"), "p1,p3"},
		{"no-match-not-prefix", "Patient", q("family=ller"), ""},
		{"given-via-name", "Patient", q("name=hans"), "p1"},
		{"name-family", "Patient", q("name=smith"), "p4"},
		{"exact", "Patient", q("family:exact=Müller"), "p1"},
		{"exact-case-sensitive", "Patient", q("family:exact=müller"), ""},
		{"exact-no-prefix", "Patient", q("family:exact=Mül"), ""},
		{"contains", "Patient", q("family:contains=ill"), "p2"},
		{"contains-accent", "Patient", q("family:contains=ÜLL"), "p1,p3"},
		{"contains-suffix", "Patient", q("family:contains=jones"), "p4"},
		{"or", "Patient", q("family=zorn,miller"), "p2,p5"},
		{"and", "Patient", q("family=mul", "family=mulli"), "p3"},
		{"org-name", "Organization", q("name=acme"), "o1"},
		{"missing-true", "Patient", q("given:missing=true"), "p3,p5"},
		{"missing-false", "Patient", q("given:missing=false"), "p1,p2,p4"},
	})
}

func TestSearchToken(t *testing.T) {
	s := newFixtureStore(t)
	runSearchCases(t, s.Store, []searchCase{
		{"code", "Patient", q("gender=male"), "p1,p5"},
		{"or", "Patient", q("gender=female,male"), "p1,p2,p3,p5"},
		{"not", "Patient", q("gender:not=male"), "p2,p3,p4"},
		{"missing-true", "Patient", q("gender:missing=true"), "p4"},
		{"missing-false", "Patient", q("gender:missing=false"), "p1,p2,p3,p5"},
		{"identifier-value", "Patient", q("identifier=MRN1"), "p1"},
		{"identifier-system-value", "Patient", q("identifier=http://hosp/mrn|MRN2"), "p2"},
		{"identifier-system-only", "Patient", q("identifier=http://hosp/mrn|"), "p1,p2"},
		{"identifier-no-system", "Patient", q("identifier=|X3"), "p3"},
		{"identifier-no-system-mismatch", "Patient", q("identifier=|MRN1"), ""},
		{"identifier-wrong-system", "Patient", q("identifier=http://other|MRN1"), ""},
		{"of-type", "Patient", q("identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|MRN1"), "p1"},
		{"of-type-wrong-value", "Patient", q("identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|MRN2"), ""},
		{"identifier-text", "Patient", q("identifier:text=medical"), "p1"},
		{"cc-code", "Observation", q("code=2339-0"), "obs1,obs2,obs4"},
		{"cc-system-code", "Observation", q("code=http://loinc.org|2339-0"), "obs1,obs2,obs4"},
		{"cc-system-only", "Observation", q("code=http://local|"), "obs4"},
		{"cc-no-system", "Observation", q("code=|HR"), "obs6"},
		{"cc-no-system-mismatch", "Observation", q("code=|2339-0"), ""},
		{"cc-text-display", "Observation", q("code:text=glucose"), "obs1,obs2,obs4"},
		{"cc-text-text", "Observation", q("code:text=FREE"), "obs5"},
		{"cc-not", "Observation", q("code:not=2339-0"), "obs3,obs5,obs6"},
		{"cc-or", "Observation", q("code=2339-0,http://loinc.org|8867-4"), "obs1,obs2,obs3,obs4"},
		{"cc-and", "Observation", q("code=2339-0", "code=http://local|GLU"), "obs4"},
		{"category", "Observation", q("category=laboratory"), "obs1,obs2,obs4,obs5"},
		{"category-and-code", "Observation", q("category=vital-signs", "code=8867-4"), "obs3"},
		{"status", "Observation", q("status=preliminary"), "obs3"},
		{"tag", "Patient", q("_tag=http://tags|vip"), "p1"},
		{"tag-code", "Patient", q("_tag=vip"), "p1"},
		{"tag-missing", "Patient", q("_tag:missing=true"), "p2,p3,p4,p5"},
		{"id", "Patient", q("_id=p2"), "p2"},
		{"id-or", "Patient", q("_id=p2,p4,nope"), "p2,p4"},
		{"id-and", "Patient", q("_id=p2,p4", "_id=p4"), "p4"},
	})
}

func TestSearchReference(t *testing.T) {
	s := newFixtureStore(t)
	runSearchCases(t, s.Store, []searchCase{
		{"type-id", "Observation", q("subject=Patient/p1"), "obs1,obs3"},
		{"bare-id", "Observation", q("subject=p2"), "obs2"},
		{"patient-param", "Observation", q("patient=Patient/p1"), "obs1,obs3"},
		{"patient-bare", "Observation", q("patient=p1"), "obs1,obs3"},
		{"or", "Observation", q("subject=Patient/p1,Patient/p2"), "obs1,obs2,obs3"},
		{"absolute-url", "Observation", q("subject=http://other.org/fhir/Patient/ext1"), "obs5"},
		{"type-modifier", "Observation", q("subject:Patient=p2"), "obs2"},
		{"type-modifier-wrong-type", "Observation", q("subject:Group=p2"), ""},
		{"identifier", "Observation", q("subject:identifier=http://hosp/mrn|MRN1"), "obs4"},
		{"identifier-value-only", "Observation", q("subject:identifier=MRN1"), "obs4"},
		{"missing-true", "Observation", q("subject:missing=true"), "obs6"},
		{"missing-false", "Observation", q("subject:missing=false"), "obs1,obs2,obs3,obs4,obs5"},
		{"performer", "Observation", q("performer=Practitioner/pr1"), "obs1"},
		{"patient-org", "Patient", q("organization=Organization/o1"), "p1"},
		{"patient-gp", "Patient", q("general-practitioner=pr1"), "p1"},
		{"encounter-subject", "Encounter", q("patient=p1"), "e1,e2"},
	})
}

func TestSearchURI(t *testing.T) {
	s := newFixtureStore(t)
	runSearchCases(t, s.Store, []searchCase{
		{"eq", "ValueSet", q("url=http://example.org/fhir/ValueSet/colors"), "vs1"},
		{"eq-prefix-no-match", "ValueSet", q("url=http://example.org/fhir"), ""},
		{"below", "ValueSet", q("url:below=http://example.org/fhir"), "vs1"},
		{"below-no-match", "ValueSet", q("url:below=http://example.org/other"), ""},
		{"above", "ValueSet", q("url:above=http://example.org/fhir/ValueSet/colors/v2"), "vs1"},
		{"above-no-match", "ValueSet", q("url:above=http://example.org/fhir"), ""},
		{"profile", "Patient", q("_profile=http://example.org/fhir/StructureDefinition/my-patient"), "p1"},
		{"profile-below", "Patient", q("_profile:below=http://example.org/fhir/"), "p1"},
	})
}

func TestSearchDate(t *testing.T) {
	s := newFixtureStore(t)
	// birthDate: p1 1980, p2 1980-06-15, p3 1990-01-01, p4 1979-12-31, p5 none.
	runSearchCases(t, s.Store, []searchCase{
		{"eq-year", "Patient", q("birthdate=eq1980"), "p1,p2"},
		{"eq-implicit", "Patient", q("birthdate=1980"), "p1,p2"},
		{"eq-month", "Patient", q("birthdate=eq1980-06"), "p2"},
		{"eq-day", "Patient", q("birthdate=1980-06-15"), "p2"},
		{"eq-day-not-in-year-value", "Patient", q("birthdate=1980-01-01"), ""},
		{"ne-year", "Patient", q("birthdate=ne1980"), "p3,p4"},
		{"ge-day", "Patient", q("birthdate=ge1980-06-01"), "p1,p2,p3"},
		{"gt-year", "Patient", q("birthdate=gt1980"), "p3"},
		{"gt-day-inside-year", "Patient", q("birthdate=gt1980-06-15"), "p1,p3"},
		{"lt-year", "Patient", q("birthdate=lt1980"), "p4"},
		{"lt-day-inside-year", "Patient", q("birthdate=lt1980-06-15"), "p1,p4"},
		{"le-day", "Patient", q("birthdate=le1980-06-15"), "p1,p2,p4"},
		{"sa", "Patient", q("birthdate=sa1979-12-31"), "p1,p2,p3"},
		{"sa-year", "Patient", q("birthdate=sa1980"), "p3"},
		{"eb", "Patient", q("birthdate=eb1980-06-15"), "p4"},
		{"eb-year", "Patient", q("birthdate=eb1980"), "p4"},
		// ap: within 10% of the distance to now (≈4.5 years here).
		{"ap", "Patient", q("birthdate=ap1980-06-15"), "p1,p2,p4"},
		{"or", "Patient", q("birthdate=1990,1979"), "p3,p4"},
		{"and-range", "Patient", q("birthdate=ge1980-01-01", "birthdate=le1985"), "p1,p2"},
		{"missing", "Patient", q("birthdate:missing=true"), "p5"},
		// Periods with open ends: e1 2021-01-01..2021-01-10, e2 2021-02-01.., e3 ..2020-12-31.
		{"period-ge-open-end", "Encounter", q("date=ge2021-06-01"), "e2"},
		{"period-lt-open-start", "Encounter", q("date=lt2021-01-05"), "e1,e3"},
		{"period-eq-month", "Encounter", q("date=eq2021-01"), "e1"},
		{"period-eq-year", "Encounter", q("date=2021"), "e1"},
		{"period-gt", "Encounter", q("date=gt2021-01-05"), "e1,e2"},
		{"period-sa", "Encounter", q("date=sa2020-12-31"), "e1,e2"},
		{"period-eb", "Encounter", q("date=eb2021-01-01"), "e3"},
		{"period-ne", "Encounter", q("date=ne2021-01"), "e2,e3"},
		// dateTime with zones: obs1 is 2020-03-15T08:00Z, obs2 is 2020-03-16T04:30Z.
		{"tz-same-instant", "Observation", q("date=2020-03-15T10:00:00+02:00"), "obs1"},
		{"tz-utc-instant", "Observation", q("date=2020-03-15T08:00:00Z"), "obs1"},
		{"tz-other-zone", "Observation", q("date=2020-03-15T03:00:00-05:00"), "obs1"},
		{"tz-minute", "Observation", q("date=2020-03-15T08:00Z"), "obs1"},
		{"tz-day-utc", "Observation", q("date=2020-03-15"), "obs1"},
		{"tz-day-next", "Observation", q("date=2020-03-16"), "obs2"},
		{"tz-gt", "Observation", q("date=gt2020-03-15T09:00:00+02:00"), "obs1,obs2"},
		{"tz-lt", "Observation", q("date=lt2020-03-15T09:00:00Z"), "obs1,obs3,obs6"},
		{"obs-period", "Observation", q("date=2020-01"), "obs3"},
		{"obs-month-value", "Observation", q("date=2019"), "obs6"},
		{"obs-month-value-day", "Observation", q("date=2019-05-10"), ""},
		{"obs-month-value-range", "Observation", q("date=ge2019-05-10", "date=le2019-05-10"), "obs6"},
	})
}

func TestSearchLastUpdated(t *testing.T) {
	s := newFixtureStore(t)
	at := func(ref string) string { return s.lastUpdated[ref].Format(time.RFC3339) }
	// Patients were loaded in order p1..p5, each a minute after the previous write.
	runSearchCases(t, s.Store, []searchCase{
		{"eq", "Patient", q("_lastUpdated=" + at("Patient/p3")), "p3"},
		{"ge", "Patient", q("_lastUpdated=ge" + at("Patient/p3")), "p3,p4,p5"},
		{"gt", "Patient", q("_lastUpdated=gt" + at("Patient/p3")), "p4,p5"},
		{"lt", "Patient", q("_lastUpdated=lt" + at("Patient/p3")), "p1,p2"},
		{"le", "Patient", q("_lastUpdated=le" + at("Patient/p3")), "p1,p2,p3"},
		{"ne", "Patient", q("_lastUpdated=ne" + at("Patient/p3")), "p1,p2,p4,p5"},
		{"day", "Patient", q("_lastUpdated=2024-01-01"), "p1,p2,p3,p4,p5"},
		{"other-day", "Patient", q("_lastUpdated=2023-12-31"), ""},
	})
}

func TestSearchNumberQuantity(t *testing.T) {
	s := newFixtureStore(t)
	// obs1 5.5 ucum mg, obs2 5.54 ucum mg, obs3 5.6 ucum mg, obs4 5.4 ucum mg, obs5 5.4 other|mg.
	runSearchCases(t, s.Store, []searchCase{
		{"eq-precision", "Observation", q("value-quantity=5.5"), "obs1,obs2"},
		{"eq-precision-2", "Observation", q("value-quantity=5.50"), "obs1"},
		{"eq-integer", "Observation", q("value-quantity=5"), "obs4,obs5"}, // 4.5 <= v < 5.5
		{"eq-integer-range", "Observation", q("value-quantity=6"), "obs1,obs2,obs3"},
		{"eq-system-code", "Observation", q("value-quantity=5.4|http://unitsofmeasure.org|mg"), "obs4"},
		{"eq-code-only", "Observation", q("value-quantity=5.4||mg"), "obs4,obs5"},
		{"eq-other-system", "Observation", q("value-quantity=5.4|http://other|mg"), "obs5"},
		{"eq-wrong-unit", "Observation", q("value-quantity=5.4||g"), ""},
		{"ne", "Observation", q("value-quantity=ne5.5"), "obs3,obs4,obs5"},
		{"gt", "Observation", q("value-quantity=gt5.5"), "obs2,obs3"},
		{"lt", "Observation", q("value-quantity=lt5.5"), "obs4,obs5"},
		{"ge", "Observation", q("value-quantity=ge5.5"), "obs1,obs2,obs3"},
		{"le", "Observation", q("value-quantity=le5.5"), "obs1,obs4,obs5"},
		{"sa", "Observation", q("value-quantity=sa5.5"), "obs2,obs3"},
		{"eb", "Observation", q("value-quantity=eb5.5"), "obs4,obs5"},
		{"ap-wide", "Observation", q("value-quantity=ap5.5"), "obs1,obs2,obs3,obs4,obs5"},
		{"ap-narrow", "Observation", q("value-quantity=ap5"), "obs1,obs4,obs5"},
		{"gt-with-unit", "Observation", q("value-quantity=gt5|http://unitsofmeasure.org|mg"), "obs1,obs2,obs3,obs4"},
		{"or", "Observation", q("value-quantity=5.6,5.4|http://other|mg"), "obs3,obs5"},
		{"and", "Observation", q("value-quantity=gt5.4", "value-quantity=lt5.6"), "obs1,obs2"},
		{"missing", "Observation", q("value-quantity:missing=true"), "obs6"},
	})
}

func TestSearchChainAndHas(t *testing.T) {
	s := newFixtureStore(t)
	runSearchCases(t, s.Store, []searchCase{
		{"chain-typed", "Observation", q("subject:Patient.name=muller"), "obs1,obs3"},
		{"chain-untyped", "Observation", q("subject.name=miller"), "obs2"},
		{"chain-patient", "Observation", q("patient.family=mul"), "obs1,obs3"},
		{"chain-token", "Observation", q("patient.gender=female"), "obs2"},
		{"chain-id", "Observation", q("patient._id=p2"), "obs2"},
		{"chain-or", "Observation", q("patient.family=muller,miller"), "obs1,obs2,obs3"},
		{"chain-two-levels", "Observation", q("subject.organization.name=acme"), "obs1,obs3"},
		{"chain-two-levels-patient", "Observation", q("patient.organization.name=beta"), "obs2"},
		{"chain-two-levels-typed", "Observation", q("subject:Patient.organization.name=acme"), "obs1,obs3"},
		{"chain-encounter", "Encounter", q("patient.general-practitioner.name=smith"), "e1,e2"},
		{"chain-and-plain", "Observation", q("patient.family=mul", "code=8867-4"), "obs3"},
		{"has", "Patient", q("_has:Observation:patient:code=8867-4"), "p1"},
		{"has-subject", "Patient", q("_has:Observation:subject:code=2339-0"), "p1,p2"},
		{"has-or", "Patient", q("_has:Observation:patient:code=8867-4,2339-0"), "p1,p2"},
		{"has-none", "Patient", q("_has:Observation:patient:code=nope"), ""},
		{"has-encounter", "Patient", q("_has:Encounter:patient:status=in-progress"), "p1"},
		{"has-nested", "Organization", q("_has:Patient:organization:_has:Observation:patient:code=8867-4"), "o1"},
		{"has-practitioner", "Practitioner", q("_has:Observation:performer:code=2339-0"), "pr1"},
	})
}

func TestSearchIncludes(t *testing.T) {
	s := newFixtureStore(t)
	cases := []struct {
		name     string
		typ      string
		params   url.Values
		matches  string // set
		includes string // set of Type/id
	}{
		{"include", "Observation", q("code=8867-4", "_include=Observation:patient"), "obs3", "Patient/p1"},
		{"include-target-type", "Observation", q("_id=obs1,obs2", "_include=Observation:subject:Patient"), "obs1,obs2", "Patient/p1,Patient/p2"},
		{"include-wrong-target-type", "Observation", q("_id=obs1", "_include=Observation:subject:Group"), "obs1", ""},
		{"include-shared-once", "Observation", q("_id=obs1,obs3", "_include=Observation:patient"), "obs1,obs3", "Patient/p1"},
		{"include-star", "Observation", q("_id=obs1", "_include=*"), "obs1", "Patient/p1,Practitioner/pr1"},
		{"include-unresolvable", "Observation", q("_id=obs5", "_include=Observation:subject"), "obs5", ""},
		{"include-two", "Patient", q("_id=p1", "_include=Patient:organization", "_include=Patient:general-practitioner"), "p1", "Organization/o1,Practitioner/pr1"},
		{"include-no-iterate", "Observation", q("_id=obs1", "_include=Observation:patient", "_include=Patient:organization"), "obs1", "Patient/p1"},
		{"include-iterate", "Observation", q("_id=obs1", "_include=Observation:patient", "_include:iterate=Patient:organization"), "obs1", "Organization/o1,Patient/p1"},
		{"revinclude", "Patient", q("_id=p1", "_revinclude=Observation:patient"), "p1", "Observation/obs1,Observation/obs3"},
		{"revinclude-two", "Patient", q("_id=p1,p2", "_revinclude=Observation:patient", "_revinclude=Encounter:patient"), "p1,p2",
			"Encounter/e1,Encounter/e2,Encounter/e3,Observation/obs1,Observation/obs2,Observation/obs3"},
		{"revinclude-star", "Patient", q("_id=p1", "_revinclude=*"), "p1", "Encounter/e1,Encounter/e2,Observation/obs1,Observation/obs3"},
		{"revinclude-iterate", "Organization", q("_id=o1", "_revinclude=Patient:organization", "_revinclude:iterate=Observation:patient"), "o1",
			"Observation/obs1,Observation/obs3,Patient/p1"},
		{"revinclude-then-include-iterate", "Practitioner", q("_id=pr1", "_revinclude=Observation:performer", "_include:iterate=Observation:patient"), "pr1",
			"Observation/obs1,Patient/p1"},
		{"revinclude-none", "Patient", q("_id=p4", "_revinclude=Observation:patient"), "p4", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.Search(context.Background(), SearchRequest{Type: c.typ, Params: c.params})
			if err != nil {
				t.Fatal(err)
			}
			m, inc := split(res)
			if !slices.Equal(sorted(m), sorted(list(c.matches))) {
				t.Errorf("matches %v, want %v", sorted(m), list(c.matches))
			}
			if !slices.Equal(inc, sorted(list(c.includes))) {
				t.Errorf("includes %v, want %v", inc, sorted(list(c.includes)))
			}
			if res.Total == nil || *res.Total != len(list(c.matches)) {
				t.Errorf("Total = %v, want %d (includes are not counted)", res.Total, len(list(c.matches)))
			}
		})
	}
}

func TestSearchSort(t *testing.T) {
	s := newFixtureStore(t)
	// Patients: family p1 müller, p2 miller, p3 mullins, p4 smith-jones, p5 zorn;
	// birthDate p4 1979-12-31 < p1 1980 < p2 1980-06-15 < p3 1990, p5 none;
	// gender female p2 p3, male p1 p5, none p4; loaded p1..p5 in that order.
	cases := []struct {
		name, typ string
		params    url.Values
		want      string // exact order
	}{
		{"string", "Patient", q("_sort=family"), "p2,p1,p3,p4,p5"},
		{"string-desc", "Patient", q("_sort=-family"), "p5,p4,p3,p1,p2"},
		{"date", "Patient", q("_sort=birthdate"), "p4,p1,p2,p3,p5"},
		{"date-desc-missing-last", "Patient", q("_sort=-birthdate"), "p3,p1,p2,p4,p5"},
		{"two-keys", "Patient", q("_sort=gender,family"), "p2,p3,p1,p5,p4"},
		{"two-keys-desc-second", "Patient", q("_sort=gender,-family"), "p3,p2,p5,p1,p4"},
		{"desc-first-missing-last", "Patient", q("_sort=-gender,family"), "p1,p5,p2,p3,p4"},
		{"lastUpdated", "Patient", q("_sort=_lastUpdated"), "p1,p2,p3,p4,p5"},
		{"lastUpdated-desc", "Patient", q("_sort=-_lastUpdated"), "p5,p4,p3,p2,p1"},
		{"id-desc", "Patient", q("_sort=-_id"), "p5,p4,p3,p2,p1"},
		{"with-filter", "Patient", q("gender=female,male", "_sort=-family"), "p5,p3,p1,p2"},
		{"obs-date", "Observation", q("_sort=date"), "obs6,obs3,obs1,obs2,obs4,obs5"},
		{"obs-quantity-desc", "Observation", q("_sort=-value-quantity,_id"), "obs3,obs2,obs1,obs4,obs5,obs6"},
		{"paged-sort", "Patient", q("_sort=family", "_count=2"), "p2,p1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.Search(context.Background(), SearchRequest{Type: c.typ, Params: c.params})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := split(res)
			if !slices.Equal(got, list(c.want)) {
				t.Errorf("%s?%s\n got %v\nwant %v", c.typ, c.params.Encode(), got, list(c.want))
			}
		})
	}
	t.Run("unknown-key", func(t *testing.T) {
		_, err := s.Search(context.Background(), SearchRequest{Type: "Patient", Params: q("_sort=nope")})
		if ErrorCode(err) != EInvalid {
			t.Errorf("_sort=nope: err %v, want EInvalid", err)
		}
	})
}

// pageAll follows Next cursors to the end, calling between after every page but the last.
func pageAll(t *testing.T, s *Store, req SearchRequest, between func(page int)) (ids []string, pages int) {
	t.Helper()
	return pageAllCtx(context.Background(), t, s, req, between)
}

func pageAllCtx(ctx context.Context, t *testing.T, s *Store, req SearchRequest, between func(page int)) (ids []string, pages int) {
	t.Helper()
	res, err := s.Search(ctx, req)
	for {
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		m, _ := split(res)
		ids = append(ids, m...)
		if res.Next == "" || pages > 100 {
			return ids, pages
		}
		if between != nil {
			between(pages)
		}
		res, err = s.Search(ctx, SearchRequest{Cursor: res.Next})
	}
}

func checkOnce(t *testing.T, got []string, want string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("%s returned twice (all pages: %v)", id, got)
		}
	}
	for _, id := range list(want) {
		if seen[id] == 0 {
			t.Errorf("%s never returned (all pages: %v)", id, got)
		}
	}
}

func TestSearchPaging(t *testing.T) {
	ctx := context.Background()
	t.Run("default-order", func(t *testing.T) {
		s := newFixtureStore(t)
		ids, pages := pageAll(t, s.Store, SearchRequest{Type: "Observation", Params: q("_count=2")}, nil)
		if pages != 3 {
			t.Errorf("%d pages, want 3", pages)
		}
		checkOnce(t, ids, "obs1,obs2,obs3,obs4,obs5,obs6")
		if len(ids) != 6 {
			t.Errorf("got %v", ids)
		}
	})
	t.Run("count-1-filtered", func(t *testing.T) {
		s := newFixtureStore(t)
		ids, _ := pageAll(t, s.Store, SearchRequest{Type: "Observation", Params: q("code=2339-0", "_count=1")}, nil)
		if !slices.Equal(sorted(ids), list("obs1,obs2,obs4")) {
			t.Errorf("got %v", ids)
		}
	})
	t.Run("exact-multiple-no-empty-page", func(t *testing.T) {
		s := newFixtureStore(t)
		ids, pages := pageAll(t, s.Store, SearchRequest{Type: "Observation", Params: q("_count=3")}, nil)
		if pages != 2 || len(ids) != 6 {
			t.Errorf("%d pages, ids %v; want 2 pages of 3", pages, ids)
		}
	})
	t.Run("sorted", func(t *testing.T) {
		s := newFixtureStore(t)
		ids, _ := pageAll(t, s.Store, SearchRequest{Type: "Patient", Params: q("_sort=family", "_count=2")}, nil)
		if !slices.Equal(ids, list("p2,p1,p3,p4,p5")) {
			t.Errorf("got %v", ids)
		}
	})
	t.Run("create-between-pages-default-order", func(t *testing.T) {
		s := newFixtureStore(t)
		ids, _ := pageAll(t, s.Store, SearchRequest{Type: "Patient", Params: q("_count=2")}, func(page int) {
			if page == 1 {
				body := `{"resourceType":"Patient","id":"new1","name":[{"family":"Aaron"}]}`
				if _, _, err := s.Update(ctx, "Patient", "new1", []byte(body), WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		})
		checkOnce(t, ids, "p1,p2,p3,p4,p5")
	})
	t.Run("create-between-pages-sorted", func(t *testing.T) {
		// A new resource sorting before the page already served must not shift the
		// rest: every original match exactly once.
		s := newFixtureStore(t)
		ids, _ := pageAll(t, s.Store, SearchRequest{Type: "Patient", Params: q("_sort=family", "_count=2")}, func(page int) {
			if page == 1 {
				body := `{"resourceType":"Patient","id":"new1","name":[{"family":"Aaron"}]}`
				if _, _, err := s.Update(ctx, "Patient", "new1", []byte(body), WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		})
		checkOnce(t, ids, "p1,p2,p3,p4,p5")
	})
	t.Run("delete-between-pages-sorted", func(t *testing.T) {
		s := newFixtureStore(t)
		ids, _ := pageAll(t, s.Store, SearchRequest{Type: "Patient", Params: q("_sort=family", "_count=2")}, func(page int) {
			if page == 1 {
				if err := s.Delete(ctx, "Patient", "p2", WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		})
		checkOnce(t, ids, "p1,p3,p4,p5")
	})
	t.Run("total-on-first-page", func(t *testing.T) {
		s := newFixtureStore(t)
		res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("_count=2")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == nil || *res.Total != 6 {
			t.Errorf("Total = %v, want 6", res.Total)
		}
		if len(res.Entries) != 2 || res.Next == "" {
			t.Errorf("%d entries, next %q", len(res.Entries), res.Next)
		}
	})
	t.Run("count-cap", func(t *testing.T) {
		s := newFixtureStore(t)
		res, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: q("_count=100000")})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Self.Get("_count"); got != "1000" {
			t.Errorf("Self _count = %q, want the cap 1000", got)
		}
	})
	t.Run("tampered-cursor", func(t *testing.T) {
		s := newFixtureStore(t)
		res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("code=2339-0", "_count=1")})
		if err != nil || res.Next == "" {
			t.Fatalf("no next: %v", err)
		}
		body, sig, _ := strings.Cut(res.Next, ".")
		// Flip one character of the body, keeping it valid base64.
		b := []byte(body)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		for _, tok := range []string{string(b) + "." + sig, body + ".x" + sig[1:], "garbage", body} {
			if _, err := s.Search(ctx, SearchRequest{Cursor: tok}); ErrorCode(err) != EInvalid {
				t.Errorf("cursor %q: err %v, want EInvalid", tok, err)
			}
		}
		// A cursor from another store (another key) is refused too.
		other := newFixtureStore(t)
		if _, err := other.Search(ctx, SearchRequest{Cursor: res.Next}); ErrorCode(err) != EInvalid {
			t.Errorf("foreign cursor: err %v, want EInvalid", err)
		}
	})
}

func TestSearchTotalSummary(t *testing.T) {
	s := newFixtureStore(t)
	ctx := context.Background()
	res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("code=2339-0", "_total=none")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != nil {
		t.Errorf("_total=none: Total = %d, want nil", *res.Total)
	}
	if m, _ := split(res); len(m) != 3 {
		t.Errorf("_total=none: %d matches, want 3", len(m))
	}
	for _, tot := range []string{"accurate", "estimate"} {
		res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("code=2339-0", "_total="+tot, "_count=1")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == nil || *res.Total != 3 {
			t.Errorf("_total=%s: Total = %v, want 3", tot, res.Total)
		}
		if res.Next != "" {
			next, err := s.Search(ctx, SearchRequest{Cursor: res.Next})
			if err != nil {
				t.Fatal(err)
			}
			if next.Total == nil || *next.Total != 3 {
				t.Errorf("_total=%s second page: Total = %v, want 3", tot, next.Total)
			}
		}
	}
	res, err = s.Search(ctx, SearchRequest{Type: "Observation", Params: q("category=laboratory", "_summary=count", "_include=Observation:patient")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 0 || res.Next != "" {
		t.Errorf("_summary=count: %d entries, next %q; want none", len(res.Entries), res.Next)
	}
	if res.Total == nil || *res.Total != 4 {
		t.Errorf("_summary=count: Total = %v, want 4", res.Total)
	}
	res, err = s.Search(ctx, SearchRequest{Type: "Observation", Params: q("_count=0")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 0 || res.Total == nil || *res.Total != 6 {
		t.Errorf("_count=0: %d entries, Total %v; want 0 and 6", len(res.Entries), res.Total)
	}
}

func TestSearchSystemCompartmentEverything(t *testing.T) {
	s := newFixtureStore(t)
	ctx := context.Background()
	refs := func(res *SearchResult, mode string) []string {
		var out []string
		for _, e := range res.Entries {
			if e.Mode == mode {
				out = append(out, e.Type+"/"+e.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name     string
		req      SearchRequest
		matches  string
		includes string
	}{
		{"type-list", SearchRequest{Params: q("_type=Patient,Organization", "name=a")}, "Organization/o1,Patient/p2", ""},
		{"type-list-one", SearchRequest{Params: q("_type=Organization")}, "Organization/o1,Organization/o2", ""},
		{"system-id", SearchRequest{Params: q("_id=p1,o2")}, "Organization/o2,Patient/p1", ""},
		{"system-tag", SearchRequest{Params: q("_tag=vip")}, "Patient/p1", ""},
		{"compartment-obs", SearchRequest{Type: "Observation", Compartment: &CompartmentRef{"Patient", "p1"}}, "Observation/obs1,Observation/obs3", ""},
		{"compartment-obs-filtered", SearchRequest{Type: "Observation", Params: q("code=8867-4"), Compartment: &CompartmentRef{"Patient", "p1"}}, "Observation/obs3", ""},
		{"compartment-enc", SearchRequest{Type: "Encounter", Compartment: &CompartmentRef{"Patient", "p2"}}, "Encounter/e3", ""},
		{"compartment-all", SearchRequest{Compartment: &CompartmentRef{"Patient", "p2"}}, "Encounter/e3,Observation/obs2,Patient/p2", ""},
		{"compartment-empty", SearchRequest{Type: "Observation", Compartment: &CompartmentRef{"Patient", "p4"}}, "", ""},
		{"everything", SearchRequest{Everything: true, Compartment: &CompartmentRef{"Patient", "p1"}},
			"Encounter/e1,Encounter/e2,Observation/obs1,Observation/obs3,Patient/p1", "Organization/o1,Practitioner/pr1"},
		{"everything-p2", SearchRequest{Everything: true, Compartment: &CompartmentRef{"Patient", "p2"}},
			"Encounter/e3,Observation/obs2,Patient/p2", "Organization/o2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.Search(ctx, c.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := refs(res, "match"); !slices.Equal(got, sorted(list(c.matches))) {
				t.Errorf("matches %v, want %v", got, sorted(list(c.matches)))
			}
			if got := refs(res, "include"); !slices.Equal(got, sorted(list(c.includes))) {
				t.Errorf("includes %v, want %v", got, sorted(list(c.includes)))
			}
		})
	}
	t.Run("everything-all-patients", func(t *testing.T) {
		res, err := s.Search(ctx, SearchRequest{Everything: true, Params: q("_count=1000")})
		if err != nil {
			t.Fatal(err)
		}
		got := refs(res, "match")
		for _, want := range list("Patient/p1,Patient/p5,Observation/obs2,Encounter/e3") {
			if !slices.Contains(got, want) {
				t.Errorf("%s missing from Patient/$everything: %v", want, got)
			}
		}
		for _, not := range list("Observation/obs6,ValueSet/vs1,Observation/obs4") {
			if slices.Contains(got, not) {
				t.Errorf("%s is in no patient compartment but was matched", not)
			}
		}
	})
	t.Run("everything-paged", func(t *testing.T) {
		ids, pages := pageAll(t, s.Store, SearchRequest{Everything: true, Compartment: &CompartmentRef{"Patient", "p1"}, Params: q("_count=2")}, nil)
		if pages != 3 {
			t.Errorf("%d pages, want 3", pages)
		}
		checkOnce(t, ids, "p1,obs1,obs3,e1,e2")
	})
}

func TestSearchUnknownAndInvalid(t *testing.T) {
	s := newFixtureStore(t)
	ctx := context.Background()
	t.Run("lenient-unknown", func(t *testing.T) {
		res, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: q("foo=bar", "family=muller")})
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := split(res); !slices.Equal(m, []string{"p1"}) {
			t.Errorf("matches %v, want [p1] (foo ignored)", m)
		}
		if len(res.Warnings) != 1 || res.Warnings[0].Path != "foo" {
			t.Errorf("warnings %+v, want one about foo", res.Warnings)
		}
		if res.Self.Has("foo") || res.Self.Get("family") != "muller" {
			t.Errorf("Self = %v: want family kept and foo dropped", res.Self)
		}
	})
	t.Run("lenient-unknown-modifier-chain", func(t *testing.T) {
		res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("nope:exact=1")})
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := split(res); len(m) != 6 || res.Self.Has("nope:exact") {
			t.Errorf("matches %v self %v", m, res.Self)
		}
	})
	strict := []struct {
		name   string
		typ    string
		params url.Values
		code   Code
	}{
		{"strict-unknown", "Patient", q("foo=bar"), EInvalid},
		{"bad-date", "Patient", q("birthdate=notadate"), EInvalid},
		{"bad-date-prefix", "Patient", q("birthdate=xx2020"), EInvalid},
		{"bad-number", "Observation", q("value-quantity=abc"), EInvalid},
		{"bad-count", "Patient", q("_count=abc"), EInvalid},
		{"negative-count", "Patient", q("_count=-1"), EInvalid},
		{"bad-missing", "Patient", q("gender:missing=maybe"), EInvalid},
		{"bad-modifier", "Patient", q("gender:exact=male"), EInvalid},
		{"bad-of-type", "Patient", q("identifier:of-type=MR"), EInvalid},
		{"bad-include", "Observation", q("_include=Observation"), EInvalid},
		{"bad-include-param", "Observation", q("_include=Observation:nope"), EInvalid},
		{"bad-has", "Patient", q("_has:Observation:code=1"), EInvalid},
		{"bad-type", "", q("_type=Nope"), EInvalid},
		{"chain-not-reference", "Patient", q("gender.name=x"), EInvalid},
		{"chain-too-deep", "Observation", q("patient.organization.partof.partof.name=x"), ETooCostly},
		{"unknown-resource-type", "Nope", nil, ENotFound},
	}
	for _, c := range strict {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Search(ctx, SearchRequest{Type: c.typ, Params: c.params, Strict: true})
			if ErrorCode(err) != c.code {
				t.Errorf("%s?%s: err %v, want %s", c.typ, c.params.Encode(), err, c.code)
			}
			var e *Error
			if err != nil && !errorsAs(err, &e) {
				t.Errorf("error %T is not *Error", err)
			}
		})
	}
	// Malformed values are errors in lenient mode too.
	for _, p := range []url.Values{q("birthdate=notadate"), q("_count=abc")} {
		if _, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: p}); ErrorCode(err) != EInvalid {
			t.Errorf("lenient %s: err %v, want EInvalid", p.Encode(), err)
		}
	}
}

func errorsAs(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}

// openAt opens the store at path, for tests that close and reopen it themselves.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
