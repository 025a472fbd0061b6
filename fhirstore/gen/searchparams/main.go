// Command searchparams turns HL7's R4 SearchParameter Bundle and Patient
// CompartmentDefinition (CC0) into searchparams.json.gz, the definitions table the store
// embeds: per resource type and code, the parameter type, the FHIRPath expression for that
// type, reference targets and composite components; and per type the parameters that put
// a resource in a patient's compartment. Run with `go generate ./fhirstore`.
package main

import (
	"compress/gzip"
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

type searchParameter struct {
	URL        string   `json:"url"`
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Type       string   `json:"type"`
	Expression string   `json:"expression"`
	Target     []string `json:"target"`
	Component  []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

// Param is one row of the generated table.
type Param struct {
	Type       string      `json:"t"`
	Expression string      `json:"e,omitempty"`
	Targets    []string    `json:"r,omitempty"`
	Components []Component `json:"c,omitempty"`
	URL        string      `json:"u,omitempty"`
}

// Component of a composite: the component parameter's code and type, and the expression
// relative to the composite's node.
type Component struct {
	Code       string `json:"code"`
	Type       string `json:"t"`
	Expression string `json:"e"`
}

type Table struct {
	Params      map[string]map[string]Param `json:"params"`      // type (or Resource/DomainResource) -> code -> param
	Compartment map[string][]string         `json:"compartment"` // type -> params putting it in Patient's compartment
}

func main() {
	src := flag.String("src", "../../shared/fhir-r4", "folder with search-parameters.json")
	out := flag.String("out", "searchparams.json.gz", "output")
	flag.Parse()
	var bundle struct {
		Entry []struct {
			Resource searchParameter `json:"resource"`
		} `json:"entry"`
	}
	read(filepath.Join(*src, "search-parameters.json"), &bundle)
	byURL := map[string]searchParameter{}
	for _, e := range bundle.Entry {
		byURL[e.Resource.URL] = e.Resource
	}
	t := Table{Params: map[string]map[string]Param{}, Compartment: map[string][]string{}}
	for _, e := range bundle.Entry {
		sp := e.Resource
		for _, base := range sp.Base {
			p := Param{Type: sp.Type, Expression: forBase(sp.Expression, base), Targets: sp.Target, URL: sp.URL}
			for _, c := range sp.Component {
				def, ok := byURL[c.Definition]
				if !ok {
					log.Fatalf("%s: component definition %s is not in the bundle", sp.URL, c.Definition)
				}
				expr := componentExpression(sp.URL, p.Expression, forBase(def.Expression, base), c.Expression)
				p.Components = append(p.Components, Component{Code: def.Code, Type: def.Type, Expression: expr})
			}
			if sp.Type == "composite" && (len(p.Components) < 2 || len(p.Components) > maxComponents) {
				log.Fatalf("%s: %d components; the store indexes 2 to %d", sp.URL, len(p.Components), maxComponents)
			}
			if t.Params[base] == nil {
				t.Params[base] = map[string]Param{}
			}
			t.Params[base][sp.Code] = p
		}
	}
	var cd struct {
		Resource []struct {
			Code  string   `json:"code"`
			Param []string `json:"param"`
		} `json:"resource"`
	}
	read(filepath.Join(*src, "CompartmentDefinition-patient.json"), &cd)
	for _, r := range cd.Resource {
		if len(r.Param) > 0 {
			t.Compartment[r.Code] = slices.Clone(r.Param)
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(t); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// maxComponents is how many components idx_composite has columns for (R4 uses 2 or 3).
const maxComponents = 3

// componentExpression is a component's expression relative to its composite's nodes. The
// R4 bundle swaps two of them (DocumentReference-relationship gives the reference
// component "code" and the token component "target", so neither would ever yield a value
// of its type): when a component's own definition is a plain path under the composite's
// expression that the given relative expression does not follow, the definition's path
// wins and the correction is reported.
func componentExpression(url, composite, def, rel string) string {
	if strings.HasPrefix(rel, "%") || def == "" {
		return rel
	}
	first := rel
	if i := strings.IndexAny(first, ".( "); i >= 0 {
		first = first[:i]
	}
	for _, root := range splitUnion(composite) {
		if strings.Contains(def, strings.TrimSpace(root)+"."+first) {
			return rel
		}
	}
	for _, root := range splitUnion(composite) {
		if fixed, ok := strings.CutPrefix(def, strings.TrimSpace(root)+"."); ok && !strings.ContainsAny(fixed, "|() ") {
			log.Printf("%s: component expression %q does not follow its definition %q; using %q", url, rel, def, fixed)
			return fixed
		}
	}
	log.Fatalf("%s: component expression %q does not follow its definition %q", url, rel, def)
	return ""
}

// forBase keeps the parts of a shared expression (A.x | B.y) that apply to base.
func forBase(expr, base string) string {
	if expr == "" {
		return ""
	}
	var keep []string
	for _, part := range splitUnion(expr) {
		p := strings.TrimSpace(part)
		q := strings.TrimLeft(p, "(")
		if strings.HasPrefix(q, base+".") || q == base || strings.HasPrefix(q, "Resource.") || strings.HasPrefix(q, "DomainResource.") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, " | ")
}

// splitUnion splits on | outside parentheses and quotes.
func splitUnion(s string) []string {
	var out []string
	depth, start, inQ := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inQ = !inQ
		case inQ:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func read(path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		log.Fatal(err)
	}
}
