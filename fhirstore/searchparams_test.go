package fhirstore

import (
	"slices"
	"testing"
)

// Every expression of the 1,375 R4 SearchParameters must compile in our FHIRPath subset.
func TestSearchParamsCompile(t *testing.T) {
	pt, err := loadParams()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pt.failed {
		t.Error(f)
	}
	n := 0
	for _, m := range pt.byType {
		for _, sp := range m {
			if sp.expr != nil {
				n++
			}
		}
	}
	if n < 2000 {
		t.Errorf("only %d compiled (type, parameter) pairs", n)
	}
	t.Logf("%d (type, parameter) expressions compiled", n)
}

// The combo composites store no tuples of their own: they are the union of the plain and
// the component composites, found from the definitions.
// The parameters whose values are exactly other parameters' values are found from the
// definitions, and only those: each is stored under its parts.
func TestUnionParams(t *testing.T) {
	pt, err := loadParams()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for typ, m := range pt.byType {
		for code, sp := range m {
			if len(sp.unionOf) == 0 {
				continue
			}
			n++
			var parts []string
			for _, o := range sp.unionOf {
				parts = append(parts, o.Code)
			}
			t.Logf("%s.%s = %v", typ, code, parts)
		}
	}
	obs := pt.byType["Observation"]
	for combo, want := range map[string][2]string{
		"combo-code-value-quantity": {"code-value-quantity", "component-code-value-quantity"},
		"combo-code-value-concept":  {"code-value-concept", "component-code-value-concept"},
		"combo-code":                {"code", "component-code"},
		"combo-value-quantity":      {"value-quantity", "component-value-quantity"},
		"combo-value-concept":       {"value-concept", "component-value-concept"},
		"combo-data-absent-reason":  {"data-absent-reason", "component-data-absent-reason"},
	} {
		u := obs[combo].unionOf
		if len(u) != 2 || u[0].Code != want[0] || u[1].Code != want[1] {
			t.Errorf("%s.unionOf = %v, want %v", combo, u, want)
		}
	}
	if n != 6 {
		t.Errorf("%d parameters are unions, want the six Observation combos", n)
	}
}

// TestAliasParams pins the R4 reference parameters stored as aliases (see
// SearchParam.aliasOf) and the shapes the index relies on: an alias's base stores its own
// rows, and no union reads through an alias, which stores none.
func TestAliasParams(t *testing.T) {
	pt, err := loadParams()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sp := range pt.ordered {
		for _, o := range sp.unionOf {
			if o.aliasOf != nil {
				t.Errorf("%s.%s is a union of alias %s", sp.Type, sp.Code, o.Code)
			}
		}
		if sp.aliasOf == nil {
			continue
		}
		n++
		if b := sp.aliasOf; b.aliasOf != nil || len(b.unionOf) > 0 || !slices.Contains(b.aliases, sp) {
			t.Errorf("%s.%s: base %s is not a plain reference parameter linked back to it", sp.Type, sp.Code, b.Code)
		}
		if sp.refPID() != sp.aliasOf.PID {
			t.Errorf("%s.%s stores its references under %d, not its base's %d", sp.Type, sp.Code, sp.refPID(), sp.aliasOf.PID)
		}
	}
	if n != 47 {
		t.Errorf("%d alias parameters, want the 47 of R4", n)
	}
	if sp := pt.byType["DiagnosticReport"]["patient"]; sp.aliasOf == nil || sp.aliasOf.Code != "subject" || sp.aliasType != "Patient" {
		t.Errorf("DiagnosticReport.patient: aliasOf %v, aliasType %q; want subject, Patient", sp.aliasOf, sp.aliasType)
	}
}
