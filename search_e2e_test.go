package main

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Composite and full-text search over HTTP: the answers, the strict and lenient handling of
// a malformed text value, and the CapabilityStatement listing them.
func TestE2ESearchCompositeAndText(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	bp := func(id string, systolic, diastolic int) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final",
			"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},
			"component":[
				{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic"}]},
				 "valueQuantity":{"value":` + strconv.Itoa(systolic) + `,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
				{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic"}]},
				 "valueQuantity":{"value":` + strconv.Itoa(diastolic) + `,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`
	}
	for id, v := range map[string][2]int{"bp1": {120, 80}, "bp2": {135, 90}} {
		if r := s.do(t, "PUT", "/Observation/"+id, nil, bp(id, v[0], v[1])); r.Status != 201 {
			t.Fatalf("PUT %s: %d %s", id, r.Status, r.Body)
		}
	}
	ids := func(r *response) []string {
		var out []string
		entries, _ := jget(r.decode(t), "entry").([]any)
		for _, e := range entries {
			if jstr(jget(e, "search.mode")) == "match" {
				out = append(out, jstr(jget(e, "resource.id")))
			}
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"component-code-value-quantity=" + url.QueryEscape("http://loinc.org|8480-6$120"), []string{"bp1"}},
		{"component-code-value-quantity=" + url.QueryEscape("http://loinc.org|8480-6$80"), nil},
		{"component-code-value-quantity=" + url.QueryEscape("8480-6$gt100"), []string{"bp1", "bp2"}},
		{"combo-code-value-quantity=" + url.QueryEscape("8462-4$90"), []string{"bp2"}},
		{"_content=" + url.QueryEscape("systolic diastolic"), []string{"bp1", "bp2"}},
		{"_content=" + url.QueryEscape(`"blood pressure" OR nothing`), []string{"bp1", "bp2"}},
		{"_content=" + url.QueryEscape("NEAR("), nil},
	} {
		r := s.do(t, "GET", "/Observation?"+c.query, map[string]string{"Prefer": "handling=strict"}, "")
		if r.Status != 200 {
			t.Errorf("%s: %d %s", c.query, r.Status, r.Body)
			continue
		}
		if got := ids(r); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.query, got, c.want)
		}
	}
	bad := "/Observation?_content=" + url.QueryEscape(`"foo`)
	r := s.do(t, "GET", bad, map[string]string{"Prefer": "handling=strict"}, "")
	if b := r.decode(t); r.Status != 400 || jstr(jget(b, "resourceType")) != "OperationOutcome" {
		t.Errorf("strict malformed _content: %d %s, want 400 OperationOutcome", r.Status, r.Body)
	}
	r = s.do(t, "GET", bad, nil, "")
	if r.Status != 200 || !strings.Contains(string(r.Body), `"mode":"outcome"`) || len(ids(r)) != 2 {
		t.Errorf("lenient malformed _content: %d %s, want 200, both Observations and a warning", r.Status, r.Body)
	}
	r = s.do(t, "GET", "/Observation?code-value-quantity:missing=true", nil, "")
	if r.Status != 400 || !strings.Contains(string(r.Body), "not supported on composite") {
		t.Errorf(":missing on a composite: %d %s, want 400 saying why", r.Status, r.Body)
	}
}

func TestCapabilityStatementSearchParams(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	r := s.do(t, "GET", "/metadata", nil, "")
	if r.Status != 200 {
		t.Fatalf("metadata: %d", r.Status)
	}
	params := map[string]map[string]string{} // type -> name -> type
	for _, res := range jget(r.decode(t), "rest.0.resource").([]any) {
		m := map[string]string{}
		sps, _ := jget(res, "searchParam").([]any)
		for _, sp := range sps {
			m[jstr(jget(sp, "name"))] = jstr(jget(sp, "type"))
		}
		params[jstr(jget(res, "type"))] = m
	}
	for typ, want := range map[string]map[string]string{
		"Observation": {"code-value-quantity": "composite", "component-code-value-quantity": "composite",
			"combo-code-value-concept": "composite", "code-value-date": "composite", "code-value-string": "composite",
			"_text": "string", "_content": "string", "code": "token"},
		"Group":             {"characteristic-value": "composite"},
		"DocumentReference": {"relationship": "composite"},
		"MolecularSequence": {"chromosome-variant-coordinate": "composite"},
		"ValueSet":          {"context-type-quantity": "composite", "context-type-value": "composite"},
		"Patient":           {"_text": "string", "_content": "string"},
	} {
		for name, kind := range want {
			if got := params[typ][name]; got != kind {
				t.Errorf("CapabilityStatement %s.%s: type %q, want %q", typ, name, got, kind)
			}
		}
	}
	for _, unsupported := range []string{"_query", "_filter"} {
		if _, ok := params["Patient"][unsupported]; ok {
			t.Errorf("CapabilityStatement lists %s, which is not supported", unsupported)
		}
	}
}
