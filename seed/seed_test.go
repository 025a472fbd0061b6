package seed

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"fhirbox/fhirstore/r4"
)

var reID = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)

func collect(t testing.TB, opts Options) []Resource {
	t.Helper()
	var out []Resource
	if err := Generate(opts, func(r Resource) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func digest(rs []Resource) [32]byte {
	h := sha256.New()
	for _, r := range rs {
		h.Write([]byte(r.Type + "/" + r.ID + "\n"))
		h.Write(r.JSON)
		h.Write([]byte{'\n'})
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

func TestDeterministic(t *testing.T) {
	a := collect(t, Options{Patients: 25, Seed: 42})
	b := collect(t, Options{Patients: 25, Seed: 42})
	if len(a) != len(b) || digest(a) != digest(b) {
		t.Fatalf("same seed gave different output (%d vs %d resources)", len(a), len(b))
	}
	c := collect(t, Options{Patients: 25, Seed: 43})
	if digest(a) == digest(c) {
		t.Fatal("different seeds gave identical output")
	}
	// Zero Now means DefaultNow, not the clock.
	d := collect(t, Options{Patients: 25, Seed: 42, Now: DefaultNow})
	if digest(a) != digest(d) {
		t.Fatal("zero Now differs from DefaultNow")
	}
	// A patient does not depend on how many come after it.
	small := collect(t, Options{Patients: 3, Seed: 42})
	for i, r := range small {
		if !bytes.Equal(r.JSON, a[i].JSON) {
			t.Fatalf("%s/%s differs between population sizes", r.Type, r.ID)
		}
	}
}

// walkRefs calls fn with every Reference.reference string in v.
func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				fn(s)
			} else {
				walkRefs(e, fn)
			}
		}
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	}
}

func TestResourcesValid(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	rs := collect(t, Options{Patients: 40, Seed: 7, Now: now})
	seen := map[string]bool{}
	for _, r := range rs {
		key := r.Type + "/" + r.ID
		if !reID.MatchString(r.ID) {
			t.Errorf("invalid id %q", key)
		}
		if seen[key] {
			t.Errorf("duplicate id %s", key)
		}
		prefix := `{"resourceType":"` + r.Type + `","id":"` + r.ID + `",`
		if !bytes.HasPrefix(r.JSON, []byte(prefix)) {
			t.Errorf("%s: JSON does not start with %s", key, prefix)
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(r.JSON))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if _, ok := m["meta"]; ok {
			t.Errorf("%s has meta", key)
		}
		if issues := r4.Validate(m); len(issues) > 0 {
			t.Errorf("%s: %d validation issues, first: %+v", key, len(issues), issues[0])
		}
		// Every reference resolves to a resource emitted earlier.
		walkRefs(m, func(ref string) {
			if !seen[ref] && ref != key {
				t.Errorf("%s: reference %q does not resolve to an earlier resource", key, ref)
			}
		})
		// Dates lie before the reference date.
		for _, f := range []string{"effectiveDateTime", "issued", "authoredOn", "occurrenceDateTime", "performedDateTime", "onsetDateTime", "abatementDateTime", "recordedDate", "birthDate"} {
			if s, ok := m[f].(string); ok && s > now.Format(time.RFC3339) {
				t.Errorf("%s: %s %s is after Now", key, f, s)
			}
		}
		seen[key] = true
	}
}

func TestVitalSigns(t *testing.T) {
	rs := collect(t, Options{Patients: 30, Seed: 3})
	want := []string{"8867-4", "9279-1", "8310-5", "29463-7", "8302-2", "39156-5", "59408-5", "85354-9"}
	found := map[string]map[string]bool{} // patient -> LOINC codes
	for _, r := range rs {
		if r.Type == "Patient" {
			found["Patient/"+r.ID] = map[string]bool{}
		}
		if r.Type != "Observation" || !bytes.Contains(r.JSON, []byte(`"vital-signs"`)) {
			continue
		}
		var o struct {
			Code struct {
				Coding []struct{ System, Code string }
			}
			Subject       struct{ Reference string }
			ValueQuantity *struct {
				Value        json.Number
				System, Code string
			}
			Component []struct {
				ValueQuantity struct{ System, Code string }
			}
		}
		if err := json.Unmarshal(r.JSON, &o); err != nil {
			t.Fatal(err)
		}
		if o.Code.Coding[0].System != sysLOINC {
			t.Errorf("%s: code system %s", r.ID, o.Code.Coding[0].System)
		}
		if o.ValueQuantity != nil {
			if o.ValueQuantity.System != sysUCUM || o.ValueQuantity.Code == "" {
				t.Errorf("%s: value not UCUM: %+v", r.ID, o.ValueQuantity)
			}
		} else if len(o.Component) != 2 {
			t.Errorf("%s: neither value nor BP components", r.ID)
		}
		for _, c := range o.Component {
			if c.ValueQuantity.System != sysUCUM || c.ValueQuantity.Code != "mm[Hg]" {
				t.Errorf("%s: component not UCUM mm[Hg]", r.ID)
			}
		}
		found[o.Subject.Reference][o.Code.Coding[0].Code] = true
	}
	if len(found) != 30 {
		t.Fatalf("%d patients", len(found))
	}
	for p, codes := range found {
		for _, c := range want {
			if !codes[c] {
				t.Errorf("%s has no %s vital sign", p, c)
			}
		}
	}
}

