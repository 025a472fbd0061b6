package r4

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Issue is one validation problem, located by a FHIRPath-style path such as
// Patient.name[0].given[1].
type Issue struct {
	Severity string // error
	Code     string // FHIR IssueType: structure, value, invalid, required
	Path     string
	Message  string
}

// The lexical forms of the R4 primitives are checked by the matchers below rather than by
// regexps, which were half the time of Validate. Each accepts exactly the language of the
// R4 regex it quotes, anchored at both ends; primitive_test.go checks them against the
// regexps. The regexes' \s is Go's, the ASCII [\t\n\f\r ], so the matchers work on bytes:
// every other byte, non-ASCII or invalid UTF-8 (U+FFFD to regexp), is [^\s].
var (
	reOID  = regexp.MustCompile(`^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$`)
	reUUID = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// ValidID reports whether id is a valid FHIR resource id: the R4 id regex
// [A-Za-z0-9\-\.]{1,64}.
func ValidID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || isDigit(c) || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validCode accepts exactly the R4 code regex [^\s]+(\s[^\s]+)*: not empty, and no
// leading, trailing or doubled whitespace.
func validCode(s string) bool {
	if s == "" || isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if isSpace(s[i]) && isSpace(s[i-1]) {
			return false
		}
	}
	return true
}

// validDate accepts exactly the R4 date regex
// ([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?
// The year alternatives spell out "four digits, not 0000".
func validDate(s string) bool {
	switch len(s) {
	case 4, 7, 10:
	default:
		return false
	}
	if !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) || s[:4] == "0000" {
		return false
	}
	if len(s) >= 7 && (s[4] != '-' || !num2(s[5:7], 1, 12)) {
		return false
	}
	if len(s) == 10 && (s[7] != '-' || !num2(s[8:10], 1, 31)) {
		return false
	}
	return true
}

// validDateTime accepts exactly the R4 dateTime regex
// ([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?
// which is a date, or a full date with a time and zone: an instant.
func validDateTime(s string) bool { return validDate(s) || validInstant(s) }

// validInstant accepts exactly the R4 instant regex
// ([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))
func validInstant(s string) bool {
	if len(s) < 11 || !validDate(s[:10]) || s[10] != 'T' {
		return false
	}
	s = s[11:]
	n := clock(s)
	return n > 0 && validZone(s[n:])
}

// validTime accepts exactly the R4 time regex ([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?
func validTime(s string) bool {
	n := clock(s)
	return n > 0 && n == len(s)
}

// clock returns the length of the time at the start of s, ([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?
// with as many fraction digits as there are, or 0 if s does not start with one.
func clock(s string) int {
	if len(s) < 8 || !num2(s[0:2], 0, 23) || s[2] != ':' || !num2(s[3:5], 0, 59) || s[5] != ':' || !num2(s[6:8], 0, 60) {
		return 0
	}
	if len(s) > 8 && s[8] == '.' {
		if d := digits(s[9:]); d > 0 {
			return 9 + d
		}
	}
	return 8
}

// validZone accepts exactly Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00), the zone of the
// dateTime and instant regexes.
func validZone(s string) bool {
	if s == "Z" {
		return true
	}
	if len(s) != 6 || s[0] != '+' && s[0] != '-' || s[3] != ':' {
		return false
	}
	return num2(s[1:3], 0, 13) && num2(s[4:6], 0, 59) || s[1:] == "14:00"
}

// validInteger accepts exactly the R4 integer regex -?([0]|([1-9][0-9]*)); the range is
// checked by the caller.
func validInteger(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	n := whole(s)
	return n > 0 && n == len(s)
}

// validDecimal accepts exactly the R4 decimal regex -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validDecimal(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	n := whole(s)
	if n == 0 {
		return false
	}
	s = s[n:]
	if s != "" && s[0] == '.' {
		n = digits(s[1:])
		if n == 0 {
			return false
		}
		s = s[1+n:]
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s != "" && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		n = digits(s)
		if n == 0 {
			return false
		}
		s = s[n:]
	}
	return s == ""
}

// validBase64 accepts exactly the R4 base64Binary regex (\s*([0-9a-zA-Z\+/=]){4}\s*)+:
// at least one group of four, and whitespace only between groups, so a multiple of four
// base64 characters before every whitespace and at the end. (As a regexp this took
// 250µs for a 4 kB attachment.)
func validBase64(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || isDigit(c) || c == '+' || c == '/' || c == '=':
			n++
		case isSpace(c):
			if n%4 != 0 {
				return false
			}
		default:
			return false
		}
	}
	return n > 0 && n%4 == 0
}

