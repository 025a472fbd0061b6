package fhirstore

import (
	"html"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// _text and _content are answered by search_text (migration 0006), an FTS5 table with
// one row per resource (rowid = rid): the narrative in one column, the resource's other
// distinct strings in the other. _text searches the narrative, _content both.

// fullText extracts the two documents of res: its narrative without markup, and its
// distinct human-readable strings.
func fullText(res map[string]any) (narrative, content string) {
	if t, ok := res["text"].(map[string]any); ok {
		if div, ok := t["div"].(string); ok {
			narrative = stripMarkup(div)
		}
	}
	seen := map[string]bool{}
	collectStrings(res, seen)
	return narrative, strings.Join(slices.Sorted(maps.Keys(seen)), "\n")
}

// stripMarkup turns XHTML into its text: tags become spaces (so <td>a</td><td>b</td>
// stays two words) and entities are decoded.
func stripMarkup(div string) string {
	var b strings.Builder
	inTag := false
	for _, r := range div {
		switch {
		case r == '<':
			inTag = true
			b.WriteByte(' ')
		case r == '>' && inTag:
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

// contentSkip are elements whose strings are not content: identity and plumbing (ids,
// references, systems, urls, metadata), base64 data, and the narrative (indexed apart).
var contentSkip = map[string]bool{
	"resourceType": true, "id": true, "meta": true, "reference": true, "system": true, "url": true,
	"fullUrl": true, "data": true, "div": true, "contentType": true, "language": true,
}

// collectStrings adds the content strings under v to seen: URIs and dates are left out,
// they are searched through their own parameters and would only bloat the index.
func collectStrings(v any, seen map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if !contentSkip[k] {
				collectStrings(c, seen)
			}
		}
	case []any:
		for _, c := range x {
			collectStrings(c, seen)
		}
	case string:
		if s := strings.TrimSpace(x); s != "" && !looksLikeURI(s) && !looksLikeDate(s) {
			seen[s] = true
		}
	}
}

// looksLikeURI is true for a value that is a URI as a whole (a note quoting one is text).
func looksLikeURI(s string) bool {
	return !strings.ContainsAny(s, " \t\n") && (strings.Contains(s, "://") || strings.HasPrefix(s, "urn:"))
}

// looksLikeDate is true for a FHIR date, dateTime or instant: YYYY, YYYY-MM, YYYY-MM-DD or
// longer with a time. The shape is checked first; parsing every code is costly.
func looksLikeDate(s string) bool {
	if len(s) < 4 || (len(s) > 4 && s[4] != '-') || (len(s) != 4 && len(s) != 7 && len(s) < 10) {
		return false
	}
	for _, c := range s[:4] {
		if c < '0' || c > '9' {
			return false
		}
	}
	_, _, ok := parseDateRange(s)
	return ok
}

// ftsQuery compiles a _text/_content value into an FTS5 query. The value is a search
// expression: words are ANDed; OR between two words or phrases makes them alternatives
// (binding tighter than the implicit AND, as in web search: `heart OR cardiac failure` is
// (heart OR cardiac) AND failure); "double quotes" make a phrase; AND may be written.
// Matching is case- and accent-insensitive (the table's unicode61 tokenizer with
// remove_diacritics). The query is built only from double-quoted words the user cannot
// escape from, so no value reaches FTS5's own syntax (NEAR, *, ^, column filters). An
// unterminated quote, a value without words or a dangling OR is malformed.
func ftsQuery(v string) (string, bool) {
	items, ok := parseTextExpr(v)
	if !ok || len(items) == 0 {
		return "", false
	}
	var and []string
	for _, alts := range items {
		var or []string
		for _, phrase := range alts {
			quoted := make([]string, len(phrase))
			for i, w := range phrase {
				quoted[i] = `"` + w + `"` // words hold letters and digits only: no quote to escape
			}
			or = append(or, strings.Join(quoted, " + "))
		}
		and = append(and, "("+strings.Join(or, " OR ")+")")
	}
	return strings.Join(and, " AND "), true
}

// parseTextExpr reads a search expression into ANDed items, each a list of alternative
// phrases, each phrase a list of words.
func parseTextExpr(v string) ([][][]string, bool) {
	var items [][][]string
	pendingOr := false
	add := func(phrase []string) {
		if pendingOr && len(items) > 0 {
			last := len(items) - 1
			items[last] = append(items[last], phrase)
		} else {
			items = append(items, [][]string{phrase})
		}
		pendingOr = false
	}
	for i := 0; i < len(v); {
		switch c := v[i]; {
		case c == '"':
			end := strings.IndexByte(v[i+1:], '"')
			if end < 0 {
				return nil, false
			}
			if words := textWords(v[i+1 : i+1+end]); len(words) > 0 {
				add(words)
			}
			i += end + 2
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			end := strings.IndexAny(v[i:], " \t\n\r\"")
			if end < 0 {
				end = len(v) - i
			}
			tok := v[i : i+end]
			i += end
			switch tok {
			case "OR":
				if len(items) == 0 || pendingOr {
					return nil, false
				}
				pendingOr = true
			case "AND":
				if len(items) == 0 || pendingOr {
					return nil, false
				}
			default:
				// Punctuation separates words, as the tokenizer does: heart-rate is two
				// words, and both must appear.
				for _, w := range textWords(tok) {
					add([]string{w})
				}
			}
		}
	}
	return items, !pendingOr
}

// textWords splits s into runs of letters, marks and digits.
func textWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
	})
}

// maxTextTerms caps the words of one _text/_content value.
const maxTextTerms = 64

// textCond is the condition for _text (narrative only) or _content (all of it).
func (q *query) textCond(a, code, modifier, value string) (string, []any, error) {
	if modifier != "" {
		return "", nil, q.bad(code+":"+modifier, "modifier :%s is not supported on %s", modifier, code)
	}
	var alts []string
	for _, v := range splitValues(value) {
		m, ok := ftsQuery(v)
		if !ok {
			return "", nil, q.ignore(code, code+" value "+strconv.Quote(v)+" is not a search expression: words, \"phrases\" and OR")
		}
		if n := strings.Count(m, `"`) / 2; n > maxTextTerms {
			return "", nil, Errorf(ETooCostly, "%s: %d words, at most %d are searched at once", code, n, maxTextTerms)
		}
		alts = append(alts, "("+m+")")
	}
	match := strings.Join(alts, " OR ")
	if code == "_text" {
		match = "narrative : (" + match + ")"
	}
	return a + ".rid IN (SELECT rowid FROM search_text WHERE search_text MATCH ?)", []any{match}, nil
}
