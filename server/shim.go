package server

import (
	"net/http"
	"net/url"
	"strings"

	"fhirbox/fhirstore"
	"fhirbox/fhirstore/r4"
)

func decodeResource(b []byte) (map[string]any, error) { return r4.Decode(b) }

func validate(m map[string]any) []fhirstore.Issue {
	var out []fhirstore.Issue
	for _, is := range r4.Validate(m) {
		out = append(out, fhirstore.Issue(is))
	}
	return out
}

func knownType(t string) bool { return r4.IsResourceType(t) }

func marshalResource(m map[string]any) ([]byte, error) { return r4.Marshal(m) }

func (s *Server) shape(r *http.Request, body []byte) ([]byte, error) {
	return s.shapeWith(r.URL.Query(), body)
}

// shapeWith applies _summary and _elements to a resource body.
func (s *Server) shapeWith(q url.Values, body []byte) ([]byte, error) {
	summary, elements := q.Get("_summary"), q.Get("_elements")
	if (summary == "" || summary == "false") && elements == "" {
		return body, nil
	}
	res, err := r4.Decode(body)
	if err != nil {
		return nil, err
	}
	if summary != "" && summary != "false" {
		var ok bool
		if res, ok = r4.Summary(res, summary); !ok {
			return nil, fhirstore.Errorf(fhirstore.EInvalid, "_summary must be true, text, data, count or false, not %q", summary)
		}
	} else {
		res = r4.Elements(res, strings.Split(elements, ","))
	}
	return r4.Marshal(res)
}

func resourceTypes() []string { return r4.ResourceTypes() }
