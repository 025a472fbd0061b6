package fhirstore

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"fhirbox/fhirstore/r4"
)

// The FHIRPath subset the R4 SearchParameter expressions use: paths, unions, parentheses,
// `as T` / `.as(T)` / `.ofType(T)`, `.where(resolve() is T)`, `.where(field='literal')`,
// `.exists()`, `.first()` and `extension('url')`. Expressions are compiled once, when the
// definitions load; indexing only walks the compiled steps.

// node is one value reached by a path, with the type its choice-element name implied
// (valueQuantity → Quantity), so `as Quantity` can filter.
type node struct {
	v   any
	typ string
}

type step struct {
	kind  byte   // 'f' field, 'a' as-type, 'r' where resolve() is, 'w' where field=value, 'x' extension(url), '1' first
	name  string // field, type, or url
	value string // for 'w'
	index int    // for 'i'
	// choice: a field name that is also a choice element's (value for value[x]), which
	// a missing field is then looked up as.
	choice bool
}

// fieldStep is the step to child element name.
func fieldStep(name string) step { return step{kind: 'f', name: name, choice: r4.IsChoiceName(name)} }

// fpExpr is a union of paths, each a primary (root or parenthesised sub-expression)
// followed by steps.
type fpExpr struct {
	paths   []fpPath
	boolean bool // yields exactly one true/false node
}

type fpPath struct {
	root  string  // resource type the path starts at ("" when sub is set)
	sub   *fpExpr // parenthesised start
	steps []step
}

type fpParser struct {
	s   string
	pos int
}

func compileFHIRPath(s string) (*fpExpr, error) {
	// Patient.deceased's "X.exists() and X != false" is the one boolean expression in R4:
	// it becomes a step yielding true or false.
	if x, ok := strings.CutSuffix(s, ".exists() and "+strings.TrimSuffix(strings.SplitN(s, ".exists()", 2)[0], "")+" != false"); ok {
		e, err := compileFHIRPath(x)
		if err != nil {
			return nil, err
		}
		for i := range e.paths {
			e.paths[i].steps = append(e.paths[i].steps, step{kind: 'b'})
		}
		e.boolean = true
		return e, nil
	}
	p := &fpParser{s: s}
	e, err := p.union()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("fhirpath %q: unexpected %q", s, p.s[p.pos:])
	}
	return e, nil
}

func (p *fpParser) ws() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *fpParser) eat(tok string) bool {
	p.ws()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *fpParser) ident() string {
	p.ws()
	start := p.pos
	for p.pos < len(p.s) && (unicode.IsLetter(rune(p.s[p.pos])) || unicode.IsDigit(rune(p.s[p.pos])) || p.s[p.pos] == '_') {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *fpParser) literal() (string, error) {
	p.ws()
	if !p.eat("'") {
		return "", fmt.Errorf("fhirpath %q: expected a string literal at %d", p.s, p.pos)
	}
	end := strings.IndexByte(p.s[p.pos:], '\'')
	if end < 0 {
		return "", fmt.Errorf("fhirpath %q: unterminated literal", p.s)
	}
	v := p.s[p.pos : p.pos+end]
	p.pos += end + 1
	return v, nil
}

func (p *fpParser) union() (*fpExpr, error) {
	e := &fpExpr{}
	for {
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		e.paths = append(e.paths, path)
		if !p.eat("|") {
			return e, nil
		}
	}
}

func (p *fpParser) path() (fpPath, error) {
	var path fpPath
	if p.eat("(") {
		sub, err := p.union()
		if err != nil {
			return path, err
		}
		if !p.eat(")") {
			return path, fmt.Errorf("fhirpath %q: missing )", p.s)
		}
		path.sub = sub
	} else if p.eat("%resource") {
		path.root = "%resource" // in composite components: the resource being indexed
	} else {
		path.root = p.ident()
		if path.root == "" {
			return path, fmt.Errorf("fhirpath %q: expected a name at %d", p.s, p.pos)
		}
	}
	for {
		switch {
		case p.eat(" as "), p.eat("as "):
			path.steps = append(path.steps, step{kind: 'a', name: p.ident()})
		case p.eat("["):
			p.ws()
			start := p.pos
			for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
				p.pos++
			}
			idx, err := strconv.Atoi(p.s[start:p.pos])
			if err != nil || !p.eat("]") {
				return path, fmt.Errorf("fhirpath %q: bad indexer at %d", p.s, start)
			}
			path.steps = append(path.steps, step{kind: 'i', index: idx})
		case p.eat("."):
			st, err := p.step()
			if err != nil {
				return path, err
			}
			path.steps = append(path.steps, st)
		default:
			return path, nil
		}
	}
}

func (p *fpParser) step() (step, error) {
	name := p.ident()
	if !p.eat("(") {
		return fieldStep(name), nil
	}
	var st step
	switch name {
	case "as", "ofType":
		st = step{kind: 'a', name: p.ident()}
	case "where":
		if p.eat("resolve()") {
			if !p.eat("is") {
				return st, fmt.Errorf("fhirpath %q: expected is after resolve()", p.s)
			}
			st = step{kind: 'r', name: p.ident()}
		} else {
			field := p.ident()
			if !p.eat("=") {
				return st, fmt.Errorf("fhirpath %q: unsupported where()", p.s)
			}
			lit, err := p.literal()
			if err != nil {
				return st, err
			}
			st = step{kind: 'w', name: field, value: lit}
		}
	case "extension":
		lit, err := p.literal()
		if err != nil {
			return st, err
		}
		st = step{kind: 'x', name: lit}
	case "first":
		st = step{kind: '1'}
	case "exists":
		st = step{kind: 'e'}
	default:
		return st, fmt.Errorf("fhirpath %q: unsupported function %s()", p.s, name)
	}
	if !p.eat(")") {
		return st, fmt.Errorf("fhirpath %q: missing ) after %s", p.s, name)
	}
	return st, nil
}

