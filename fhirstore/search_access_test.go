package fhirstore

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Two extra Observations cross the compartments through Observation.focus, which is not a
// Patient compartment parameter: leak1 is p1's (subject p1) and points at p2; leak2 is p2's
// and points at p1. They let chains, _has and includes try to reach the other patient.
var accessFixture = []struct{ typ, id, body string }{
	{"Observation", "leak1", `{"resourceType":"Observation","id":"leak1","status":"final",
		"code":{"coding":[{"system":"http://local","code":"L1"}]},
		"subject":{"reference":"Patient/p1"},"focus":[{"reference":"Patient/p2"}]}`},
	{"Observation", "leak2", `{"resourceType":"Observation","id":"leak2","status":"final",
		"code":{"coding":[{"system":"http://local","code":"L2"}]},
		"subject":{"reference":"Patient/p2"},"focus":[{"reference":"Patient/p1"}]}`},
}

func newAccessStore(t *testing.T) *fixtureStore {
	t.Helper()
	s := newFixtureStore(t)
	loadFixture(t, s.Store, accessFixture)
	return s
}

// p2Data is everything that belongs to p2 alone (p2's compartment).
var p2Data = []string{"Patient/p2", "Observation/obs2", "Observation/leak2", "Encounter/e3"}

func p1Only() *Access {
	return &Access{Rules: []AccessRule{{Scope: "patient/*.rs", Type: "*", Interactions: "rs", Patient: "p1"}}, Level: "patient", Patient: "p1"}
}

func refsOf(res *SearchResult) (matches, includes []string) {
	for _, e := range res.Entries {
		if e.Mode == "match" {
			matches = append(matches, e.Type+"/"+e.ID)
		} else {
			includes = append(includes, e.Type+"/"+e.ID)
		}
	}
	slices.Sort(matches)
	slices.Sort(includes)
	return matches, includes
}

