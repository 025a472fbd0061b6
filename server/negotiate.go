package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"fhirbox/fhirstore"
)

const (
	mimeFHIRJSON  = "application/fhir+json"
	mimeJSON      = "application/json"
	mimeJSONPatch = "application/json-patch+json"
)

// wantsXML reports a format fhirbox cannot produce yet.
func isXML(mt string) bool {
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "xml" || strings.HasSuffix(mt, "/xml") || strings.HasSuffix(mt, "+xml")
}

func isJSON(mt string) bool {
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "json" || mt == mimeJSON || mt == mimeFHIRJSON || mt == "text/json" || mt == "application/json+fhir"
}

// responseType picks the Content-Type of JSON responses: application/json when the client
// asked for exactly that, else application/fhir+json.
func responseType(r *http.Request) string {
	if f := r.URL.Query().Get("_format"); f != "" {
		if strings.EqualFold(f, mimeJSON) {
			return mimeJSON
		}
		return mimeFHIRJSON
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch mt {
		case mimeFHIRJSON, "application/json+fhir":
			return mimeFHIRJSON
		case mimeJSON:
			return mimeJSON
		}
	}
	return mimeFHIRJSON
}

// withNegotiation refuses formats fhirbox does not speak (XML) with 406/415 and caps
// request bodies, before any handler runs.
func (s *Server) withNegotiation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := r.URL.Query().Get("_format"); f != "" && !isJSON(f) {
			s.refuseFormat(w, r, http.StatusNotAcceptable, "_format "+f+" is not supported: fhirbox serves JSON (application/fhir+json) only")
			return
		}
		if acc := r.Header.Get("Accept"); acc != "" && !acceptsJSON(acc) {
			s.refuseFormat(w, r, http.StatusNotAcceptable, "Accept "+acc+" cannot be satisfied: fhirbox serves JSON (application/fhir+json) only")
			return
		}
		if r.Body != nil && r.ContentLength != 0 && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
			ct := r.Header.Get("Content-Type")
			mt, _, _ := mime.ParseMediaType(ct)
			ok := ct == "" || isJSON(mt) ||
				r.Method == http.MethodPatch && mt == mimeJSONPatch ||
				r.Method == http.MethodPost && mt == "application/x-www-form-urlencoded" && strings.HasSuffix(r.URL.Path, "/_search")
			if !ok {
				s.refuseFormat(w, r, http.StatusUnsupportedMediaType, "Content-Type "+ct+" is not supported here: send application/fhir+json"+
					map[bool]string{true: " or application/json-patch+json", false: ""}[r.Method == http.MethodPatch])
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// acceptsJSON: JSON, a wildcard, or anything that is not exclusively XML (a browser's
// text/html gets JSON rather than an error).
func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if !isXML(mt) {
			return true
		}
	}
	return false
}

func (s *Server) refuseFormat(w http.ResponseWriter, r *http.Request, status int, msg string) {
	oo := operationOutcome(map[string]any{"severity": "error", "code": "not-supported", "diagnostics": msg})
	s.writeJSON(w, r, status, oo)
}

// readBody reads a capped request body; an oversized body is answered with 413 here.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.writeJSON(w, r, http.StatusRequestEntityTooLarge, operationOutcome(map[string]any{
			"severity": "error", "code": "too-costly",
			"diagnostics": "the request body is larger than the limit of " + humanBytes(tooBig.Limit),
		}))
		return nil, false
	}
	if err != nil {
		s.fail(w, r, fhirstore.EInvalid, "reading the request body: %v", err)
		return nil, false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		s.fail(w, r, fhirstore.EInvalid, "the request body is empty")
		return nil, false
	}
	return b, true
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

// writeJSON encodes v (a map, struct or json.RawMessage) as the response.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := encode(v)
	if err != nil {
		s.log.Error("encoding response", "err", err)
		status, body = http.StatusInternalServerError, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"encoding the response failed"}]}`)
	}
	s.writeRaw(w, r, status, body)
}

func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.Header().Set("Content-Type", responseType(r)+"; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(s.pretty(r, body))
	}
}

func (s *Server) pretty(r *http.Request, body []byte) []byte {
	if r.URL.Query().Get("_pretty") != "true" {
		return body
	}
	var buf bytes.Buffer
	if json.Indent(&buf, body, "", "  ") != nil {
		return body
	}
	return buf.Bytes()
}

func encode(v any) ([]byte, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	if m, ok := v.(map[string]any); ok {
		return marshalResource(m)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
