package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"fhirbox/fhirstore"
)

// TEMPORARY until fhirstore/model lands.
func decodeResource(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	return m, nil
}

func validate(m map[string]any) []fhirstore.Issue { return nil }

func knownType(t string) bool { return t != "" && t[0] >= 'A' && t[0] <= 'Z' }

func marshalResource(m map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(m)
	return bytes.TrimRight(buf.Bytes(), "\n"), err
}

func (s *Server) shape(r *http.Request, body []byte) ([]byte, error) {
	return s.shapeWith(r.URL.Query(), body)
}
func (s *Server) shapeWith(q url.Values, body []byte) ([]byte, error) { return body, nil }

func resourceTypes() []string { return []string{"Patient", "Observation"} }