func TestAccessPatientSearch(t *testing.T) {
	s := newAccessStore(t)
	ctx := WithAccess(context.Background(), p1Only())
	cases := []struct {
		name     string
		req      SearchRequest
		matches  string
		includes string
	}{
		{"patients", SearchRequest{Type: "Patient"}, "Patient/p1", ""},
		{"patients-by-id", SearchRequest{Type: "Patient", Params: q("_id=p1,p2")}, "Patient/p1", ""},
		{"patient-p2-by-name", SearchRequest{Type: "Patient", Params: q("family=miller")}, "", ""},
		{"observations", SearchRequest{Type: "Observation"}, "Observation/leak1,Observation/obs1,Observation/obs3", ""},
		{"observations-code", SearchRequest{Type: "Observation", Params: q("code=2339-0")}, "Observation/obs1", ""},
		{"observations-of-p2", SearchRequest{Type: "Observation", Params: q("patient=p2")}, "", ""},
		{"encounters", SearchRequest{Type: "Encounter"}, "Encounter/e1,Encounter/e2", ""},
		{"orgs-not-in-compartment", SearchRequest{Type: "Organization"}, "", ""},
		{"system", SearchRequest{Params: q("_count=1000")},
			"Encounter/e1,Encounter/e2,Observation/leak1,Observation/obs1,Observation/obs3,Patient/p1", ""},
		{"system-type", SearchRequest{Params: q("_type=Patient,Encounter")}, "Encounter/e1,Encounter/e2,Patient/p1", ""},
		{"include", SearchRequest{Type: "Observation", Params: q("_include=Observation:patient")},
			"Observation/leak1,Observation/obs1,Observation/obs3", "Patient/p1"},
		{"include-focus", SearchRequest{Type: "Observation", Params: q("_id=leak1", "_include=Observation:focus")}, "Observation/leak1", ""},
		{"include-star", SearchRequest{Type: "Observation", Params: q("_id=leak1", "_include=*")}, "Observation/leak1", "Patient/p1"},
		{"revinclude", SearchRequest{Type: "Patient", Params: q("_revinclude=Observation:patient")},
			"Patient/p1", "Observation/leak1,Observation/obs1,Observation/obs3"},
		{"revinclude-focus", SearchRequest{Type: "Patient", Params: q("_revinclude=Observation:focus")}, "Patient/p1", ""},
		{"revinclude-star", SearchRequest{Type: "Patient", Params: q("_revinclude=*")},
			"Patient/p1", "Encounter/e1,Encounter/e2,Observation/leak1,Observation/obs1,Observation/obs3"},
		{"chain-into-p2", SearchRequest{Type: "Observation", Params: q("focus:Patient.gender=female")}, "", ""},
		{"chain-into-p2-name", SearchRequest{Type: "Observation", Params: q("focus:Patient.family=miller")}, "", ""},
		{"chain-own", SearchRequest{Type: "Observation", Params: q("patient.family=muller")},
			"Observation/leak1,Observation/obs1,Observation/obs3", ""},
		{"has-from-p2", SearchRequest{Type: "Patient", Params: q("_has:Observation:focus:code=L2")}, "", ""},
		{"has-own", SearchRequest{Type: "Patient", Params: q("_has:Observation:patient:code=8867-4")}, "Patient/p1", ""},
		{"compartment-p1", SearchRequest{Type: "Observation", Compartment: &CompartmentRef{"Patient", "p1"}},
			"Observation/leak1,Observation/obs1,Observation/obs3", ""},
		{"compartment-p2", SearchRequest{Type: "Observation", Compartment: &CompartmentRef{"Patient", "p2"}}, "", ""},
		{"compartment-p2-all", SearchRequest{Compartment: &CompartmentRef{"Patient", "p2"}}, "", ""},
		{"everything-p1", SearchRequest{Everything: true, Compartment: &CompartmentRef{"Patient", "p1"}},
			"Encounter/e1,Encounter/e2,Observation/leak1,Observation/obs1,Observation/obs3,Patient/p1", ""},
		{"everything-p2", SearchRequest{Everything: true, Compartment: &CompartmentRef{"Patient", "p2"}}, "", ""},
		{"everything-all", SearchRequest{Everything: true},
			"Encounter/e1,Encounter/e2,Observation/leak1,Observation/obs1,Observation/obs3,Patient/p1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.Search(ctx, c.req)
			if err != nil {
				t.Fatal(err)
			}
			m, inc := refsOf(res)
			for _, r := range append(slices.Clone(m), inc...) {
				if slices.Contains(p2Data, r) {
					t.Errorf("p2's %s returned", r)
				}
			}
			if !slices.Equal(m, sorted(list(c.matches))) {
				t.Errorf("matches %v, want %v", m, sorted(list(c.matches)))
			}
			if !slices.Equal(inc, sorted(list(c.includes))) {
				t.Errorf("includes %v, want %v", inc, sorted(list(c.includes)))
			}
			if res.Total != nil && *res.Total != len(list(c.matches)) {
				t.Errorf("Total = %d, want %d (only what the caller may see)", *res.Total, len(list(c.matches)))
			}
		})
	}
	t.Run("total-accurate", func(t *testing.T) {
		res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("_total=accurate", "_count=1")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == nil || *res.Total != 3 {
			t.Errorf("Total = %v, want 3", res.Total)
		}
		ids, _ := pageAllCtx(ctx, t, s.Store, SearchRequest{Type: "Observation", Params: q("_count=1")}, nil)
		checkOnce(t, ids, "obs1,obs3,leak1")
		if len(ids) != 3 {
			t.Errorf("paged ids %v, want 3 (the cursor is replayed without the access filter?)", ids)
		}
	})
	t.Run("cursor-replayed-under-other-access", func(t *testing.T) {
		// A cursor made by an unrestricted caller must not widen a restricted one.
		res, err := s.Search(context.Background(), SearchRequest{Type: "Observation", Params: q("_count=1")})
		if err != nil || res.Next == "" {
			t.Fatalf("no next: %v", err)
		}
		next, err := s.Search(ctx, SearchRequest{Cursor: res.Next})
		if err != nil {
			t.Fatal(err)
		}
		m, _ := refsOf(next)
		for _, r := range m {
			if slices.Contains(p2Data, r) {
				t.Errorf("p2's %s returned through a replayed cursor", r)
			}
		}
	})
	t.Run("summary-count", func(t *testing.T) {
		res, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: q("_summary=count")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == nil || *res.Total != 1 {
			t.Errorf("Total = %v, want 1", res.Total)
		}
	})
	t.Run("conditional-create-does-not-see-p2", func(t *testing.T) {
		// Under p1's access a conditional match must not find p2 (it would disclose it).
		sctx := WithAccess(context.Background(), &Access{Rules: []AccessRule{{Type: "*", Interactions: "cruds", Patient: "p1"}}})
		ids, err := s.match(sctx, s.r, "Patient", "identifier=http://hosp/mrn|MRN2")
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 0 {
			t.Errorf("conditional match found %v", ids)
		}
	})
}

