package r4

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeStdlib is the encoding/json Decode that Decode replaced, kept as the reference
// the tests and the benchmark compare with.
func decodeStdlib(data []byte) (map[string]any, error) {
	if err := checkDepth(data); err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("the JSON value is not an object")
	}
	return obj, nil
}

func checkDepth(b []byte) error {
	depth, inStr, esc := 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr:
			if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > MaxDepth {
				return fmt.Errorf("the JSON is nested deeper than %d levels", MaxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// sameAsStdlib reports how Decode and decodeStdlib differ on data: one accepting what
// the other refuses, or different values.
func sameAsStdlib(data []byte) error {
	want, wantErr := decodeStdlib(data)
	got, err := Decode(data)
	switch {
	case (err == nil) != (wantErr == nil):
		return fmt.Errorf("Decode error %v, encoding/json error %v", err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		return fmt.Errorf("Decode gives %#v, encoding/json %#v", got, want)
	}
	return nil
}

// testData is a folder of ../shared/data (or $FHIRBOX_TESTDATA), as the root package's
// dataDir finds it; absent (a clone outside the workplace), the test is skipped as there.
func testData(t testing.TB, name string) string {
	root := filepath.Join("..", "..", "..", "shared", "data")
	if v := os.Getenv("FHIRBOX_TESTDATA"); v != "" {
		root = v
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("test data %s is absent (%v); set FHIRBOX_TESTDATA to the shared/data folder to run this test", dir, err)
	}
	return dir
}

// TestDecodeSharedData: Decode gives what encoding/json gives for every Synthea and
// Inferno bundle, decoded whole, and every bulk NDJSON line.
func TestDecodeSharedData(t *testing.T) {
	n := 0
	for _, name := range []string{"synthea-r4", "inferno-uscore"} {
		files, _ := filepath.Glob(filepath.Join(testData(t, name), "*.json"))
		for _, f := range files {
			checkFile(t, f)
			n++
		}
	}
	files, _ := filepath.Glob(filepath.Join(testData(t, "bulk-10-patients"), "*.ndjson"))
	for _, f := range files {
		file, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(file)
		sc.Buffer(nil, 16<<20)
		for line := 1; sc.Scan(); line++ {
			if err := sameAsStdlib(sc.Bytes()); err != nil {
				t.Errorf("%s:%d: %.500v", f, line, err)
			}
			n++
		}
		file.Close()
		if sc.Err() != nil {
			t.Fatal(sc.Err())
		}
	}
	if n < 5000 {
		t.Errorf("only %d documents in the shared data; expected over 5,000", n)
	}
}

// TestDecodeR4Examples: the same over every file of the R4 examples package.
func TestDecodeR4Examples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(examplesDir(t), "*.json"))
	if len(files) < 1000 {
		t.Fatalf("only %d files in the examples package", len(files))
	}
	for _, f := range files {
		checkFile(t, f)
	}
}

// checkFile decodes the document in file f both ways and reports a difference.
func checkFile(t *testing.T, f string) {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameAsStdlib(b); err != nil {
		t.Errorf("%s: %.500v", f, err)
	}
}

var (
	validJSON = []string{
		`{}`, ` {} `, "\t\r\n{\t\r\n}\t\r\n", `{"a":{}}`, `{"a":[]}`, `{"a":[[],{},[{}]]}`,
		`{"a":1,"a":2}`, `{"a":{"b":1},"a":{"c":2}}`, `{"":""}`,
		`{"n":[0,-0,1,-1,10,1.5,1.50,0.0,1e5,1E5,1e+5,1e-5,-1.25e-10,123456789012345678901234567890,1.0000000000000000000001]}`,
		`{"b":[true,false,null]}`,
		`{"s":"\"\\\/\b\f\n\r\t"}`, `{"s":"\u0041\u00e9\u20AC\uFFFF\u0000"}`,
		`{"s":"\ud83d\ude00"}`, `{"s":"\uD83D\uDE00x"}`,
		`{"s":"\ud83d"}`, `{"s":"\ude00"}`, `{"s":"\ud83dx"}`, `{"s":"\ud83d\u0041"}`, `{"s":"\ud83d\ud83d\ude00"}`,
		`{"s":"\ud83d\n"}`, `{"s":"\ude00\ud83d"}`,
		"{\"s\":\"\xff\"}", "{\"s\":\"a\xc3\"}", "{\"s\":\"\xe2\x82\"}", "{\"s\":\"\xed\xa0\x80\"}",
		"{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", "{\"s\":\"\xef\xbf\xbd\"}", "{\"\xff\":1}",
		"{\"s\":\"\\n\xff\"}", "{\"s\":\"\x7f\"}",
		`{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"mg"}}`,
		`{"a":` + strings.Repeat("[", 99) + strings.Repeat("]", 99) + `}`,
		`{"a":"` + strings.Repeat(`[`, 200) + `"}`,
	}
	invalidJSON = []string{
		``, ` `, `{`, `}`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":"x`, `{"a":"\`, `{"a":"\u12`,
		`[]`, `[1]`, `"x"`, `1`, `true`, `null`, `x`, "\xef\xbb\xbf{}",
		`{} {}`, `{}x`, `{}}`, `{},`, `{}]`, `{} []`,
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":+1}`, `{"a":1e}`, `{"a":1e+}`, `{"a":.5}`, `{"a":NaN}`,
		`{"a":Infinity}`, `{"a":-Infinity}`, `{"a":0x10}`, `{"a":1.5.5}`, `{"a":--1}`, `{"a":- 1}`,
		"{\"a\":\"\x00\"}", "{\"a\":\"\n\"}", "{\"a\":\"\t\"}", "{\"a\":\"\x1f\"}",
		`{"a":"\x"}`, `{"a":"\'"}`, `{"a":"\U0041"}`, `{"a":"\u00G1"}`, `{"a":"\ud83d\u00G1"}`,
		`{"a":1,}`, `{"a":[1,]}`, `{"a":[,1]}`, `{,}`, `{"a" 1}`, `{"a"::1}`, `{a:1}`, `{1:1}`,
		`{'a':1}`, `{"a":1 "b":2}`, `{"a":[1 2]}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":True}`,
		"{\"a\":1}\x00", "{\v}", "{\f}", "{\u00a0}",
		`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		strings.Repeat(`{"a":`, 101) + "1" + strings.Repeat("}", 101),
	}
)

// TestDecodeTricky: the corners of JSON decode as encoding/json decodes them.
func TestDecodeTricky(t *testing.T) {
	for _, s := range validJSON {
		if _, err := Decode([]byte(s)); err != nil {
			t.Errorf("Decode(%q): %v", s, err)
		}
		if err := sameAsStdlib([]byte(s)); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range invalidJSON {
		if _, err := Decode([]byte(s)); err == nil {
			t.Errorf("Decode(%q) accepted", s)
		}
		if err := sameAsStdlib([]byte(s)); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestDecodeValues pins values a reader of the FHIR resource relies on.
func TestDecodeValues(t *testing.T) {
	for in, want := range map[string]any{
		`{"v":1.50}`:                json.Number("1.50"),
		`{"v":-0.0e+00}`:            json.Number("-0.0e+00"),
		`{"v":"a\u00e9\n"}`:         "a\u00e9\n",
		`{"v":"\ud83d\ude00"}`:      "\U0001F600",
		`{"v":"\ud83d\u0041"}`:      "\uFFFDA",
		"{\"v\":\"a\xe2\x82b\"}":    "a\uFFFD\uFFFDb",
		`{"v":[]}`:                  []any{},
		`{"v":{}}`:                  map[string]any{},
		`{"v":[null,true,{"a":1}]}`: []any{nil, true, map[string]any{"a": json.Number("1")}},
		`{"v":1,"v":"last"}`:        "last",
	} {
		got, err := Decode([]byte(in))
		if err != nil || !reflect.DeepEqual(got["v"], want) {
			t.Errorf("Decode(%q) = %#v, %v; want %#v", in, got["v"], err, want)
		}
	}
}

// TestDecodeErrors: the messages say what is wrong and where, for the OperationOutcome.
func TestDecodeErrors(t *testing.T) {
	for in, want := range map[string]string{
		``:                       "the JSON input is empty",
		`[1]`:                    "the JSON value is not an object",
		`{} {}`:                  "trailing data after the JSON object",
		`{}x`:                    "trailing data after the JSON object",
		"\xef\xbb\xbf{}":         "the JSON starts with a byte order mark (U+FEFF), which JSON does not allow",
		strings.Repeat("[", 200): "the JSON value is not an object",
		strings.Repeat(`{"a":`, 101) + "1" + strings.Repeat("}", 101): "the JSON is nested deeper than 100 levels",
		`{"a":1`:               "unexpected end of JSON input at offset 6",
		`{"a" 1}`:              "invalid character '1' after object key at offset 5",
		`{"a":1,}`:             "invalid character '}' looking for beginning of object key string at offset 7",
		`{"a":[1,]}`:           "invalid character ']' looking for beginning of value at offset 8",
		`{"a":01}`:             "invalid character '1' after object key:value pair at offset 6",
		`{"a":1.}`:             "invalid character '}' after decimal point in numeric literal at offset 7",
		`{"a":"` + "\n" + `"}`: `invalid character '\n' in string literal at offset 6`,
		`{"a":"\x"}`:           "invalid character 'x' in string escape code at offset 7",
		`{"a":tru}`:            "invalid character '}' in literal true (expecting 'e') at offset 8",
		"{\"a\":\xff}":         "invalid byte 0xFF looking for beginning of value at offset 5",
	} {
		if _, err := Decode([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("Decode(%q): %v, want %q", in, err, want)
		}
	}
}

// FuzzDecode: Decode accepts what encoding/json accepts and gives the same values.
func FuzzDecode(f *testing.F) {
	for _, s := range validJSON {
		f.Add([]byte(s))
	}
	for _, s := range invalidJSON {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"resourceType":"Patient","id":"p","name":[{"family":"Muñoz","given":["A"]}],"birthDate":"1970-01-01","multipleBirthInteger":2,"deceasedBoolean":false}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := sameAsStdlib(data); err != nil {
			t.Fatalf("%q: %v", data, err)
		}
	})
}

// BenchmarkDecode decodes resources of the shapes a load sees, with encoding/json (the
// old Decode) and with Decode.
func BenchmarkDecode(b *testing.B) {
	// first is the first resource of type rt in a Synthea bundle, compact as the store
	// and bulk files hold it.
	first := func(file, rt string) []byte {
		data, err := os.ReadFile(filepath.Join(testData(b, "synthea-r4"), file))
		if err != nil {
			b.Fatal(err)
		}
		var bundle struct {
			Entry []struct{ Resource json.RawMessage }
		}
		if err := json.Unmarshal(data, &bundle); err != nil {
			b.Fatal(err)
		}
		for _, e := range bundle.Entry {
			var probe struct{ ResourceType string }
			if json.Unmarshal(e.Resource, &probe) == nil && probe.ResourceType == rt {
				var out bytes.Buffer
				if err := json.Compact(&out, e.Resource); err != nil {
					b.Fatal(err)
				}
				return out.Bytes()
			}
		}
		b.Fatalf("no %s in %s", rt, file)
		return nil
	}
	line := func(file string) []byte {
		data, err := os.ReadFile(filepath.Join(testData(b, "bulk-10-patients"), file))
		if err != nil {
			b.Fatal(err)
		}
		l, _, _ := bytes.Cut(data, []byte("\n"))
		return l
	}
	const synthea = "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json"
	resources := []struct {
		name string
		json []byte
	}{
		{"Patient", first(synthea, "Patient")},
		{"Encounter", first(synthea, "Encounter")},
		{"Observation", first(synthea, "Observation")},
		{"ExplanationOfBenefit", first(synthea, "ExplanationOfBenefit")},
		{"bulk/Condition", line("Condition.000.ndjson")},
		{"bulk/DocumentReference", line("DocumentReference.000.ndjson")},
		{"bulk/MedicationRequest", line("MedicationRequest.000.ndjson")},
	}
	for _, r := range resources {
		for _, impl := range []struct {
			name   string
			decode func([]byte) (map[string]any, error)
		}{{"stdlib", decodeStdlib}, {"Decode", Decode}} {
			b.Run(r.name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(r.json)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := impl.decode(r.json); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
