package r4

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds JSON nesting: deeper documents are refused.
const MaxDepth = 100

var (
	errTooDeep   = fmt.Errorf("the JSON is nested deeper than %d levels", MaxDepth)
	errTrailing  = errors.New("trailing data after the JSON object")
	errNotObject = errors.New("the JSON value is not an object")
)

// Decode parses one JSON object with decimals kept as json.Number. It refuses trailing
// data and nesting deeper than MaxDepth.
//
// The values are exactly what encoding/json gives with UseNumber (map[string]any, []any,
// string, json.Number, bool, nil; invalid UTF-8 and unpaired surrogates become U+FFFD;
// the last of duplicate keys wins), and it accepts exactly what encoding/json accepts.
// It is hand-written because every write and every bulk-loaded resource passes through
// it: encoding/json scans each value twice, and decoding was about a tenth of load CPU.
func Decode(data []byte) (map[string]any, error) {
	d := decoders.Get().(*decoder)
	d.data, d.depth = data, 0
	defer func() {
		d.data = nil
		if cap(d.buf) > 64<<10 { // one huge escaped string need not stay in memory
			d.buf = nil
		}
		decoders.Put(d)
	}()
	i := d.space(0)
	if i == len(data) {
		return nil, errors.New("the JSON input is empty")
	}
	switch c := data[i]; {
	case c == '{':
	case c == '[' || c == '"' || c == '-' || '0' <= c && c <= '9' || c == 't' || c == 'f' || c == 'n':
		return nil, errNotObject
	case i == 0 && len(data) >= 3 && string(data[:3]) == "\xEF\xBB\xBF":
		return nil, errors.New("the JSON starts with a byte order mark (U+FEFF), which JSON does not allow")
	default:
		return nil, d.syntax(i, "looking for beginning of value")
	}
	obj, i, err := d.object(i + 1)
	if err != nil {
		return nil, err
	}
	if d.space(i) != len(data) {
		return nil, errTrailing
	}
	return obj, nil
}

// decoder holds the input and the members and elements of the objects and arrays being
// parsed, so that each map and slice is made once at its final size.
type decoder struct {
	data    []byte
	depth   int
	members []member
	elems   []any
	buf     []byte // for strings with escapes or invalid UTF-8
}

// decoders keeps the scratch of a decoder for the next Decode.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

type member struct {
	key string
	val any
}