// eval returns the nodes the expression selects from res.
func (e *fpExpr) eval(res map[string]any, rt string) []node {
	var out []node
	for _, p := range e.paths {
		var cur []node
		switch {
		case p.sub != nil:
			cur = p.sub.eval(res, rt)
		case p.root == rt || p.root == "Resource" || p.root == "DomainResource":
			cur = []node{{v: res, typ: rt}}
		default:
			continue
		}
		out = append(out, p.walk(cur)...)
	}
	if e.boolean {
		v := false
		for _, n := range out {
			if b, isBool := n.v.(bool); !isBool || b {
				v = true
			}
		}
		return []node{{v: v, typ: "boolean"}}
	}
	return out
}

// evalFrom evaluates a composite component's expression relative to ctx, one node the
// composite's own expression selected: a leading name is a field of ctx (`code`,
// `value.as(Quantity)`), and %resource is the resource itself.
func (e *fpExpr) evalFrom(ctx node, res map[string]any, rt string) []node {
	var out []node
	for _, p := range e.paths {
		var cur []node
		switch {
		case p.sub != nil:
			cur = p.sub.evalFrom(ctx, res, rt)
		case p.root == "%resource":
			cur = []node{{v: res, typ: rt}}
		default:
			cur = fieldStep(p.root).apply([]node{ctx})
		}
		out = append(out, p.walk(cur)...)
	}
	return out
}

// walk applies the path's steps to its starting nodes.
func (p fpPath) walk(cur []node) []node {
	for _, st := range p.steps {
		if len(cur) == 0 {
			break
		}
		cur = st.apply(cur)
	}
	return cur
}

func (st step) apply(in []node) []node {
	var out []node
	switch st.kind {
	case 'f':
		for _, n := range in {
			m, ok := n.v.(map[string]any)
			if !ok {
				continue
			}
			if v, ok := m[st.name]; ok {
				out = appendValues(out, v, "")
				continue
			}
			if !st.choice {
				continue
			}
			// A choice element: value → valueQuantity, valueString...
			for k, v := range m {
				if len(k) > len(st.name) && strings.HasPrefix(k, st.name) && unicode.IsUpper(rune(k[len(st.name)])) {
					out = appendValues(out, v, k[len(st.name):])
				}
			}
		}
	case 'a':
		for _, n := range in {
			if strings.EqualFold(n.typ, st.name) || n.typ == "" && matchesType(n.v, st.name) {
				out = append(out, n)
			}
		}
	case 'r':
		for _, n := range in {
			m, _ := n.v.(map[string]any)
			ref, _ := m["reference"].(string)
			if refType(ref) == st.name {
				out = append(out, n)
			}
		}
	case 'w':
		for _, n := range in {
			if m, ok := n.v.(map[string]any); ok && m[st.name] == st.value {
				out = append(out, n)
			}
		}
	case 'x':
		for _, n := range in {
			m, _ := n.v.(map[string]any)
			exts, _ := m["extension"].([]any)
			for _, x := range exts {
				if xm, ok := x.(map[string]any); ok && xm["url"] == st.name {
					out = append(out, node{v: xm})
				}
			}
		}
	case '1':
		if len(in) > 0 {
			out = in[:1]
		}
	case 'i':
		if st.index < len(in) {
			out = in[st.index : st.index+1]
		}
	case 'e':
		if len(in) > 0 {
			out = []node{{v: true, typ: "boolean"}}
		}
	case 'b':
		out = in
	}
	return out
}

func appendValues(out []node, v any, typ string) []node {
	if arr, ok := v.([]any); ok {
		for _, x := range arr {
			if x != nil {
				out = append(out, node{v: x, typ: typ})
			}
		}
		return out
	}
	return append(out, node{v: v, typ: typ})
}

// matchesType guesses whether an untyped node is of FHIR type t, for `as` on non-choice
// elements (e.g. Composition.relatesTo.target as Reference).
func matchesType(v any, t string) bool {
	m, isMap := v.(map[string]any)
	switch t {
	case "Reference":
		return isMap && (m["reference"] != nil || m["identifier"] != nil)
	case "Identifier":
		return isMap && m["value"] != nil && m["reference"] == nil
	case "CodeableConcept":
		return isMap && (m["coding"] != nil || m["text"] != nil)
	case "Quantity":
		return isMap && m["value"] != nil
	case "Period":
		return isMap && (m["start"] != nil || m["end"] != nil)
	}
	_, isStr := v.(string)
	return !isMap && isStr
}

// refType is the resource type a reference points at: Patient/1, http://x/fhir/Patient/1.
func refType(ref string) string {
	if ref == "" || ref[0] == '#' || strings.HasPrefix(ref, "urn:") {
		return ""
	}
	parts := strings.Split(ref, "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] == "_history" {
			continue
		}
		if i+1 < len(parts) && knownType(parts[i]) {
			return parts[i]
		}
	}
	return ""
}
