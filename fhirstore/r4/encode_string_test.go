package r4

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// jsonString is the oracle: encoding/json's encoding of s without HTML escaping.
func jsonString(t testing.TB, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte{'\n'}))
}

var stringCases = []string{
	"", "final", `<div xmlns="http://www.w3.org/1999/xhtml">a &amp; b</div>`, `back\slash`,
	"tab\there", "line\nfeed\r\n", "\b\f\x00\x01\x1f\x7f", "<>&", "°C µg/dL", "日本語",
	"\u2028\u2029", "bad \xff byte", "\xc3", "\xe2\x80", "\xed\xa0\x80", "😀", "a\u2027b",
}

func TestAppendString(t *testing.T) {
	check := func(s string) {
		if got, want := string(appendString(nil, s)), jsonString(t, s); got != want {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	for _, s := range stringCases {
		check(s)
	}
	// Random strings over an alphabet of the bytes that need care.
	alphabet := []string{"a", " ", `"`, `\`, "\n", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "\xff", "\xe2", "\x80", "😀", "<", "&"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b []byte
		for range r.IntN(12) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		check(string(b))
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendString(nil, s)), jsonString(t, s); got != want {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}
