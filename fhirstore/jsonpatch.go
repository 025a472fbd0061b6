package fhirstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// patchOp is one RFC 6902 operation.
type patchOp struct {
	Op       string `json:"op"`
	Path     string `json:"path"`
	From     string `json:"from"`
	Value    any    `json:"value"`
	hasValue bool
}

func parseJSONPatch(b []byte) ([]patchOp, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var raw []map[string]any
	if err := d.Decode(&raw); err != nil {
		return nil, Errorf(EInvalid, "a JSON Patch must be a JSON array of operations: %v", err)
	}
	ops := make([]patchOp, 0, len(raw))
	for i, r := range raw {
		var op patchOp
		op.Op, _ = r["op"].(string)
		op.Path, _ = r["path"].(string)
		op.From, _ = r["from"].(string)
		op.Value, op.hasValue = r["value"]
		if _, ok := r["path"].(string); !ok {
			return nil, Errorf(EInvalid, "patch operation %d has no path", i)
		}
		switch op.Op {
		case "add", "replace", "test":
			if !op.hasValue {
				return nil, Errorf(EInvalid, "patch operation %d (%s) needs a value", i, op.Op)
			}
		case "move", "copy":
			if _, ok := r["from"].(string); !ok {
				return nil, Errorf(EInvalid, "patch operation %d (%s) needs from", i, op.Op)
			}
		case "remove":
		default:
			return nil, Errorf(EInvalid, "patch operation %d has unknown op %q", i, op.Op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// applyJSONPatch applies ops in order to doc; any failure leaves the caller's state
// untouched because nothing is written until the whole patch succeeds.
func applyJSONPatch(doc any, ops []patchOp) (any, error) {
	var err error
	for i, op := range ops {
		switch op.Op {
		case "add":
			doc, err = pointerSet(doc, op.Path, op.Value, true)
		case "replace":
			if _, err = pointerGet(doc, op.Path); err == nil {
				doc, err = pointerSet(doc, op.Path, op.Value, false)
			}
		case "remove":
			doc, _, err = pointerRemove(doc, op.Path)
		case "move":
			var v any
			if strings.HasPrefix(op.Path, op.From+"/") {
				err = Errorf(EUnprocessable, "patch operation %d moves %s into itself", i, op.From)
				break
			}
			if doc, v, err = pointerRemove(doc, op.From); err == nil {
				doc, err = pointerSet(doc, op.Path, v, true)
			}
		case "copy":
			var v any
			if v, err = pointerGet(doc, op.From); err == nil {
				doc, err = pointerSet(doc, op.Path, deepCopy(v), true)
			}
		case "test":
			var v any
			if v, err = pointerGet(doc, op.Path); err == nil && !jsonEqual(v, op.Value) {
				err = Errorf(EUnprocessable, "patch test failed at %s", op.Path)
			}
		}
		if err != nil {
			if e, ok := err.(*Error); ok {
				return nil, e
			}
			return nil, Errorf(EUnprocessable, "patch operation %d (%s %s): %v", i, op.Op, op.Path, err)
		}
	}
	return doc, nil
}

func splitPointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, Errorf(EUnprocessable, "JSON pointer %q must start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func arrayIndex(tok string, n int, forAdd bool) (int, error) {
	if forAdd && tok == "-" {
		return n, nil
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i < 0 || (tok != "0" && tok[0] == '0') {
		return 0, Errorf(EUnprocessable, "%q is not an array index", tok)
	}
	limit := n - 1
	if forAdd {
		limit = n
	}
	if i > limit {
		return 0, Errorf(EUnprocessable, "array index %d is out of range", i)
	}
	return i, nil
}

func pointerGet(doc any, p string) (any, error) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, err
	}
	cur := doc
	for _, tok := range parts {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, Errorf(EUnprocessable, "path %s does not exist", p)
			}
			cur = v
		case []any:
			i, err := arrayIndex(tok, len(c), false)
			if err != nil {
				return nil, err
			}
			cur = c[i]
		default:
			return nil, Errorf(EUnprocessable, "path %s does not exist", p)
		}
	}
	return cur, nil
}

// pointerSet sets (insert=true: adds, inserting into arrays) the value at p and returns the
// possibly new root.
func pointerSet(doc any, p string, v any, insert bool) (any, error) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return v, nil
	}
	parent, err := pointerGet(doc, "/"+strings.Join(escapeAll(parts[:len(parts)-1]), "/"))
	if len(parts) == 1 {
		parent, err = doc, nil
	}
	if err != nil {
		return nil, err
	}
	last := parts[len(parts)-1]
	switch c := parent.(type) {
	case map[string]any:
		c[last] = v
		return doc, nil
	case []any:
		i, err := arrayIndex(last, len(c), insert)
		if err != nil {
			return nil, err
		}
		if !insert {
			c[i] = v
			return doc, nil
		}
		c = append(c, nil)
		copy(c[i+1:], c[i:])
		c[i] = v
		// The slice header changed: store it back into its own parent.
		return pointerSet(doc, "/"+strings.Join(escapeAll(parts[:len(parts)-1]), "/"), c, false)
	default:
		return nil, Errorf(EUnprocessable, "the parent of %s is not an object or array", p)
	}
}

func pointerRemove(doc any, p string) (any, any, error) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, nil, err
	}
	if len(parts) == 0 {
		return nil, nil, Errorf(EUnprocessable, "cannot remove the whole document")
	}
	parentPath := "/" + strings.Join(escapeAll(parts[:len(parts)-1]), "/")
	var parent any = doc
	if len(parts) > 1 {
		if parent, err = pointerGet(doc, parentPath); err != nil {
			return nil, nil, err
		}
	}
	last := parts[len(parts)-1]
	switch c := parent.(type) {
	case map[string]any:
		v, ok := c[last]
		if !ok {
			return nil, nil, Errorf(EUnprocessable, "path %s does not exist", p)
		}
		delete(c, last)
		return doc, v, nil
	case []any:
		i, err := arrayIndex(last, len(c), false)
		if err != nil {
			return nil, nil, err
		}
		v := c[i]
		c = append(c[:i:i], c[i+1:]...)
		if len(parts) == 1 {
			return c, v, nil
		}
		doc, err = pointerSet(doc, parentPath, c, false)
		return doc, v, err
	default:
		return nil, nil, Errorf(EUnprocessable, "path %s does not exist", p)
	}
}

func escapeAll(parts []string) []string {
	out := make([]string, len(parts))
	for i, s := range parts {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
	}
	return out
}

func deepCopy(v any) any {
	switch c := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(c))
		for k, x := range c {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(c))
		for i, x := range c {
			a[i] = deepCopy(x)
		}
		return a
	}
	return v
}

// jsonEqual compares decoded JSON; numbers compare by value, not spelling (1.0 == 1).
func jsonEqual(a, b any) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		af, e1 := an.Float64()
		bf, e2 := bn.Float64()
		return e1 == nil && e2 == nil && af == bf
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !jsonEqual(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
