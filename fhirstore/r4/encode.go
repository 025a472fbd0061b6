package r4

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// Marshal writes a resource as compact JSON in the order of its definition (resourceType,
// id, meta, ... as FHIR servers conventionally do), each primitive's _x sibling right
// after it, decimals verbatim and no HTML escaping.
func Marshal(res map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(1024)
	e := encoder{m: get(), buf: &buf}
	rt, _ := res["resourceType"].(string)
	if err := e.object(rt, res, true); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type encoder struct {
	m   *model
	buf *bytes.Buffer
}

func (e *encoder) object(ctxPath string, obj map[string]any, isResource bool) error {
	c := e.m.contexts[ctxPath]
	e.buf.WriteByte('{')
	first := true
	field := func(key string, val any, childCtx string) error {
		if !first {
			e.buf.WriteByte(',')
		}
		first = false
		e.str(key)
		e.buf.WriteByte(':')
		return e.value(childCtx, val)
	}
	rt, rtFirst := obj["resourceType"]
	if rtFirst = rtFirst && isResource; rtFirst {
		if err := field("resourceType", rt, ""); err != nil {
			return err
		}
	}
	// Order the present keys by their definition order (a primitive's _x right after x);
	// keys the definition lacks go last, by name. Sorting the few present keys is much
	// cheaper than walking every defined element.
	type keyed struct {
		order int
		key   string
		val   any
		ctx   string // the context of the value's children
	}
	var inline [32]keyed // most objects have fewer keys: no allocation for them
	keys := inline[:0]
	for k, v := range obj {
		if rtFirst && k == "resourceType" {
			continue
		}
		// A primitive's _x, and anything under an unknown context, holds Element children;
		// a key the definition lacks has no context for its children.
		kv := keyed{order: 1 << 30, key: k, val: v, ctx: "Element"}
		if c != nil {
			name, ext := strings.CutPrefix(k, "_")
			r := c.byName[name]
			if r != nil {
				kv.order = r.el.Order * 2
			}
			switch {
			case ext && r != nil:
				kv.order++
			case !ext && r != nil:
				kv.ctx = contextOf(r.typ)
			case !ext:
				kv.ctx = ""
			}
		}
		keys = append(keys, kv)
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		if a.order != b.order {
			return a.order - b.order
		}
		return strings.Compare(a.key, b.key)
	})
	for _, k := range keys {
		if err := field(k.key, k.val, k.ctx); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

func (e *encoder) value(ctxPath string, v any) error {
	switch x := v.(type) {
	case map[string]any:
		if ctxPath == "Resource" {
			rt, _ := x["resourceType"].(string)
			return e.object(rt, x, true)
		}
		return e.object(ctxPath, x, false)
	case []any:
		e.buf.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.value(ctxPath, item); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
	case string:
		e.str(x)
	case json.Number:
		e.buf.WriteString(string(x))
	case bool:
		if x {
			e.buf.WriteString("true")
		} else {
			e.buf.WriteString("false")
		}
	case nil:
		e.buf.WriteString("null")
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		e.buf.Write(b)
	}
	return nil
}

func (e *encoder) str(s string) { e.buf.Write(appendString(e.buf.AvailableBuffer(), s)) }

// appendString appends s as a JSON string escaped exactly as encoding/json escapes it with
// HTML escaping off, so that stored resources stay byte for byte what they were: '"', '\\'
// and control characters escaped, invalid UTF-8 as \ufffd, U+2028 and U+2029 as \u2028
// and \u2029, everything else verbatim. An Encoder per string was a tenth of Marshal.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}

var subsetted = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}

// markSubsetted adds the SUBSETTED tag that tells a client it sees part of a resource.
func markSubsetted(out map[string]any) {
	meta, _ := out["meta"].(map[string]any)
	nm := make(map[string]any, len(meta)+1)
	for k, v := range meta {
		nm[k] = v
	}
	tags, _ := nm["tag"].([]any)
	nm["tag"] = append(slices.Clone(tags), subsetted)
	out["meta"] = nm
}

// Summary returns the _summary view of a resource: "true" keeps summary and mandatory
// elements, "text" keeps text and mandatory elements, "data" drops text; "false" or ""
// returns res unchanged. Anything else is an error for the caller to report.
func Summary(res map[string]any, mode string) (map[string]any, bool) {
	switch mode {
	case "", "false":
		return res, true
	case "true", "text", "data":
	default:
		return nil, false
	}
	rt, _ := res["resourceType"].(string)
	c := get().contexts[rt]
	out := map[string]any{}
	for k, v := range res {
		switch k {
		case "resourceType", "id", "meta":
			out[k] = v
			continue
		}
		name := strings.TrimPrefix(k, "_")
		var el *Element
		if c != nil && c.byName[name] != nil {
			el = c.byName[name].el
		}
		keep := false
		switch mode {
		case "true":
			keep = el != nil && (el.Summary || el.Min)
		case "text":
			keep = k == "text" || el != nil && el.Min
		case "data":
			keep = k != "text"
		}
		if keep {
			out[k] = v
		}
	}
	markSubsetted(out)
	return out, true
}

// Elements returns the _elements view: resourceType, id, meta and the named top-level
// elements (a choice may be named by its base, e.g. value), marked SUBSETTED.
func Elements(res map[string]any, names []string) map[string]any {
	rt, _ := res["resourceType"].(string)
	c := get().contexts[rt]
	want := map[string]bool{}
	for _, n := range names {
		want[strings.TrimSuffix(strings.TrimSpace(n), "[x]")] = true
	}
	out := map[string]any{}
	for k, v := range res {
		name := strings.TrimPrefix(k, "_")
		keep := k == "resourceType" || k == "id" || k == "meta" || want[name]
		if !keep && c != nil && c.byName[name] != nil {
			keep = want[strings.TrimSuffix(c.byName[name].el.Name, "[x]")]
		}
		if keep {
			out[k] = v
		}
	}
	markSubsetted(out)
	return out
}
