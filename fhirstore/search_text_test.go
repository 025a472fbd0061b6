package fhirstore

import (
	"context"
	"net/url"
	"slices"
	"testing"
)

// The full-text fixture, known by hand (narrative = text.div):
//
//	p1  Patient    name José Müller; narrative "José <b>Müller</b>, born in São Paulo"
//	p2  Patient    name Ann Lee;     narrative "Ann Lee &amp; family; heart failure"
//	c1  Condition  p1; code text "Congestive heart failure"; note "Patient reports shortness of breath, see https://guide.example.net/chf"
//	c2  Condition  p2; code text "Heart murmur"; narrative "Chronic cough"
//	o1  Observation p1; "Heart rate", 72 beats/minute, identifier http://example.org/ids|X-1, 2020-05-01
//	o2  Observation p2; code text "Cardiac output", valueString urn:oid:1.2.840.99
var textFixture = []struct{ typ, id, body string }{
	{"Patient", "p1", `{"resourceType":"Patient","id":"p1",
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>José <b>Müller</b>, born in São Paulo</p></div>"},
		"name":[{"family":"Müller","given":["José"]}]}`},
	{"Patient", "p2", `{"resourceType":"Patient","id":"p2",
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Ann Lee &amp; family; heart failure</div>"},
		"name":[{"family":"Lee","given":["Ann"]}]}`},
	{"Condition", "c1", `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},
		"code":{"text":"Congestive heart failure"},"note":[{"text":"Patient reports shortness of breath, see https://guide.example.net/chf"}]}`},
	{"Condition", "c2", `{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p2"},
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Chronic cough</div>"},
		"code":{"text":"Heart murmur"}}`},
	{"Observation", "o1", `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"},
		"identifier":[{"system":"http://example.org/ids","value":"X-1"}],"effectiveDateTime":"2020-05-01",
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
		"valueQuantity":{"value":72,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}}`},
	{"Observation", "o2", `{"resourceType":"Observation","id":"o2","status":"final","subject":{"reference":"Patient/p2"},
		"code":{"text":"Cardiac output"},"valueString":"urn:oid:1.2.840.99"}`},
}

func newTextStore(t *testing.T) *Store {
	t.Helper()
	s := openTestStore(t)
	loadFixture(t, s, textFixture)
	return s
}

func TestSearchText(t *testing.T) {
	s := newTextStore(t)
	runSearchCases(t, s, []searchCase{
		{"word", "Patient", q("_text=paulo"), "p1"},
		{"accent-folded", "Patient", q("_text=muller"), "p1"},
		{"case-and-accent", "Patient", q("_text=JOSÉ"), "p1"},
		{"accent-in-query", "Patient", q("_text=Sào"), "p1"},
		{"and-any-order", "Patient", q("_text=paulo born"), "p1"},
		{"and-miss", "Patient", q("_text=paulo failure"), ""},
		{"explicit-and", "Patient", q("_text=paulo AND born"), "p1"},
		{"phrase", "Patient", q(`_text="born in"`), "p1"},
		{"phrase-order", "Patient", q(`_text="in born"`), ""},
		{"or", "Patient", q("_text=paulo OR failure"), "p1,p2"},
		{"comma-or", "Patient", q("_text=paulo,failure"), "p1,p2"},
		{"entity-decoded", "Patient", q("_text=family"), "p2"},
		{"entity-not-literal", "Patient", q("_text=amp"), ""},
		{"markup-stripped", "Patient", q("_text=xhtml"), ""},
		{"tag-names-stripped", "Patient", q("_text=div"), ""},
		{"narrative-only", "Condition", q("_text=cough"), "c2"},
		{"content-is-not-narrative", "Condition", q("_text=murmur"), ""},
		{"no-narrative", "Observation", q("_text=heart"), ""},
		{"repeated-and", "Patient", q("_text=heart", "_text=lee"), "p2"},
		{"repeated-and-miss", "Patient", q("_text=heart", "_text=paulo"), ""},
	})
}