func TestVolumeAndTypes(t *testing.T) {
	const n = 200
	counts := map[string]int{}
	if err := Generate(Options{Patients: n, Seed: 1}, func(r Resource) error { counts[r.Type]++; return nil }); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	perPatient := float64(total-numOrganizations-numLocations-numPractitioners(n)) / n
	t.Logf("%d resources, %.1f per patient: %v", total, perPatient, counts)
	if perPatient < 100 {
		t.Errorf("only %.1f resources per patient", perPatient)
	}
	for _, typ := range []string{"Patient", "Encounter", "Condition", "Observation", "DiagnosticReport", "MedicationRequest", "AllergyIntolerance", "Immunization", "Procedure", "CarePlan", "CareTeam", "Practitioner", "Organization", "Location"} {
		if counts[typ] == 0 {
			t.Errorf("no %s generated", typ)
		}
	}
	if counts["CarePlan"] != n || counts["CareTeam"] != n || counts["Patient"] != n {
		t.Errorf("want one CarePlan and CareTeam per patient: %v", counts)
	}
}

func TestDemoFixtures(t *testing.T) {
	rs := collect(t, Options{Patients: DefaultPatients, Seed: 99})
	byKey := map[string][]byte{}
	for _, r := range rs {
		byKey[r.Type+"/"+r.ID] = r.JSON
	}
	for _, id := range append(append([]string{}, DemoPatientIDs...), DemoOrganizationID, DemoLocationID) {
		typ := map[string]string{"pat": "Patient", "org": "Organization", "loc": "Location"}[id[:3]]
		if byKey[typ+"/"+id] == nil {
			t.Errorf("fixed id %s/%s missing", typ, id)
		}
	}
	for _, id := range DemoPractitionerIDs {
		if byKey["Practitioner/"+id] == nil {
			t.Errorf("demo practitioner %s missing", id)
		}
	}
	users := DemoUsers()
	if len(users) != 6 {
		t.Fatalf("%d demo users", len(users))
	}
	names := map[string]bool{}
	for _, u := range users {
		if u.Username == "" || u.Password == "" || names[u.Username] {
			t.Errorf("bad user %+v", u)
		}
		names[u.Username] = true
		js := byKey[u.FHIRUser]
		if js == nil {
			t.Errorf("%s: fhirUser %s not generated", u.Username, u.FHIRUser)
			continue
		}
		// The user's display name appears in the resource's name.
		parts := strings.Fields(strings.TrimPrefix(u.Name, "Dr. "))
		for _, p := range parts {
			if !bytes.Contains(js, []byte(`"`+p+`"`)) {
				t.Errorf("%s: name part %q not in %s", u.Username, p, u.FHIRUser)
			}
		}
	}
	if !names["dr.smith"] || !names["patient1"] {
		t.Errorf("expected dr.smith and patient1 in %v", names)
	}
}

func TestDemoClients(t *testing.T) {
	cs := DemoClients("http://localhost:8080/")
	by := map[string]DemoClient{}
	for _, c := range cs {
		by[c.ID] = c
	}
	s := by["sample-app"]
	if !s.Public || s.Secret != "" || s.AuthMethod != "none" || len(s.RedirectURIs) == 0 || s.RedirectURIs[0] != "http://localhost:8080/app/callback.html" {
		t.Errorf("sample-app: %+v", s)
	}
	c := by["confidential-app"]
	if c.Public || c.Secret != "secret" || c.AuthMethod != "client_secret_basic" {
		t.Errorf("confidential-app: %+v", c)
	}
	b := by["backend-service"]
	if b.Public || b.AuthMethod != "private_key_jwt" || b.Scope != "system/*.rs" || len(b.GrantTypes) != 1 || b.GrantTypes[0] != "client_credentials" {
		t.Errorf("backend-service: %+v", b)
	}
}

func TestEmitError(t *testing.T) {
	stop := errStop{}
	n := 0
	err := Generate(Options{Patients: 5}, func(Resource) error {
		n++
		if n == 100 {
			return stop
		}
		return nil
	})
	if err != stop || n != 100 {
		t.Fatalf("err %v after %d", err, n)
	}
}

type errStop struct{}

func (errStop) Error() string { return "stop" }

func BenchmarkGenerate(b *testing.B) {
	const patients = 100
	total := 0
	for b.Loop() {
		if err := Generate(Options{Patients: patients, Seed: 1}, func(Resource) error { total++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(total)/float64(b.N)/patients, "resources/patient")
}
