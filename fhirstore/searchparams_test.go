package fhirstore

import "testing"

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