func TestSearchContent(t *testing.T) {
	s := newTextStore(t)
	runSearchCases(t, s, []searchCase{
		{"word", "Condition", q("_content=heart"), "c1,c2"},
		{"and", "Condition", q("_content=heart failure"), "c1"},
		{"and-across-elements", "Condition", q("_content=congestive breath"), "c1"},
		{"or", "Condition", q("_content=failure OR murmur"), "c1,c2"},
		{"or-binds-tighter", "Condition", q("_content=congestive OR chronic heart"), "c1,c2"},
		{"or-then-and-miss", "Condition", q("_content=congestive OR chronic breath"), "c1"},
		{"phrase", "Condition", q(`_content="heart failure"`), "c1"},
		{"phrase-order", "Condition", q(`_content="failure heart"`), ""},
		{"phrase-or-word", "Condition", q(`_content="heart failure" OR murmur`), "c1,c2"},
		{"includes-narrative", "Condition", q("_content=cough"), "c2"},
		{"case", "Condition", q("_content=HEART MURMUR"), "c2"},
		{"hyphen-is-two-words", "Observation", q("_content=beats-minute"), "o1"},
		{"names", "Patient", q("_content=muller"), "p1"},
		{"comma-or", "Condition", q("_content=murmur,breath"), "c1,c2"},
		{"repeated-and", "Condition", q("_content=heart", "_content=murmur"), "c2"},
		{"with-other-param", "Observation", q("_content=heart", "subject=Patient/p1"), "o1"},
		{"identifier-value", "Observation", q("_content=X-1"), "o1"},
		{"urls-not-content", "Observation", q("_content=example"), ""},
		{"uri-values-not-content", "Observation", q("_content=oid OR 840"), ""},
		{"uri-inside-text-is-text", "Condition", q("_content=guide chf"), "c1"},
		{"systems-not-content", "Observation", q("_content=loinc"), ""},
		{"ids-not-content", "Patient", q("_content=p1"), ""},
		{"references-not-content", "Condition", q("_content=patient p1"), ""},
		{"dates-not-content", "Observation", q("_content=2020"), ""},
		{"system-search", "", q("_content=heart"), "c1,c2,o1,p2"},
	})
}

// Hostile and malformed values never reach FTS5's syntax: words are quoted, operators
// other than OR and AND are punctuation, and a malformed value is a 400 under strict
// handling and ignored (with a warning) otherwise.
func TestSearchTextHostile(t *testing.T) {
	s := newTextStore(t)
	ctx := context.Background()
	harmless := []struct{ value, want string }{
		{"NEAR(", ""},
		{"NEAR(heart failure)", ""},
		{"heart*", "c1,c2"},
		{"heart^2", ""},
		{"narrative:cough", ""},
		{"content : murmur", ""},
		{"-heart", "c1,c2"},
		{"NOT murmur", ""},
		{"'; DROP TABLE search_text; --", ""},
		{`heart "" `, "c1,c2"},
		{"{content}: heart", ""},
		{"heart + murmur", "c2"},
		{"or heart", ""}, // lower-case or is a word
	}
	for _, c := range harmless {
		for _, code := range []string{"_content", "_text"} {
			res, err := s.Search(ctx, SearchRequest{Type: "Condition", Params: url.Values{code: {c.value}}, Strict: true})
			if err != nil {
				t.Errorf("%s=%s: %v", code, c.value, err)
				continue
			}
			want := list(c.want)
			if code == "_text" {
				want = nil // only c2 has a narrative, and none of these match it
			}
			if got, _ := split(res); !slices.Equal(sorted(got), want) {
				t.Errorf("%s=%s: got %v, want %v", code, c.value, sorted(got), want)
			}
		}
	}
	malformed := []string{`"foo`, `"`, "*", "", "   ", `""`, "heart OR", "OR heart", "heart OR OR murmur", "AND heart", "heart,*"}
	for _, v := range malformed {
		for _, code := range []string{"_content", "_text"} {
			p := url.Values{code: {v}}
			if _, err := s.Search(ctx, SearchRequest{Type: "Condition", Params: p, Strict: true}); ErrorCode(err) != EInvalid {
				t.Errorf("strict %s=%q: err %v, want EInvalid", code, v, err)
			}
			res, err := s.Search(ctx, SearchRequest{Type: "Condition", Params: p})
			if err != nil {
				t.Errorf("lenient %s=%q: %v", code, v, err)
				continue
			}
			if got, _ := split(res); !slices.Equal(sorted(got), []string{"c1", "c2"}) || len(res.Warnings) != 1 || res.Self.Has(code) {
				t.Errorf("lenient %s=%q: got %v, warnings %v, self %v; want it ignored with a warning", code, v, got, res.Warnings, res.Self)
			}
		}
	}
	if _, err := s.Search(ctx, SearchRequest{Type: "Condition", Params: q("_content:exact=heart")}); ErrorCode(err) != EInvalid {
		t.Errorf("_content:exact: err %v, want EInvalid", err)
	}
	many := ""
	for range maxTextTerms + 1 {
		many += "w "
	}
	if _, err := s.Search(ctx, SearchRequest{Type: "Condition", Params: url.Values{"_content": {many}}}); ErrorCode(err) != ETooCostly {
		t.Errorf("%d words: err %v, want ETooCostly", maxTextTerms+1, err)
	}
}