// whole returns the length of the whole number 0|[1-9][0-9]* at the start of s, or 0.
func whole(s string) int {
	switch {
	case s == "" || !isDigit(s[0]):
		return 0
	case s[0] == '0':
		return 1
	}
	return digits(s)
}

// digits returns the number of ASCII digits at the start of s.
func digits(s string) int {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return n
}

// num2 reports whether s is two ASCII digits whose value is between lo and hi.
func num2(s string, lo, hi int) bool {
	if len(s) != 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return false
	}
	n := int(s[0]-'0')*10 + int(s[1]-'0')
	return lo <= n && n <= hi
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isSpace reports whether c is in Go's \s, [\t\n\f\r ].
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// validator walks a resource keeping the path as a stack of segments, joined only when
// an issue is reported: building path strings for every element cost a third of the time.
type validator struct {
	m      *model
	issues []Issue
	path   []string
}

func (v *validator) push(seg string) { v.path = append(v.path, seg) }
func (v *validator) pop()            { v.path = v.path[:len(v.path)-1] }

func (v *validator) pathString() string {
	var b strings.Builder
	for i, seg := range v.path {
		if i > 0 && seg[0] != '[' {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

func (v *validator) add(code, seg, format string, args ...any) {
	if len(v.issues) >= 100 { // enough to fix a resource; bounded for hostile input
		return
	}
	if seg != "" {
		v.push(seg)
		defer v.pop()
	}
	v.issues = append(v.issues, Issue{Severity: "error", Code: code, Path: v.pathString(), Message: fmt.Sprintf(format, args...)})
}

// Validate checks a decoded resource against the R4 model: known type, valid id, no
// unknown elements, arrays exactly where the model repeats, primitives of the right JSON
// type and lexical form, well-formed references. Invariants and terminology are not
// checked.
func Validate(res map[string]any) []Issue {
	v := &validator{m: get(), path: make([]string, 0, 16)}
	v.resource(res)
	return v.issues
}

func (v *validator) resource(res map[string]any) {
	rt, ok := res["resourceType"].(string)
	if !ok {
		v.add("required", "resourceType", "resourceType is required and must be a string")
		return
	}
	if !v.m.resources[rt] {
		v.add("not-supported", "resourceType", "%q is not an R4 resource type", rt)
		return
	}
	if len(v.path) == 0 {
		v.push(rt)
		defer v.pop()
	}
	if id, present := res["id"]; present {
		if s, ok := id.(string); !ok || !ValidID(s) {
			v.add("value", "id", "id must be 1-64 characters of A-Z a-z 0-9 - . (got %s)", show(id))
		}
	}
	v.object(rt, res, true)
}

func (v *validator) object(ctxPath string, obj map[string]any, isResource bool) {
	c := v.m.contexts[ctxPath]
	if c == nil {
		v.add("structure", "", "no definition for %s", ctxPath)
		return
	}
	if len(obj) == 0 {
		v.add("structure", "", "an element must have content: empty objects are not allowed")
	}
	for key, val := range obj {
		if isResource && key == "resourceType" {
			continue
		}
		if base, ok := strings.CutPrefix(key, "_"); ok {
			ref := c.byName[base]
			if ref == nil || !v.m.primitives[ref.typ] {
				v.add("structure", key, "unknown element %q", key)
				continue
			}
			v.push(key)
			v.primitiveExtension(val, ref.el.Array)
			v.pop()
			continue
		}
		ref := c.byName[key]
		if ref == nil {
			v.add("structure", key, "unknown element %q in %s", key, ctxPath)
			continue
		}
		v.push(key)
		v.element(ref, key, val, obj)
		v.pop()
	}
}

func (v *validator) element(ref *childRef, key string, val any, obj map[string]any) {
	if !ref.el.Array {
		if _, isArr := val.([]any); isArr {
			v.add("structure", "", "%s does not repeat: it must not be a JSON array", key)
			return
		}
		v.value(ref.typ, val)
		return
	}
	arr, ok := val.([]any)
	if !ok {
		v.add("structure", "", "%s repeats: it must be a JSON array", key)
		return
	}
	if len(arr) == 0 {
		v.add("structure", "", "arrays must not be empty")
	}
	_, hasExt := obj["_"+key]
	for i, item := range arr {
		if item == nil && hasExt {
			continue // the value is carried by the _key extension array
		}
		v.push("[" + strconv.Itoa(i) + "]")
		v.value(ref.typ, item)
		v.pop()
	}
}

// primitiveExtension checks _x siblings: an Element (id, extension) or, for repeating
// primitives, an array of them or nulls.
func (v *validator) primitiveExtension(val any, array bool) {
	check := func(x any) {
		if x == nil {
			return
		}
		obj, ok := x.(map[string]any)
		if !ok {
			v.add("structure", "", "a primitive's extension element must be an object")
			return
		}
		v.object("Element", obj, false)
	}
	if !array {
		check(val)
		return
	}
	arr, ok := val.([]any)
	if !ok {
		v.add("structure", "", "must be an array (the primitive repeats)")
		return
	}
	for i, x := range arr {
		v.push("[" + strconv.Itoa(i) + "]")
		check(x)
		v.pop()
	}
}

func (v *validator) value(typ string, val any) {
	if val == nil {
		v.add("structure", "", "null is not allowed here")
		return
	}
	if v.m.primitives[typ] || typ == "string" {
		v.primitive(typ, val)
		return
	}
	obj, ok := val.(map[string]any)
	if !ok {
		v.add("structure", "", "must be a JSON object (%s), not %s", strings.TrimLeft(typ, "#@"), show(val))
		return
	}
	if typ == "Resource" {
		v.resource(obj)
		return
	}
	ctx := contextOf(typ)
	v.object(ctx, obj, false)
	if ctx == "Reference" {
		if ref, ok := obj["reference"].(string); ok && !validReference(ref, v.m) {
			v.add("value", "reference", "%q is not a valid reference (Type/id, an absolute URL, #id, urn:uuid:..., or Type?criteria)", ref)
		}
	}
}

func (v *validator) primitive(typ string, val any) {
	switch typ {
	case "boolean":
		if _, ok := val.(bool); !ok {
			v.add("value", "", "must be a JSON boolean, not %s", show(val))
		}
		return
	case "integer", "positiveInt", "unsignedInt", "decimal":
		n, ok := val.(json.Number)
		if !ok {
			v.add("value", "", "must be a JSON number (%s), not %s", typ, show(val))
			return
		}
		s := string(n)
		if typ == "decimal" {
			if !validDecimal(s) {
				v.add("value", "", "%s is not a valid decimal", s)
			}
			return
		}
		i, err := strconv.ParseInt(s, 10, 32)
		switch {
		case !validInteger(s) || err != nil:
			v.add("value", "", "%s is not a valid %s (a 32-bit whole number)", s, typ)
		case typ == "positiveInt" && i < 1:
			v.add("value", "", "%s is not a positiveInt (must be ≥ 1)", s)
		case typ == "unsignedInt" && i < 0:
			v.add("value", "", "%s is not an unsignedInt (must be ≥ 0)", s)
		}
		return
	}
	s, ok := val.(string)
	if !ok {
		v.add("value", "", "must be a JSON string (%s), not %s", typ, show(val))
		return
	}
	if strings.Trim(s, " \t\r\n") == "" { // XML Schema whitespace: U+00A0 is content
		v.add("value", "", "must not be empty or only whitespace")
		return
	}
	bad := false
	switch typ {
	case "id":
		bad = !ValidID(s)
	case "code":
		bad = !validCode(s)
	case "date":
		bad = !validDate(s) || !realDate(s)
	case "dateTime":
		bad = !validDateTime(s) || !realDate(s)
	case "instant":
		bad = !validInstant(s) || !realDate(s)
	case "time":
		bad = !validTime(s)
	case "oid":
		bad = !reOID.MatchString(s)
	case "uuid":
		bad = !reUUID.MatchString(s)
	case "base64Binary":
		bad = !validBase64(s)
	case "uri", "url", "canonical":
		bad = strings.ContainsAny(s, " \t\r\n")
	}
	if bad {
		v.add("value", "", "%q is not a valid %s", s, typ)
	}
}

// realDate rejects calendar-impossible dates the regex lets through (2023-02-30).
func realDate(s string) bool {
	if len(s) < 10 {
		return true
	}
	_, err := time.Parse("2006-01-02", s[:10])
	return err == nil
}

func validReference(ref string, m *model) bool {
	switch {
	case strings.HasPrefix(ref, "#"), strings.HasPrefix(ref, "urn:uuid:"), strings.HasPrefix(ref, "urn:oid:"), strings.Contains(ref, "://"):
		return !strings.ContainsAny(ref, " \t\r\n")
	}
	if typ, _, ok := strings.Cut(ref, "?"); ok {
		return m.resources[typ]
	}
	parts := strings.Split(ref, "/")
	switch len(parts) {
	case 2:
		return m.resources[parts[0]] && ValidID(parts[1])
	case 4:
		return m.resources[parts[0]] && ValidID(parts[1]) && parts[2] == "_history" && ValidID(parts[3])
	}
	return false
}

func show(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
