package r4

import (
	"os"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name, json string
		path       string // "" = valid
	}{
		{"valid patient", `{"resourceType":"Patient","id":"p-1.a","birthDate":"1970-01-01","name":[{"family":"X","given":["A","B"]}],"active":true,"multipleBirthInteger":2}`, ""},
		{"birthDate as number", `{"resourceType":"Patient","birthDate":12}`, "Patient.birthDate"},
		{"birthDate out of range", `{"resourceType":"Patient","birthDate":"1970-13-45"}`, "Patient.birthDate"},
		{"impossible day", `{"resourceType":"Patient","birthDate":"2023-02-30"}`, "Patient.birthDate"},
		{"partial date ok", `{"resourceType":"Patient","birthDate":"1970-02"}`, ""},
		{"unknown top element", `{"resourceType":"Patient","foo":1}`, "Patient.foo"},
		{"unknown nested element", `{"resourceType":"Patient","name":[{"family":"X","nickname":"Y"}]}`, "Patient.name[0].nickname"},
		{"object where array", `{"resourceType":"Patient","name":{"family":"X"}}`, "Patient.name"},
		{"array where single", `{"resourceType":"Patient","gender":["male"]}`, "Patient.gender"},
		{"bad id", `{"resourceType":"Patient","id":"bad_id!"}`, "Patient.id"},
		{"unknown type", `{"resourceType":"Frobnicator"}`, "resourceType"},
		{"missing type", `{"id":"x"}`, "resourceType"},
		{"bad choice", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueFoo":1}`, "Observation.valueFoo"},
		{"good choice", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50,"unit":"mg"}}`, ""},
		{"decimal as string", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"1.5"}}`, "Observation.valueQuantity.value"},
		{"boolean as string", `{"resourceType":"Patient","active":"true"}`, "Patient.active"},
		{"bad reference", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/bad id"}}`, "Observation.subject.reference"},
		{"unknown reference type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Frob/1"}}`, "Observation.subject.reference"},
		{"conditional reference ok", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=a|b"}}`, ""},
		{"primitive extension", `{"resourceType":"Patient","birthDate":"1970","_birthDate":{"extension":[{"url":"http://x","valueDateTime":"1970-01-01T10:00:00Z"}]}}`, ""},
		{"bad primitive extension", `{"resourceType":"Patient","_birthDate":"x"}`, "Patient._birthDate"},
		{"contained resource checked", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","bogus":true}]}`, "Patient.contained[0].bogus"},
		{"bundle entry checked", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","birthDate":"x"}}]}`, "Bundle.entry[0].resource.birthDate"},
		{"empty string", `{"resourceType":"Patient","gender":""}`, "Patient.gender"},
		{"empty array", `{"resourceType":"Patient","name":[]}`, "Patient.name"},
		{"positiveInt zero", `{"resourceType":"Patient","multipleBirthInteger":1.5}`, "Patient.multipleBirthInteger"},
		{"backbone content reference", `{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"linkId":"2","type":"string","bogus":1}]}]}`, "Questionnaire.item[0].item[0].bogus"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Decode([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			issues := Validate(res)
			if c.path == "" {
				if len(issues) > 0 {
					t.Fatalf("want valid, got %+v", issues)
				}
				return
			}
			for _, is := range issues {
				if is.Path == c.path {
					return
				}
			}
			t.Fatalf("want an issue at %s, got %+v", c.path, issues)
		})
	}
}

func TestDecode(t *testing.T) {
	for _, bad := range []string{`{"a":1} {"b":2}`, `[1]`, `{`, strings.Repeat("[", 200) + strings.Repeat("]", 200)} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%.30q) accepted", bad)
		}
	}
}

func TestMarshalOrderAndPrecision(t *testing.T) {
	res, _ := Decode([]byte(`{"valueQuantity":{"unit":"mg","value":1.50},"status":"final","code":{"text":"<b>"},"id":"o","resourceType":"Observation"}`))
	b, err := Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Observation","id":"o","status":"final","code":{"text":"<b>"},"valueQuantity":{"value":1.50,"unit":"mg"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestSummaryAndElements(t *testing.T) {
	res, _ := Decode([]byte(`{"resourceType":"Patient","id":"p","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},"birthDate":"1970","photo":[{"contentType":"image/png"}],"name":[{"family":"F"}]}`))
	s, ok := Summary(res, "true")
	if !ok || s["photo"] != nil || s["text"] != nil || s["birthDate"] == nil || s["name"] == nil {
		t.Fatalf("summary=true: %v", s)
	}
	if _, ok := Summary(res, "bogus"); ok {
		t.Fatal("bogus summary mode accepted")
	}
	e := Elements(res, []string{"birthDate"})
	if len(e) != 4 || e["birthDate"] == nil || e["meta"] == nil {
		t.Fatalf("elements: %v", e)
	}
	tags := e["meta"].(map[string]any)["tag"].([]any)
	if tags[0].(map[string]any)["code"] != "SUBSETTED" {
		t.Fatal("no SUBSETTED tag")
	}
}

func BenchmarkValidateMarshal(b *testing.B) {
	data, err := os.ReadFile("../../../shared/data/synthea-r4/Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json")
	if err != nil {
		b.Skip("shared data absent")
	}
	bundle, _ := Decode(data)
	var entries []map[string]any
	for _, e := range bundle["entry"].([]any) {
		entries = append(entries, e.(map[string]any)["resource"].(map[string]any))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := entries[i%len(entries)]
		if len(Validate(r)) > 0 {
			b.Fatal("invalid")
		}
		if _, err := Marshal(r); err != nil {
			b.Fatal(err)
		}
	}
}
