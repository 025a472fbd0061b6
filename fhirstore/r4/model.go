// Package r4 is fhirbox's FHIR R4 type model, generated from HL7's StructureDefinitions:
// which elements each resource and data type has, their types, cardinality and summary
// flags. It validates resources, writes them in definition order and builds _summary and
// _elements views. Resources are map[string]any decoded with UseNumber, so decimals keep
// their exact text.
package r4

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

//go:embed model.json.gz
var modelGz []byte

// Element is one child element of a type or backbone element.
type Element struct {
	Name    string   // JSON name as defined (value[x] for a choice)
	Types   []string // type codes; "#Path" inline children; "@Path" content reference
	Array   bool
	Summary bool
	Min     bool // required (min ≥ 1)
	Order   int
}

// context is the set of children of one type or backbone path, by JSON name: choice
// elements appear once per concrete name (valueQuantity, valueString...).
type context struct {
	byName map[string]*childRef
	order  []string // defined names in order (value[x] kept as such)
}

type childRef struct {
	el  *Element
	typ string // the concrete type for a choice name; the only type otherwise
}

type model struct {
	resources  map[string]bool
	primitives map[string]bool
	names      []string
	contexts   map[string]*context
	choices    map[string]bool // base names of choice elements (value for value[x])
}

var (
	loadOnce sync.Once
	m        *model
)

func get() *model {
	loadOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(modelGz))
		if err != nil {
			panic("r4: corrupt model table: " + err.Error())
		}
		var t struct {
			Resources  []string               `json:"resources"`
			Primitives []string               `json:"primitives"`
			Contexts   map[string][][3]string `json:"contexts"`
		}
		if err := json.NewDecoder(zr).Decode(&t); err != nil {
			panic("r4: corrupt model table: " + err.Error())
		}
		m = &model{resources: map[string]bool{}, primitives: map[string]bool{}, contexts: map[string]*context{}, names: t.Resources,
			choices: map[string]bool{}}
		for _, r := range t.Resources {
			m.resources[r] = true
		}
		for _, p := range t.Primitives {
			m.primitives[p] = true
		}
		m.primitives["xhtml"] = true
		for path, els := range t.Contexts {
			c := &context{byName: map[string]*childRef{}}
			for i, e := range els {
				el := &Element{Name: e[0], Types: strings.Split(e[1], ","), Array: strings.Contains(e[2], "a"),
					Summary: strings.Contains(e[2], "s"), Min: strings.Contains(e[2], "m"), Order: i}
				c.order = append(c.order, el.Name)
				if base, ok := strings.CutSuffix(el.Name, "[x]"); ok {
					m.choices[base] = true
					for _, ty := range el.Types {
						c.byName[base+strings.ToUpper(ty[:1])+ty[1:]] = &childRef{el: el, typ: ty}
					}
					continue
				}
				c.byName[el.Name] = &childRef{el: el, typ: el.Types[0]}
			}
			m.contexts[path] = c
		}
	})
	return m
}

// IsResourceType reports whether t is a concrete R4 resource type.
func IsResourceType(t string) bool { return get().resources[t] }

// IsChoiceName reports whether some R4 type or backbone element has a choice element
// name[x]: only such a name can stand for valueQuantity, valueString and the like.
func IsChoiceName(name string) bool { return get().choices[name] }

// ResourceTypes lists the R4 resource types, sorted.
func ResourceTypes() []string { return slices.Clone(get().names) }

// ChildType returns the type code of element name (a JSON name such as valueQuantity) in
// the context of a type or backbone path, and whether it repeats.
func ChildType(contextPath, name string) (typ string, array bool, ok bool) {
	c := get().contexts[contextPath]
	if c == nil {
		return "", false, false
	}
	r := c.byName[name]
	if r == nil {
		return "", false, false
	}
	return r.typ, r.el.Array, true
}

// contextOf resolves a type code to the context holding its children ("" for primitives).
func contextOf(typ string) string {
	switch {
	case strings.HasPrefix(typ, "#"), strings.HasPrefix(typ, "@"):
		return typ[1:]
	}
	return typ
}
