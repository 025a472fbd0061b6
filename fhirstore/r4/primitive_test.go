package r4

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The R4 regexes the hand-written matchers in validate.go replace, as validate.go had
// them: the oracles the matchers are checked against.
var (
	reID      = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)
	reCode    = regexp.MustCompile(`^[^\s]+(\s[^\s]+)*$`)
	reDate    = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`)
	reDT      = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
	reInstant = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`)
	reTime    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$`)
	reB64     = regexp.MustCompile(`^(\s*([0-9a-zA-Z\+/=]){4}\s*)+$`)
	reInt     = regexp.MustCompile(`^-?([0]|([1-9][0-9]*))$`)
	reDecimal = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

type primitiveCase struct {
	s     string
	valid bool
}

// primitives lists each matcher with its oracle, hand-picked cases (whose expected
// result is asserted of both, so the table also records how the regexes behave), valid
// examples to mutate, and the alphabet mutations draw from.
type primitiveSpec struct {
	name     string
	match    func(string) bool
	re       *regexp.Regexp
	cases    []primitiveCase
	examples []string
	alphabet []string
}

var primitives = []primitiveSpec{
	{
		name: "id", match: ValidID, re: reID,
		cases: []primitiveCase{
			{"", false},
			{"a", true},
			{"obs-000001-0001", true},
			{"p-1.a", true},
			{"-", true},
			{".", true},
			{"..", true},
			{strings.Repeat("a", 64), true},
			{strings.Repeat("a", 65), false},
			{strings.Repeat("é", 32), false}, // 32 runes, 64 bytes, not ASCII
			{"bad_id", false},
			{"bad id", false},
			{"a/b", false},
			{"a\n", false},
			{"\na", false},
			{"a\x00", false},
			{"a\xff", false},
			{"Ａ", false}, // fullwidth A
		},
		examples: []string{"a", "obs-000001-0001", "f3e9c2a4-7b1d-4c8e-9a0b-123456789abc", strings.Repeat("x", 63), strings.Repeat("x", 64)},
		alphabet: []string{"a", "Z", "0", "9", "-", ".", "_", " ", "\n", "/", "é", "\xff"},
	},
	{
		name: "code", match: validCode, re: reCode,
		cases: []primitiveCase{
			{"", false},
			{"final", true},
			{"a b", true},
			{"a  b", false},
			{" a", false},
			{"a ", false},
			{" ", false},
			{"a\tb", true},
			{"a\t\tb", false},
			{"a \tb", false},
			{"a\nb", true}, // one newline is one \s
			{"a\rb", true},
			{"a\fb", true},
			{"a\n", false}, // $ is end of text, not before a final newline
			{"\ta", false},
			{"a\vb", true},     // \v is not in Go's \s
			{"a\v\vb", true},   // nor doubled
			{"\va\v", true},    // nor leading or trailing
			{"a\u00a0b", true}, // no-break space is not \s
			{"a\u00a0\u00a0", true},
			{"\u00a0", true},
			{"a\u0085b", true},       // NEL
			{"a\u2003\u2003b", true}, // em space
			{"a\u3000", true},        // ideographic space
			{"a\x00b", true},
			{"\x00", true},
			{"\xff", true}, // invalid UTF-8 reads as U+FFFD, which is [^\s]
			{"a \xff", true},
			{"\xc3", true},         // truncated sequence
			{"\xed\xa0\x80", true}, // surrogate
			{"\xff \xfe", true},
			{"\xff  \xfe", false},
			{"http://loinc.org|1234-5", true},
		},
		examples: []string{"final", "a b", "in progress", "ab cd ef", "x\ty", "a\u00a0b", "\xffa b"},
		alphabet: []string{"a", " ", "\t", "\n", "\r", "\f", "\v", "\x00", "\u00a0", "\u0085", "\u2028", "\xff", "\xc3"},
	},
	{
		name: "date", match: validDate, re: reDate,
		cases: []primitiveCase{
			{"", false},
			{"0000", false},
			{"0001", true},
			{"0010", true},
			{"0100", true},
			{"1000", true},
			{"9999", true},
			{"999", false},
			{"10000", false},
			{"2024", true},
			{"2024-", false},
			{"2024-00", false},
			{"2024-01", true},
			{"2024-12", true},
			{"2024-13", false},
			{"2024-1", false},
			{"2024-01-00", false},
			{"2024-01-01", true},
			{"2024-01-31", true},
			{"2024-01-32", false},
			{"2024-02-30", true}, // calendar checks are realDate's
			{"2024-01-1", false},
			{"2024-01-01T10:00:00Z", false},
			{"2024\n", false},
			{"2024-01-01\n", false},
			{" 2024", false},
			{"+2024", false},
			{"-2024", false},
			{"2024/01/01", false},
			{"٢٠٢٤", false}, // Arabic-Indic digits are not [0-9]
		},
		examples: []string{"2024", "0001", "1000", "2024-05", "2024-12-31", "1970-01-01"},
		alphabet: []string{"0", "1", "2", "3", "9", "-", ":", "T", "Z", " ", "a", "\n"},
	},
	{
		name: "dateTime", match: validDateTime, re: reDT,
		cases: []primitiveCase{
			{"", false},
			{"2024", true},
			{"2024-05", true},
			{"2024-05-01", true},
			{"0000-05-01", false},
			{"2024-05-01T", false},
			{"2024-05-01T10:30", false},
			{"2024-05-01T10:30Z", false},
			{"2024-05-01T10:30:00", false}, // a time needs a zone
			{"2024-05-01T10:30:00Z", true},
			{"2024-05-01T10:30:00+02:00", true},
			{"2024-05-01T10:30:00.123+02:00", true},
			{"2024-05-01T10:30:00.+02:00", false},
			{"2024-05-01T10:30:00.1234567890123Z", true},
			{"2024-05-01T10:30:00,5Z", false},
			{"2024-05T10:30:00Z", false},
			{"2024T10:30:00Z", false},
			{"2024-05-01 10:30:00Z", false},
			{"2024-05-01t10:30:00Z", false},
			{"2024-05-01T10:30:00z", false},
			{"2024-05-01T00:00:00Z", true},
			{"2024-05-01T23:59:59Z", true},
			{"2024-05-01T24:00:00Z", false},
			{"2024-05-01T10:60:00Z", false},
			{"2024-05-01T10:59:60Z", true}, // leap second
			{"2024-05-01T10:59:61Z", false},
			{"2024-05-01T10:30:00+00:00", true},
			{"2024-05-01T10:30:00-00:00", true},
			{"2024-05-01T10:30:00+13:59", true},
			{"2024-05-01T10:30:00-13:59", true},
			{"2024-05-01T10:30:00+14:00", true},
			{"2024-05-01T10:30:00-14:00", true},
			{"2024-05-01T10:30:00+14:01", false},
			{"2024-05-01T10:30:00+14:59", false},
			{"2024-05-01T10:30:00+15:00", false},
			{"2024-05-01T10:30:00+13:60", false},
			{"2024-05-01T10:30:00+0200", false},
			{"2024-05-01T10:30:00+02", false},
			{"2024-05-01T10:30:00+2:00", false},
			{"2024-05-01T10:30:00Z+02:00", false},
			{"2024-05-01T10:30:00+02:00Z", false},
			{"2024-05-01T10:30:00ZZ", false},
			{"2024-05-01T10:30:00Z\n", false},
			{"2024-05-01T10:30:00\nZ", false},
		},
		examples: []string{"2024", "2024-05", "2024-05-01", "2024-05-01T10:30:00Z", "2024-05-01T10:30:00+02:00", "2024-05-01T23:59:60.5-14:00", "0001-01-01T00:00:00.0+14:00", "1999-12-31T13:05:09.123456-13:59"},
		alphabet: []string{"0", "1", "2", "3", "4", "5", "6", "9", "-", ":", "T", "Z", "+", ".", " ", "a", "\n"},
	},
	{
		name: "instant", match: validInstant, re: reInstant,
		cases: []primitiveCase{
			{"", false},
			{"2024", false},
			{"2024-05-01", false},
			{"2024-05-01T10:30:00", false}, // missing zone
			{"2024-05-01T10:30:00Z", true},
			{"2024-05-01T10:30:00.000Z", true},
			{"2024-05-01T10:30:00.Z", false},
			{"2024-05-01T10:30:00-05:00", true},
			{"2024-05-01T10:30:00+14:00", true},
			{"2024-05-01T10:30:00+14:01", false},
			{"2024-05-01T10:30:00-13:59", true},
			{"2024-05-01T24:00:00Z", false},
			{"2024-05-01T23:60:00Z", false},
			{"2024-05-01T23:59:60Z", true},
			{"0000-01-01T00:00:00Z", false},
			{"0001-01-01T00:00:00Z", true},
			{"2024-00-01T00:00:00Z", false},
			{"2024-13-01T00:00:00Z", false},
			{"2024-01-00T00:00:00Z", false},
			{"2024-01-32T00:00:00Z", false},
			{"2024-05-01T10:30:00Z\n", false},
		},
		examples: []string{"2024-05-01T10:30:00Z", "2024-05-01T10:30:00.123+02:00", "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:60.9+13:59"},
		alphabet: []string{"0", "1", "2", "3", "4", "5", "6", "9", "-", ":", "T", "Z", "+", ".", " ", "a", "\n"},
	},
	{
		name: "time", match: validTime, re: reTime,
		cases: []primitiveCase{
			{"", false},
			{"00:00:00", true},
			{"23:59:59", true},
			{"23:59:60", true},
			{"24:00:00", false},
			{"23:60:00", false},
			{"23:59:61", false},
			{"10:30", false},
			{"10:30:00.5", true},
			{"10:30:00.", false},
			{"10:30:00.5.5", false},
			{"10:30:00Z", false}, // time has no zone
			{"10:30:00+02:00", false},
			{"1:30:00", false},
			{"10:30:00\n", false},
			{"T10:30:00", false},
		},
		examples: []string{"00:00:00", "10:30:00", "23:59:60", "12:34:56.789"},
		alphabet: []string{"0", "1", "2", "3", "5", "6", "9", ":", ".", "Z", "+", "-", " ", "a", "\n"},
	},
	{
		name: "integer", match: validInteger, re: reInt,
		cases: []primitiveCase{
			{"", false},
			{"0", true},
			{"-0", true}, // the regex allows it
			{"00", false},
			{"01", false},
			{"-01", false},
			{"1", true},
			{"-1", true},
			{"--1", false},
			{"+1", false},
			{"-", false},
			{"2147483647", true},
			{"99999999999999999999", true}, // the range is checked by ParseInt
			{"1.0", false},
			{"1e3", false},
			{"1 ", false},
			{"1\n", false},
			{"١", false},
		},
		examples: []string{"0", "-0", "1", "-1", "10", "2147483647", "-2147483648"},
		alphabet: []string{"0", "1", "9", "-", "+", ".", "e", " ", "a", "\n"},
	},
	{
		name: "decimal", match: validDecimal, re: reDecimal,
		cases: []primitiveCase{
			{"", false},
			{"0", true},
			{"-0", true},
			{"00", false},
			{"01.5", false},
			{"0.0", true},
			{"-0.0", true},
			{"1.50", true},
			{"1.", false},
			{".5", false},
			{"-.5", false},
			{"+1", false},
			{"1e3", true},
			{"1E3", true},
			{"1e+3", true},
			{"1e-3", true},
			{"1e03", true},
			{"1.5e-10", true},
			{"1e", false},
			{"1e+", false},
			{"1e3.5", false},
			{"1.e3", false},
			{"e3", false},
			{"1e3e3", false},
			{"1ee3", false},
			{"1e++3", false},
			{"--1", false},
			{"1.5\n", false},
			{"NaN", false},
			{"Inf", false},
		},
		examples: []string{"0", "-0", "1.50", "0.001", "-12.5", "1e3", "6.02E+23", "-1.5e-10", "100"},
		alphabet: []string{"0", "1", "9", "-", "+", ".", "e", "E", " ", "a", "\n"},
	},
	{
		name: "base64Binary", match: validBase64, re: reB64,
		cases: []primitiveCase{
			{"", false},
			{"QUJD", true},
			{"QUI=", true},
			{"QQ==", true},
			{"====", true}, // the regex does not place padding
			{"QUJ", false},
			{"QUJDR", false},
			{"QUJDREVG", true},
			{"QUJD REVG", true},
			{" QUJD ", true},
			{"\nQUJD\r\n\tREVG\n", true},
			{"QU JD", false},
			{"QUJD\vREVG", false}, // \v is not \s, nor base64
			{"QUJD\u00a0", false},
			{" ", false},
			{"QUJ-", false},
			{"QUJ_", false},
			{"QUJD\xff", false},
		},
		examples: []string{"QUJD", "QUI=", "QQ==", "QUJDREVG", "QUJD REVG", " QUJD\n", "aGVsbG8gd29ybGQ=\r\nZm9v"},
		alphabet: []string{"A", "z", "0", "+", "/", "=", " ", "\n", "\t", "\v", "-", "_", "\u00a0", "\xff"},
	},
}

func primitiveByName(t testing.TB, name string) *primitiveSpec {
	for i := range primitives {
		if primitives[i].name == name {
			return &primitives[i]
		}
	}
	t.Fatalf("no primitive %s", name)
	return nil
}

func TestPrimitiveCases(t *testing.T) {
	for _, p := range primitives {
		t.Run(p.name, func(t *testing.T) {
			for _, c := range p.cases {
				if got := p.re.MatchString(c.s); got != c.valid {
					t.Errorf("regexp(%q) = %v, the table says %v", c.s, got, c.valid)
				}
				if got := p.match(c.s); got != c.valid {
					t.Errorf("matcher(%q) = %v, want %v", c.s, got, c.valid)
				}
			}
			for _, s := range p.examples {
				if !p.re.MatchString(s) {
					t.Errorf("example %q is not valid", s)
				}
			}
		})
	}
}

// TestPrimitiveMutations compares each matcher with its regexp on strings one or two
// edits away from valid examples and from the table's cases, and, for every example,
// on every way of overwriting two adjacent bytes from the alphabet (which covers every
// value of the two-digit fields of dates and times).
func TestPrimitiveMutations(t *testing.T) {
	const perType = 20000
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range primitives {
		t.Run(p.name, func(t *testing.T) {
			fails := 0
			check := func(s string) {
				if got, want := p.match(s), p.re.MatchString(s); got != want && fails < 20 {
					fails++
					t.Errorf("matcher(%q) = %v, regexp says %v", s, got, want)
				}
			}
			seeds := append([]string(nil), p.examples...)
			for _, c := range p.cases {
				seeds = append(seeds, c.s)
			}
			for range perType {
				s := seeds[rng.IntN(len(seeds))]
				for range 1 + rng.IntN(2) {
					s = mutate(rng, s, p.alphabet)
				}
				check(s)
			}
			for _, s := range p.examples {
				for i := 0; i+1 < len(s); i++ {
					for _, a := range p.alphabet {
						for _, b := range p.alphabet {
							check(s[:i] + a + b + s[i+2:])
						}
					}
				}
			}
		})
	}
}

// TestPrimitiveYears compares the date matchers with their regexps on every four-digit
// year, alone and in front of the rest of a date and of an instant.
func TestPrimitiveYears(t *testing.T) {
	for _, name := range []string{"date", "dateTime", "instant"} {
		p := primitiveByName(t, name)
		for y := range 10000 {
			year := string([]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10)})
			for _, s := range []string{year, year + "-05-01", year + "-05-01T10:30:00Z"} {
				if got, want := p.match(s), p.re.MatchString(s); got != want {
					t.Fatalf("%s: matcher(%q) = %v, regexp says %v", name, s, got, want)
				}
			}
		}
	}
}

// mutate inserts, deletes or replaces one byte of s, inserting and replacing with an
// entry of alphabet (which may be several bytes; deleting one of them leaves invalid
// UTF-8).
func mutate(rng *rand.Rand, s string, alphabet []string) string {
	a := alphabet[rng.IntN(len(alphabet))]
	i := rng.IntN(len(s) + 1)
	switch op := rng.IntN(3); {
	case op == 0 || len(s) == 0 || i == len(s):
		return s[:i] + a + s[i:]
	case op == 1:
		return s[:i] + s[i+1:]
	default:
		return s[:i] + a + s[i+1:]
	}
}

func fuzzPrimitive(f *testing.F, name string) {
	p := primitiveByName(f, name)
	for _, c := range p.cases {
		f.Add(c.s)
	}
	for _, s := range p.examples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := p.match(s), p.re.MatchString(s); got != want {
			t.Fatalf("matcher(%q) = %v, regexp says %v", s, got, want)
		}
	})
}

func FuzzValidID(f *testing.F)       { fuzzPrimitive(f, "id") }
func FuzzValidCode(f *testing.F)     { fuzzPrimitive(f, "code") }
func FuzzValidDate(f *testing.F)     { fuzzPrimitive(f, "date") }
func FuzzValidDateTime(f *testing.F) { fuzzPrimitive(f, "dateTime") }
func FuzzValidInstant(f *testing.F)  { fuzzPrimitive(f, "instant") }
func FuzzValidTime(f *testing.F)     { fuzzPrimitive(f, "time") }
func FuzzValidInteger(f *testing.F)  { fuzzPrimitive(f, "integer") }
func FuzzValidDecimal(f *testing.F)  { fuzzPrimitive(f, "decimal") }
func FuzzValidBase64(f *testing.F)   { fuzzPrimitive(f, "base64Binary") }

var matchSink bool

// BenchmarkPrimitives times each matcher and its regexp on typical values.
func BenchmarkPrimitives(b *testing.B) {
	for _, bc := range []struct{ name, label, value string }{
		{"id", "short", "obs-000001-0001"},
		{"id", "uuid", "f3e9c2a4-7b1d-4c8e-9a0b-123456789abc"},
		{"code", "word", "final"},
		{"code", "system|code", "http://loinc.org|8302-2"},
		{"date", "full", "1970-01-01"},
		{"dateTime", "zoned", "2024-05-01T10:30:00+02:00"},
		{"dateTime", "date", "2024-05-01"},
		{"instant", "millis", "2024-05-01T10:30:00.123Z"},
		{"time", "hms", "10:30:00"},
		{"integer", "small", "42"},
		{"decimal", "fixed", "1.50"},
		{"decimal", "exponent", "6.02E+23"},
		{"base64Binary", "16B", "aGVsbG8gd29ybGQ="},
		{"base64Binary", "4kB", strings.Repeat("QUJD", 1000)},
	} {
		p := primitiveByName(b, bc.name)
		b.Run(bc.name+"/"+bc.label+"/hand", func(b *testing.B) {
			for b.Loop() {
				matchSink = p.match(bc.value)
			}
		})
		b.Run(bc.name+"/"+bc.label+"/regexp", func(b *testing.B) {
			for b.Loop() {
				matchSink = p.re.MatchString(bc.value)
			}
		})
	}
}
