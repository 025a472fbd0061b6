// Command gen turns HL7's R4 StructureDefinitions (profiles-resources.json and
// profiles-types.json, CC0) into model.json.gz, the compact element table the r4 package
// embeds. Run it with `go generate ./fhirstore/r4` from a checkout beside ../shared.
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

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type structureDefinition struct {
	ResourceType   string `json:"resourceType"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	Snapshot       struct {
		Element []element `json:"element"`
	} `json:"snapshot"`
}

type element struct {
	Path             string `json:"path"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	IsSummary        bool   `json:"isSummary"`
	ContentReference string `json:"contentReference"`
	Type             []struct {
		Code string `json:"code"`
	} `json:"type"`
}

// Table is the generated model: resource and type names, and for each element context
// (a type, or a backbone element path such as Patient.contact) its child elements in
// definition order as [name, types, flags]. types is a comma list; "@Path" is a
// contentReference; flags hold "a" (repeats), "s" (isSummary), "m" (min ≥ 1).
type Table struct {
	Resources  []string               `json:"resources"`
	Primitives []string               `json:"primitives"`
	Contexts   map[string][][3]string `json:"contexts"`
}

func main() {
	src := flag.String("src", "../../../shared/fhir-r4", "folder with profiles-resources.json and profiles-types.json")
	out := flag.String("out", "model.json.gz", "output file")
	flag.Parse()
	t := Table{Contexts: map[string][][3]string{}}
	for _, f := range []string{"profiles-types.json", "profiles-resources.json"} {
		b, err := os.ReadFile(filepath.Join(*src, f))
		if err != nil {
			log.Fatal(err)
		}
		var bun bundle
		if err := json.Unmarshal(b, &bun); err != nil {
			log.Fatal(err)
		}
		for _, e := range bun.Entry {
			var sd structureDefinition
			if !strings.Contains(string(e.Resource[:min(len(e.Resource), 200)]), `"StructureDefinition"`) {
				continue
			}
			if err := json.Unmarshal(e.Resource, &sd); err != nil {
				log.Fatal(err)
			}
			if sd.ResourceType != "StructureDefinition" || sd.Derivation == "constraint" || sd.Kind == "logical" {
				continue
			}
			switch sd.Kind {
			case "resource":
				if !sd.Abstract {
					t.Resources = append(t.Resources, sd.Type)
				}
			case "primitive-type":
				t.Primitives = append(t.Primitives, sd.Type)
				continue // primitives are validated by lexical rules, not elements
			}
			addElements(&t, sd)
		}
	}
	slices.Sort(t.Resources)
	slices.Sort(t.Primitives)
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err := json.NewEncoder(zw).Encode(t); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func addElements(t *Table, sd structureDefinition) {
	for _, el := range sd.Snapshot.Element {
		parent, name, ok := cut(el.Path)
		if !ok {
			continue // the root element
		}
		var types []string
		switch {
		case el.ContentReference != "":
			types = []string{"@" + strings.TrimPrefix(el.ContentReference, "#")}
		default:
			for _, ty := range el.Type {
				code := ty.Code
				if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
					code = "string" // id, extension.url and primitive values: plain strings
				}
				if code == "BackboneElement" || code == "Element" && hasChildren(sd, el.Path) {
					code = "#" + el.Path // children are defined inline under this path
				}
				types = append(types, code)
			}
		}
		flags := ""
		if el.Max != "1" && el.Max != "0" {
			flags += "a"
		}
		if el.IsSummary {
			flags += "s"
		}
		if el.Min > 0 {
			flags += "m"
		}
		if el.Max == "0" {
			continue // prohibited in this type
		}
		t.Contexts[parent] = append(t.Contexts[parent], [3]string{name, strings.Join(types, ","), flags})
	}
}

func hasChildren(sd structureDefinition, path string) bool {
	for _, el := range sd.Snapshot.Element {
		if strings.HasPrefix(el.Path, path+".") {
			return true
		}
	}
	return false
}

func cut(path string) (parent, name string, ok bool) {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return "", "", false
	}
	return path[:i], path[i+1:], true
}