func TestFTSQuery(t *testing.T) {
	for in, want := range map[string]string{
		"heart":                      `("heart")`,
		"heart failure":              `("heart") AND ("failure")`,
		"heart OR cardiac failure":   `("heart" OR "cardiac") AND ("failure")`,
		`"heart failure" OR murmur`:  `("heart" + "failure" OR "murmur")`,
		"Müller-Lüdenscheidt AND x":  `("Müller") AND ("Lüdenscheidt") AND ("x")`,
		`NEAR("a b", 2) col:c * ^d`:  `("NEAR") AND ("a" + "b") AND ("2") AND ("col") AND ("c") AND ("d")`,
		`"unterminated`:              "",
		"a OR":                       "",
		"*":                          "",
		`a "" b`:                     `("a") AND ("b")`,
		"x OR y OR z":                `("x" OR "y" OR "z")`,
		`"only punctuation: --" ok`:  `("only" + "punctuation") AND ("ok")`,
		"tab\tseparated\nnew-line":   `("tab") AND ("separated") AND ("new") AND ("line")`,
		`quote"inside`:               "",
		`"a" OR "b c" OR d e OR "f"`: `("a" OR "b" + "c" OR "d") AND ("e" OR "f")`,
	} {
		got, ok := ftsQuery(in)
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("ftsQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSearchTextReindex(t *testing.T) {
	s := newTextStore(t)
	ctx := context.Background()
	body := `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"text":"Asthma"}}`
	if _, _, err := s.Update(ctx, "Condition", "c1", []byte(body), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "Condition", "c2", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	runSearchCases(t, s, []searchCase{
		{"old-words-gone", "Condition", q("_content=failure OR breath"), ""},
		{"new-words", "Condition", q("_content=asthma"), "c1"},
		{"deleted-gone", "Condition", q("_content=murmur OR cough"), ""},
		{"deleted-narrative-gone", "Condition", q("_text=cough"), ""},
	})
}

// Under a grant confined to p1, full-text search cannot reach p2's resources.
func TestSearchTextAccess(t *testing.T) {
	s := newTextStore(t)
	ctx := WithAccess(context.Background(), p1Only())
	for _, c := range []struct {
		typ    string
		params url.Values
		want   string
	}{
		{"Condition", q("_content=heart"), "c1"},
		{"Condition", q("_content=murmur"), ""},
		{"Condition", q("_text=cough"), ""},
		{"Patient", q("_content=lee OR muller"), "p1"},
		{"Patient", q("_text=heart"), ""},
		{"", q("_content=heart"), "c1,o1"},
		{"Observation", q("_content=cardiac OR heart"), "o1"},
	} {
		res, err := s.Search(ctx, SearchRequest{Type: c.typ, Params: c.params})
		if err != nil {
			t.Fatalf("%s?%s: %v", c.typ, c.params.Encode(), err)
		}
		got, _ := split(res)
		if want := list(c.want); !slices.Equal(sorted(got), want) || res.Total == nil || *res.Total != len(want) {
			t.Errorf("%s?%s under p1's grant: got %v (total %v), want %v", c.typ, c.params.Encode(), got, res.Total, want)
		}
	}
}

func TestLooksLikeDate(t *testing.T) {
	for s, want := range map[string]bool{
		"2020": true, "2020-05": true, "2020-05-01": true, "2020-05-01T10:00:00Z": true, "2020-05-01T10:00:00.123+02:00": true,
		"8867-4": false, "12345": false, "abcd": false, "2020-13": false, "2020-05-0": false, "1234-56-78-9": false, "X-1": false,
	} {
		if got := looksLikeDate(s); got != want {
			t.Errorf("looksLikeDate(%q) = %v, want %v", s, got, want)
		}
	}
}
