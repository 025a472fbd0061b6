package server

import (
	"net/http"
	"time"

	"fhirbox/fhirstore"
)

// capabilityStatement describes what this server really does: every resource type of the
// model, the interactions the router serves, and the search parameters the engine indexes.
// It is built once, from the same tables the handlers use, never written by hand.
func (s *Server) capabilityStatement() map[string]any {
	typeInteractions := []any{}
	for _, code := range []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"} {
		typeInteractions = append(typeInteractions, map[string]any{"code": code})
	}
	var resources []any
	for _, typ := range resourceTypes() {
		r := map[string]any{
			"type":              typ,
			"interaction":       typeInteractions,
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      true,
			"conditionalCreate": true,
			"conditionalRead":   "modified-since",
			"conditionalUpdate": true,
			"conditionalDelete": "single",
			"referencePolicy":   []any{"literal", "logical"},
		}
		var params []any
		for _, p := range s.store.SearchParams(typ) {
			sp := map[string]any{"name": p.Code, "type": p.Type}
			if p.Definition != "" {
				sp["definition"] = p.Definition
			}
			params = append(params, sp)
		}
		if len(params) > 0 {
			r["searchParam"] = params
			r["searchInclude"] = []any{"*"}
			r["searchRevInclude"] = []any{"*"}
		}
		if typ == "Patient" {
			r["operation"] = []any{map[string]any{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}}
		}
		resources = append(resources, r)
	}
	rest := map[string]any{
		"mode":     "server",
		"resource": resources,
		"interaction": []any{
			map[string]any{"code": "transaction"}, map[string]any{"code": "batch"},
			map[string]any{"code": "search-system"}, map[string]any{"code": "history-system"},
		},
	}
	if s.cfg.Security != nil {
		rest["security"] = s.cfg.Security
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         s.started.UTC().Format(time.RFC3339),
		"publisher":    "fhirbox",
		"kind":         "instance",
		"software":     map[string]any{"name": "fhirbox", "version": s.cfg.Version},
		"implementation": map[string]any{
			"description": "fhirbox FHIR R4 sandbox",
			"url":         s.BaseURL(),
		},
		"fhirVersion": "4.0.1",
		"format":      []any{"application/fhir+json", "json"},
		"patchFormat": []any{mimeJSONPatch},
		"rest":        []any{rest},
	}
}

func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	// Discovery documents and metadata are public and readable from any origin.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if mode := r.URL.Query().Get("mode"); mode != "" && mode != "full" {
		s.fail(w, r, fhirstore.ENotSupported, "metadata mode %q is not supported (only full)", mode)
		return
	}
	s.writeRaw(w, r, http.StatusOK, s.capability)
}