func (d *decoder) space(i int) int {
	for i < len(d.data) {
		switch d.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value parses the value that starts at data[i].
func (d *decoder) value(i int) (any, int, error) {
	if i == len(d.data) {
		return nil, i, d.syntax(i, "looking for beginning of value")
	}
	switch c := d.data[i]; {
	case c == '"':
		return d.str(i + 1)
	case c == '{':
		return d.object(i + 1)
	case c == '[':
		return d.array(i + 1)
	case c == '-' || '0' <= c && c <= '9':
		return d.number(i)
	case c == 't':
		i, err := d.literal(i, "true")
		return true, i, err
	case c == 'f':
		i, err := d.literal(i, "false")
		return false, i, err
	case c == 'n':
		i, err := d.literal(i, "null")
		return nil, i, err
	}
	return nil, i, d.syntax(i, "looking for beginning of value")
}

// object parses an object whose '{' is just before data[i].
func (d *decoder) object(i int) (map[string]any, int, error) {
	if d.depth++; d.depth > MaxDepth {
		return nil, i, errTooDeep
	}
	data := d.data
	base := len(d.members)
	if i = d.space(i); i < len(data) && data[i] == '}' {
		d.depth--
		return map[string]any{}, i + 1, nil
	}
	for {
		if i == len(data) || data[i] != '"' {
			return nil, i, d.syntax(i, "looking for beginning of object key string")
		}
		var key string
		var v any
		var err error
		if key, i, err = d.str(i + 1); err != nil {
			return nil, i, err
		}
		if i = d.space(i); i == len(data) || data[i] != ':' {
			return nil, i, d.syntax(i, "after object key")
		}
		if v, i, err = d.value(d.space(i + 1)); err != nil {
			return nil, i, err
		}
		d.members = append(d.members, member{key, v})
		if i = d.space(i); i == len(data) {
			return nil, i, d.syntax(i, "after object key:value pair")
		}
		switch data[i] {
		case ',':
			i = d.space(i + 1)
			continue
		case '}':
			i++
		default:
			return nil, i, d.syntax(i, "after object key:value pair")
		}
		break
	}
	ms := d.members[base:]
	obj := make(map[string]any, len(ms))
	for _, m := range ms {
		obj[m.key] = m.val
	}
	clear(ms) // the scratch must not keep the values alive
	d.members = d.members[:base]
	d.depth--
	return obj, i, nil
}

// array parses an array whose '[' is just before data[i].
func (d *decoder) array(i int) ([]any, int, error) {
	if d.depth++; d.depth > MaxDepth {
		return nil, i, errTooDeep
	}
	data := d.data
	base := len(d.elems)
	if i = d.space(i); i < len(data) && data[i] == ']' {
		d.depth--
		return []any{}, i + 1, nil
	}
	for {
		var v any
		var err error
		if v, i, err = d.value(i); err != nil {
			return nil, i, err
		}
		d.elems = append(d.elems, v)
		if i = d.space(i); i == len(data) {
			return nil, i, d.syntax(i, "after array element")
		}
		switch data[i] {
		case ',':
			i = d.space(i + 1)
			continue
		case ']':
			i++
		default:
			return nil, i, d.syntax(i, "after array element")
		}
		break
	}
	arr := make([]any, len(d.elems)-base)
	copy(arr, d.elems[base:])
	clear(d.elems[base:])
	d.elems = d.elems[:base]
	d.depth--
	return arr, i, nil
}

// str parses a string whose opening quote is just before data[i]. Strings without
// escapes or invalid UTF-8, nearly all of them, are copied straight from the input.
func (d *decoder) str(i int) (string, int, error) {
	data := d.data
	for j := i; ; {
		for j < len(data) && plain[data[j]] {
			j++
		}
		if j == len(data) {
			return "", j, d.syntax(j, "in string literal")
		}
		switch c := data[j]; {
		case c == '"':
			return string(data[i:j]), j + 1, nil
		case c == '\\':
			return d.unescape(i, j)
		case c < 0x20:
			return "", j, d.syntax(j, "in string literal")
		}
		r, size := utf8.DecodeRune(data[j:])
		if r == utf8.RuneError && size == 1 {
			return d.unescape(i, j)
		}
		j += size
	}
}

// plain marks the bytes a string holds as they are: ASCII but for '"', '\\' and control
// characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unescape finishes the string that starts at data[start] from data[i], the first
// escape or invalid UTF-8 byte in it, decoding as encoding/json does.
func (d *decoder) unescape(start, i int) (string, int, error) {
	data := d.data
	b := append(d.buf[:0], data[start:i]...)
	for i < len(data) {
		switch c := data[i]; {
		case c == '"':
			d.buf = b
			return string(b), i + 1, nil
		case c == '\\':
			if i++; i == len(data) {
				return "", i, d.syntax(i, "in string escape code")
			}
			switch data[i] {
			case '"', '\\', '/':
				b = append(b, data[i])
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, err := d.hex4(i + 1)
				if err != nil {
					return "", i, err
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A pair only if a low surrogate escape follows; otherwise U+FFFD,
					// and whatever follows is read on its own.
					r2, ok := d.surrogate(i + 1)
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", i, d.syntax(i, "in string escape code")
			}
			i++
		case c < 0x20:
			return "", i, d.syntax(i, "in string literal")
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			// Each byte that does not start valid UTF-8 becomes one U+FFFD.
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, r)
			} else {
				b = append(b, data[i:i+size]...)
			}
			i += size
		}
	}
	return "", len(data), d.syntax(len(data), "in string literal")
}

// hex4 reads the four hex digits of a \u escape at data[i:].
func (d *decoder) hex4(i int) (rune, error) {
	var r rune
	for k := i; k < i+4; k++ {
		if k == len(d.data) {
			return 0, d.syntax(k, `in \u hexadecimal character escape`)
		}
		c := d.data[k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, d.syntax(k, `in \u hexadecimal character escape`)
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

// surrogate reads the \uXXXX escape at data[i:], if there is a well-formed one.
func (d *decoder) surrogate(i int) (rune, bool) {
	if i+6 > len(d.data) || d.data[i] != '\\' || d.data[i+1] != 'u' {
		return 0, false
	}
	r, err := d.hex4(i + 2)
	return r, err == nil
}

// number parses -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at data[i:] and keeps its
// text, so that decimals like 1.50 keep their precision.
func (d *decoder) number(i int) (json.Number, int, error) {
	data, start := d.data, i
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = d.digits(i + 1)
	default:
		return "", i, d.syntax(i, "in numeric literal")
	}
	if i < len(data) && data[i] == '.' {
		if i++; i == len(data) || data[i] < '0' || data[i] > '9' {
			return "", i, d.syntax(i, "after decimal point in numeric literal")
		}
		i = d.digits(i)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		if i++; i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i == len(data) || data[i] < '0' || data[i] > '9' {
			return "", i, d.syntax(i, "in exponent of numeric literal")
		}
		i = d.digits(i)
	}
	return json.Number(data[start:i]), i, nil
}

func (d *decoder) digits(i int) int {
	for i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9' {
		i++
	}
	return i
}

// literal checks that true, false or null is at data[i:].
func (d *decoder) literal(i int, lit string) (int, error) {
	for k := range len(lit) {
		if i+k == len(d.data) || d.data[i+k] != lit[k] {
			return i + k, d.syntax(i+k, fmt.Sprintf("in literal %s (expecting %q)", lit, lit[k]))
		}
	}
	return i + len(lit), nil
}

// syntax describes what is wrong at data[i], with encoding/json's wording and the
// offset (from 0) of the byte, for the OperationOutcome the user reads.
func (d *decoder) syntax(i int, context string) error {
	if i == len(d.data) {
		return fmt.Errorf("unexpected end of JSON input at offset %d", i)
	}
	c := d.data[i]
	if c >= utf8.RuneSelf {
		return fmt.Errorf("invalid byte 0x%02X %s at offset %d", c, context, i)
	}
	return fmt.Errorf("invalid character %s %s at offset %d", strconv.QuoteRune(rune(c)), context, i)
}
