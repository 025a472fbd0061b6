package r4

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// conformanceTypes are the definitional resources the examples package is mostly made of;
// the round-trip test is about clinical and administrative content.
var conformanceTypes = map[string]bool{
	"StructureDefinition": true, "SearchParameter": true, "ValueSet": true, "CodeSystem": true,
	"ConceptMap": true, "CapabilityStatement": true, "OperationDefinition": true,
	"CompartmentDefinition": true, "ImplementationGuide": true, "NamingSystem": true,
}

// examplesDir finds the unpacked hl7.fhir.r4.examples@4.0.1 package: $FHIR_R4_EXAMPLES
// (set by .ci/run). Under CI its absence is a failure, elsewhere a skip.
func examplesDir(t testing.TB) string {
	dir := os.Getenv("FHIR_R4_EXAMPLES")
	if dir == "" {
		if d := filepath.Join(os.TempDir(), "fhirbox-r4-examples", "package"); dirExists(d) {
			return d
		}
		if os.Getenv("CI") == "true" {
			t.Fatal("FHIR_R4_EXAMPLES is not set: .ci/run fetches the package with npm pack hl7.fhir.r4.examples@4.0.1")
		}
		t.Skip("FHIR_R4_EXAMPLES not set; run: npm pack hl7.fhir.r4.examples@4.0.1 && tar xzf it, then point FHIR_R4_EXAMPLES at package/")
	}
	return dir
}

func dirExists(d string) bool { st, err := os.Stat(d); return err == nil && st.IsDir() }

// loadExamples lists the example files the round trip covers: every resource except the
// conformance types, and bodies over 16 MiB.
func loadExamples(t testing.TB, dir string) map[string][]byte {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, ".") || name == "package.json" {
			continue
		}
		rt, _, _ := strings.Cut(name, "-")
		if conformanceTypes[rt] {
			continue
		}
		st, _ := os.Stat(f)
		if st.Size() > 16<<20 {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var probe struct{ ResourceType string }
		if json.Unmarshal(b, &probe) != nil || probe.ResourceType == "" || conformanceTypes[probe.ResourceType] {
			continue
		}
		out[name] = b
	}
	return out
}

func TestR4Examples(t *testing.T) {
	ex := loadExamples(t, examplesDir(t))
	if len(ex) < 700 {
		t.Fatalf("only %d examples found; the package has about 720 in scope", len(ex))
	}
	failed := 0
	for name, b := range ex {
		res, err := Decode(b)
		if err != nil {
			t.Errorf("%s: decode: %v", name, err)
			continue
		}
		if issues := Validate(res); len(issues) > 0 {
			failed++
			for _, is := range issues[:min(3, len(issues))] {
				t.Errorf("%s: %s: %s", name, is.Path, is.Message)
			}
			continue
		}
		out, err := Marshal(res)
		if err != nil {
			t.Errorf("%s: marshal: %v", name, err)
			continue
		}
		back, err := Decode(out)
		if err != nil {
			t.Errorf("%s: re-decode: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(res, back) {
			t.Errorf("%s: changed by Marshal", name)
		}
	}
	t.Logf("%d examples validated and round-tripped, %d failed", len(ex)-failed, failed)
}