func TestAccessTypesAndConstraints(t *testing.T) {
	s := newAccessStore(t)
	bg := context.Background()
	t.Run("type-without-rule", func(t *testing.T) {
		ctx := WithAccess(bg, &Access{Rules: []AccessRule{{Type: "Observation", Interactions: "rs"}}, Level: "user"})
		for _, req := range []SearchRequest{
			{Type: "Patient"},
			{Type: "Patient", Params: q("_id=p1")},
			{Params: q("_type=Patient")},
			{Params: q("_type=Observation,Patient")},
		} {
			_, err := s.Search(ctx, req)
			if ErrorCode(err) != EForbidden {
				t.Errorf("%s?%s: err %v, want EForbidden", req.Type, req.Params.Encode(), err)
			}
		}
		// A system search without _type just leaves the type out.
		res, err := s.Search(ctx, SearchRequest{Params: q("_count=1000")})
		if err != nil {
			t.Fatal(err)
		}
		m, _ := refsOf(res)
		for _, r := range m {
			if !strings.HasPrefix(r, "Observation/") {
				t.Errorf("system search returned %s", r)
			}
		}
		if len(m) != 8 {
			t.Errorf("system search: %d Observations, want 8", len(m))
		}
		// Chains, _has and includes may not reach into a type without a rule.
		for _, p := range []url.Values{q("patient.family=muller"), q("subject:Patient.gender=male")} {
			res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: p})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Entries) != 0 {
				t.Errorf("Observation?%s probed Patients: %d entries", p.Encode(), len(res.Entries))
			}
		}
		res, err = s.Search(ctx, SearchRequest{Type: "Observation", Params: q("_id=obs1", "_include=Observation:patient")})
		if err != nil {
			t.Fatal(err)
		}
		if _, inc := refsOf(res); len(inc) != 0 {
			t.Errorf("included %v without a Patient rule", inc)
		}
	})
	t.Run("search-only-no-read-includes", func(t *testing.T) {
		// "s" without "r": matches but includes need read.
		ctx := WithAccess(bg, &Access{Rules: []AccessRule{{Type: "Observation", Interactions: "rs"}, {Type: "Patient", Interactions: "s"}}})
		res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("_id=obs1", "_include=Observation:patient")})
		if err != nil {
			t.Fatal(err)
		}
		if _, inc := refsOf(res); len(inc) != 0 {
			t.Errorf("included %v without Patient read", inc)
		}
	})
	t.Run("granular-category", func(t *testing.T) {
		ctx := WithAccess(bg, &Access{Rules: []AccessRule{
			{Type: "Observation", Interactions: "rs", Constraints: url.Values{"category": {"laboratory"}}},
		}})
		res, err := s.Search(ctx, SearchRequest{Type: "Observation"})
		if err != nil {
			t.Fatal(err)
		}
		m, _ := refsOf(res)
		if want := list("Observation/obs1,Observation/obs2,Observation/obs4,Observation/obs5"); !slices.Equal(m, want) {
			t.Errorf("got %v, want %v", m, want)
		}
		res, err = s.Search(ctx, SearchRequest{Type: "Observation", Params: q("code=8867-4")})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != 0 || res.Total == nil || *res.Total != 0 {
			t.Errorf("vital signs visible: %d entries, Total %v", len(res.Entries), res.Total)
		}
	})
	t.Run("granular-category-and-patient", func(t *testing.T) {
		ctx := WithAccess(bg, &Access{Rules: []AccessRule{
			{Type: "Observation", Interactions: "rs", Patient: "p1", Constraints: url.Values{"category": {"laboratory"}}},
			{Type: "Patient", Interactions: "rs", Patient: "p1"},
		}})
		res, err := s.Search(ctx, SearchRequest{Type: "Observation"})
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := refsOf(res); !slices.Equal(m, list("Observation/obs1")) {
			t.Errorf("got %v, want [Observation/obs1]", m)
		}
		res, err = s.Search(ctx, SearchRequest{Type: "Patient", Params: q("_revinclude=Observation:patient")})
		if err != nil {
			t.Fatal(err)
		}
		if m, inc := refsOf(res); !slices.Equal(m, list("Patient/p1")) || !slices.Equal(inc, list("Observation/obs1")) {
			t.Errorf("got %v + %v, want [Patient/p1] + [Observation/obs1]", m, inc)
		}
		res, err = s.Search(ctx, SearchRequest{Type: "Patient", Params: q("_has:Observation:patient:code=8867-4")})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != 0 {
			t.Errorf("_has reached a vital-signs Observation outside the constraint")
		}
	})
	t.Run("two-alternatives", func(t *testing.T) {
		// Either lab results of anyone or anything of p2's: OR of alternatives.
		ctx := WithAccess(bg, &Access{Rules: []AccessRule{
			{Type: "Observation", Interactions: "rs", Constraints: url.Values{"category": {"laboratory"}}},
			{Type: "Observation", Interactions: "rs", Patient: "p2"},
		}})
		res, err := s.Search(ctx, SearchRequest{Type: "Observation"})
		if err != nil {
			t.Fatal(err)
		}
		want := list("Observation/leak2,Observation/obs1,Observation/obs2,Observation/obs4,Observation/obs5")
		if m, _ := refsOf(res); !slices.Equal(m, want) {
			t.Errorf("got %v, want %v", m, want)
		}
	})
	t.Run("unrestricted", func(t *testing.T) {
		ctx := WithAccess(bg, &Access{Rules: []AccessRule{{Type: "*", Interactions: "rs"}}})
		res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("_revinclude=*", "_include=*")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == nil || *res.Total != 8 {
			t.Errorf("Total = %v, want 8", res.Total)
		}
		_, inc := refsOf(res)
		if want := list("Patient/p1,Patient/p2,Practitioner/pr1"); !slices.Equal(inc, want) {
			t.Errorf("includes %v, want %v", inc, want)
		}
		res, err = s.Search(ctx, SearchRequest{Type: "Organization"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != 2 {
			t.Errorf("%d Organizations, want 2", len(res.Entries))
		}
	})
}

// deniedOrHidden is how a refused instance interaction may be answered: 403, or 404 so
// that the existence of another patient's resource is not disclosed.
func deniedOrHidden(err error) bool {
	c := ErrorCode(err)
	return c == EForbidden || c == ENotFound
}

// The access filter must confine every store call, not only Search (access.go: "The
// store applies it inside every query it runs for that request").
func TestAccessInstanceInteractions(t *testing.T) {
	s := newAccessStore(t)
	bg := context.Background()
	p1rs := WithAccess(bg, p1Only())
	p1all := WithAccess(bg, &Access{Rules: []AccessRule{{Type: "*", Interactions: "cruds", Patient: "p1"}}, Level: "patient"})
	obsOnly := WithAccess(bg, &Access{Rules: []AccessRule{{Type: "Observation", Interactions: "cruds"}}})

	t.Run("read-own", func(t *testing.T) {
		if _, err := s.Read(p1rs, "Patient", "p1"); err != nil {
			t.Errorf("Read Patient/p1: %v", err)
		}
		if _, err := s.Read(p1rs, "Observation", "obs1"); err != nil {
			t.Errorf("Read Observation/obs1: %v", err)
		}
	})
	t.Run("read", func(t *testing.T) {
		for _, r := range []struct {
			ctx     context.Context
			typ, id string
		}{
			{p1rs, "Patient", "p2"}, {p1rs, "Observation", "obs2"}, {p1rs, "Encounter", "e3"},
			{p1rs, "Observation", "leak2"}, {obsOnly, "Patient", "p1"},
		} {
			res, err := s.Read(r.ctx, r.typ, r.id)
			if !deniedOrHidden(err) {
				t.Errorf("Read %s/%s: got %v, err %v; want EForbidden or ENotFound", r.typ, r.id, res != nil, err)
			}
		}
	})
	t.Run("vread", func(t *testing.T) {
		if _, err := s.VRead(p1rs, "Patient", "p2", "1"); !deniedOrHidden(err) {
			t.Errorf("VRead Patient/p2/_history/1: err %v; want EForbidden or ENotFound", err)
		}
		if _, err := s.VRead(obsOnly, "Patient", "p1", "1"); !deniedOrHidden(err) {
			t.Errorf("VRead Patient/p1 without a Patient rule: err %v", err)
		}
	})
	t.Run("history", func(t *testing.T) {
		if _, err := s.History(p1rs, HistoryRequest{Type: "Patient", ID: "p2", Count: 10}); !deniedOrHidden(err) {
			t.Errorf("History Patient/p2: err %v; want EForbidden or ENotFound", err)
		}
		for _, req := range []HistoryRequest{{Type: "Patient", Count: 100}, {Type: "Observation", Count: 100}, {Count: 100}} {
			page, err := s.History(p1rs, req)
			if err != nil {
				t.Errorf("History %s: %v", req.Type, err)
				continue
			}
			for _, e := range page.Entries {
				if slices.Contains(p2Data, e.Type+"/"+e.ID) {
					t.Errorf("History %q shows p2's %s/%s", req.Type, e.Type, e.ID)
				}
			}
		}
		if _, err := s.History(obsOnly, HistoryRequest{Type: "Patient", Count: 10}); ErrorCode(err) != EForbidden {
			t.Errorf("Patient history without a Patient rule: err %v; want EForbidden", err)
		}
	})
	t.Run("update", func(t *testing.T) {
		body := `{"resourceType":"Patient","id":"p2","name":[{"family":"Hacked"}],"gender":"female"}`
		if _, _, err := s.Update(p1all, "Patient", "p2", []byte(body), WriteOptions{}); !deniedOrHidden(err) {
			t.Errorf("Update Patient/p2 under p1's scopes: err %v; want EForbidden", err)
		}
		own := `{"resourceType":"Patient","id":"p1","name":[{"family":"Müller"}],"gender":"male","birthDate":"1980"}`
		if _, _, err := s.Update(p1rs, "Patient", "p1", []byte(own), WriteOptions{}); ErrorCode(err) != EForbidden {
			t.Errorf("Update with only rs: err %v; want EForbidden", err)
		}
		if _, _, err := s.Update(p1all, "Patient", "p1", []byte(own), WriteOptions{}); err != nil {
			t.Errorf("Update own Patient/p1 with cruds: %v", err)
		}
		// Re-homing an Observation into another patient's compartment is refused too.
		move := `{"resourceType":"Observation","id":"obs1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`
		if _, _, err := s.Update(p1all, "Observation", "obs1", []byte(move), WriteOptions{}); ErrorCode(err) != EForbidden {
			t.Errorf("Update moving obs1 to p2: err %v; want EForbidden", err)
		}
	})
	t.Run("create", func(t *testing.T) {
		body := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
		if _, _, err := s.Create(p1rs, "Observation", []byte(body), WriteOptions{}); ErrorCode(err) != EForbidden {
			t.Errorf("Create with only rs: err %v; want EForbidden", err)
		}
		other := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`
		if _, _, err := s.Create(p1all, "Observation", []byte(other), WriteOptions{}); ErrorCode(err) != EForbidden {
			t.Errorf("Create in p2's compartment under p1's scopes: err %v; want EForbidden", err)
		}
	})
	t.Run("patch", func(t *testing.T) {
		patch := `[{"op":"replace","path":"/gender","value":"other"}]`
		if _, err := s.Patch(p1all, "Patient", "p2", []byte(patch), WriteOptions{}); !deniedOrHidden(err) {
			t.Errorf("Patch Patient/p2 under p1's scopes: err %v", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := s.Delete(p1all, "Patient", "p2", WriteOptions{}); !deniedOrHidden(err) {
			t.Errorf("Delete Patient/p2 under p1's scopes: err %v; want EForbidden", err)
		}
		if err := s.Delete(p1rs, "Observation", "obs1", WriteOptions{}); ErrorCode(err) != EForbidden {
			t.Errorf("Delete with only rs: err %v; want EForbidden", err)
		}
		if _, err := s.Read(bg, "Patient", "p2"); err != nil {
			t.Errorf("Patient/p2 after the refused delete: %v", err)
		}
	})
	t.Run("transaction", func(t *testing.T) {
		m, _ := decodeJSON([]byte(`{"resourceType":"Patient","id":"p2","gender":"other"}`))
		_, _, err := s.Transaction(p1all, []*TxEntry{{Method: "PUT", Type: "Patient", ID: "p2", Resource: m}}, TxOptions{})
		if !deniedOrHidden(err) {
			t.Errorf("transaction PUT Patient/p2 under p1's scopes: err %v", err)
		}
	})
}

// TestAccessPractitionerPanel: a rule confined to a practitioner's panel sees exactly the
// compartments of the patients whose generalPractitioner is that practitioner, read live.
func TestAccessPractitionerPanel(t *testing.T) {
	s := newAccessStore(t)
	bg := context.Background()
	setGP := func(id, body string) {
		t.Helper()
		if _, _, err := s.Update(bg, "Patient", id, []byte(body), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setGP("p1", `{"resourceType":"Patient","id":"p1","name":[{"family":"Smith"}],"generalPractitioner":[{"reference":"Practitioner/gp1"}]}`)
	panel := WithAccess(bg, &Access{Level: "user", Rules: []AccessRule{
		{Scope: "user/*.cruds", Type: "*", Interactions: "cruds", Practitioner: "gp1"}}})
	search := func(typ string, params url.Values) string {
		t.Helper()
		res, err := s.Search(panel, SearchRequest{Type: typ, Params: params})
		if err != nil {
			t.Fatalf("%s?%s: %v", typ, params.Encode(), err)
		}
		m, inc := refsOf(res)
		return strings.Join(append(m, inc...), ",")
	}
	if got := search("Patient", nil); got != "Patient/p1" {
		t.Errorf("Patient: %s, want Patient/p1", got)
	}
	if got := search("Observation", q("code=2339-0,L2")); got != "Observation/obs1" {
		t.Errorf("Observation?code (criteria drive): %s, want Observation/obs1", got)
	}
	if got := search("Observation", nil); got != "Observation/leak1,Observation/obs1,Observation/obs3" {
		t.Errorf("Observation: %s", got)
	}
	if _, err := s.Read(panel, "Patient", "p2"); ErrorCode(err) != ENotFound {
		t.Errorf("read Patient/p2 outside the panel: %v, want ENotFound", err)
	}
	if _, err := s.Read(panel, "Observation", "obs2"); ErrorCode(err) != ENotFound {
		t.Errorf("read Observation/obs2 outside the panel: %v, want ENotFound", err)
	}
	// Writing p2's Observation, or moving p1's out of the panel, is refused.
	if _, _, err := s.Update(panel, "Observation", "obs2", []byte(`{"resourceType":"Observation","id":"obs2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`), WriteOptions{}); ErrorCode(err) != ENotFound {
		t.Errorf("update of p2's Observation: %v, want ENotFound", err)
	}
	if _, _, err := s.Update(panel, "Observation", "obs1", []byte(`{"resourceType":"Observation","id":"obs1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`), WriteOptions{}); ErrorCode(err) != EForbidden {
		t.Errorf("moving obs1 to p2: %v, want EForbidden", err)
	}
	// Another practitioner's panel is empty.
	other := WithAccess(bg, &Access{Level: "user", Rules: []AccessRule{{Type: "*", Interactions: "rs", Practitioner: "gp2"}}})
	if res, err := s.Search(other, SearchRequest{Type: "Patient"}); err != nil || len(res.Entries) != 0 {
		t.Errorf("gp2's panel: %v entries, err %v; want none", len(res.Entries), err)
	}
	// Assigning p2 to gp1 puts p2's compartment in the panel at once.
	setGP("p2", `{"resourceType":"Patient","id":"p2","name":[{"family":"Miller"}],"generalPractitioner":[{"reference":"Practitioner/gp1"}]}`)
	if got := search("Patient", nil); got != "Patient/p1,Patient/p2" {
		t.Errorf("Patient after assigning p2: %s", got)
	}
	if _, err := s.Read(panel, "Observation", "obs2"); err != nil {
		t.Errorf("read Observation/obs2 once p2 is in the panel: %v", err)
	}
}

// TestAccessSharedAcrossRequests uses one Access, as the server does for every request of
// one token, from many goroutines at once, for reads of several types with and without a
// granular constraint: the memoised filters must give each read its own answer, and
// appending a read's arguments must not touch the shared ones (go test -race).
func TestAccessSharedAcrossRequests(t *testing.T) {
	s := newAccessStore(t)
	a := &Access{Rules: []AccessRule{
		{Scope: "patient/Patient.rs", Type: "Patient", Interactions: "rs", Patient: "p1"},
		{Scope: "patient/Observation.rs", Type: "Observation", Interactions: "rs", Patient: "p1"},
		{Scope: "patient/Encounter.rs?status=finished", Type: "Encounter", Interactions: "rs", Patient: "p1",
			Constraints: url.Values{"status": {"finished"}}},
	}, Level: "patient", Patient: "p1"}
	ctx := WithAccess(context.Background(), a)
	reads := []struct {
		ref     string
		visible bool
	}{
		{"Patient/p1", true}, {"Patient/p2", false},
		{"Observation/obs1", true}, {"Observation/leak1", true}, {"Observation/obs2", false}, {"Observation/leak2", false},
		{"Encounter/e1", true},  // p1's and finished
		{"Encounter/e2", false}, // p1's, but in progress: outside the granular scope
		{"Encounter/e3", false}, // finished, but p2's
	}
	errs := make(chan string, 64)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 50; i++ {
				c := reads[(g+i)%len(reads)]
				typ, id, _ := strings.Cut(c.ref, "/")
				_, err := s.Read(ctx, typ, id)
				if got := err == nil; got != c.visible {
					errs <- c.ref + ": " + map[bool]string{true: "read", false: "refused"}[got]
					return
				}
				if !c.visible && ErrorCode(err) != ENotFound {
					errs <- c.ref + ": " + err.Error()
					return
				}
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
