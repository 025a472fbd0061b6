package seed

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"slices"
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
	// Zero Start means DefaultStart, not the clock.
	d := collect(t, Options{Patients: 25, Seed: 42, Start: DefaultStart})
	if digest(a) != digest(d) {
		t.Fatal("zero Start differs from DefaultStart")
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
	rs := collect(t, Options{Patients: 40, Seed: 7, Start: now})
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
		// meta carries a US Core profile and nothing the server owns.
		if meta, _ := m["meta"].(map[string]any); len(meta) != 1 {
			t.Errorf("%s: meta %v, want only profile", key, m["meta"])
		} else if ps, _ := meta["profile"].([]any); len(ps) != 1 || !strings.HasPrefix(ps[0].(string), usCore+"us-core-") {
			t.Errorf("%s: meta.profile %v", key, meta["profile"])
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
	by := map[string]DemoClient{}
	for _, c := range DemoClients() {
		by[c.ID] = c
	}
	s := by[SampleAppClientID]
	if !s.Public || s.Secret != "" || s.AuthMethod != "none" || !slices.Contains(s.GrantTypes, "authorization_code") {
		t.Errorf("sample-app: %+v", s)
	}
	if got := s.RedirectURIs("http://localhost:8080/"); !slices.Equal(got, []string{"http://localhost:8080/app/callback.html"}) {
		t.Errorf("sample-app redirect URIs %v", got)
	}
	if got := s.LaunchURL("https://ehr.example:9443"); got != "https://ehr.example:9443/app/launch.html" {
		t.Errorf("sample-app launch URL %q", got)
	}
	for _, sc := range []string{"openid", "fhirUser", "launch", "launch/patient", "patient/*.rs"} {
		if !slices.Contains(strings.Fields(s.Scope), sc) {
			t.Errorf("sample-app scope lacks %s", sc)
		}
	}
	c := by[ConfidentialAppClientID]
	if c.Public || c.Secret != "secret" || c.AuthMethod != "client_secret_basic" {
		t.Errorf("confidential-app: %+v", c)
	}
	if got := c.RedirectURIs("http://localhost:8080"); len(got) == 0 || got[0] != "http://localhost:3000/callback" {
		t.Errorf("confidential-app redirect URIs %v", got)
	}
	b := by[BackendServiceClientID]
	if b.Public || b.AuthMethod != "private_key_jwt" || b.SigningAlg != "ES384" || b.Scope != "system/*.rs" ||
		!slices.Equal(b.GrantTypes, []string{"client_credentials"}) || len(b.Redirects) != 0 {
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

// TestClinicalCoherence checks that chronic conditions drive treatment: every diagnosed
// condition with a drug has exactly one active prescription for it (older ones are
// completed renewals), each citing the condition, and diabetics get HbA1c panels.
func TestClinicalCoherence(t *testing.T) {
	rs := collect(t, Options{Patients: 60, Seed: 11})
	type rx struct {
		Status                    string
		MedicationCodeableConcept struct{ Coding []struct{ Code string } }
		ReasonReference           []struct{ Reference string }
	}
	active := map[string]int{} // condition + drug -> active prescriptions
	conds := map[string]string{}
	a1c := map[string]bool{}
	for _, r := range rs {
		switch r.Type {
		case "Condition":
			var c struct {
				Code    struct{ Coding []struct{ Code string } }
				Subject struct{ Reference string }
			}
			json.Unmarshal(r.JSON, &c)
			conds["Condition/"+r.ID] = c.Code.Coding[0].Code
		case "MedicationRequest":
			var m rx
			json.Unmarshal(r.JSON, &m)
			if len(m.ReasonReference) != 1 || conds[m.ReasonReference[0].Reference] == "" {
				t.Fatalf("%s: reason %v is not an earlier Condition", r.ID, m.ReasonReference)
			}
			key := m.ReasonReference[0].Reference + " " + m.MedicationCodeableConcept.Coding[0].Code
			if m.Status == "active" {
				active[key]++
			} else if _, ok := active[key]; !ok {
				active[key] = 0
			}
		case "Observation":
			if bytes.Contains(r.JSON, []byte(`"code":"4548-4"`)) {
				var o struct{ Subject struct{ Reference string } }
				json.Unmarshal(r.JSON, &o)
				a1c[o.Subject.Reference] = true
			}
		}
	}
	for k, n := range active {
		if n != 1 {
			t.Errorf("%s: %d active prescriptions, want 1", k, n)
		}
	}
	hasDrug := map[string]bool{}
	for k := range active {
		hasDrug[strings.Fields(k)[0]] = true
	}
	for id, code := range conds {
		if code == "38341003" && !hasDrug[id] {
			t.Errorf("hypertension %s is untreated", id)
		}
	}
	for _, r := range rs {
		if r.Type == "Condition" && bytes.Contains(r.JSON, []byte(`"code":"44054006"`)) {
			var c struct{ Subject struct{ Reference string } }
			json.Unmarshal(r.JSON, &c)
			if !a1c[c.Subject.Reference] {
				t.Errorf("diabetic %s has no HbA1c", c.Subject.Reference)
			}
		}
	}
}
