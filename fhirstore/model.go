package fhirstore

import (
	"encoding/json"

	"fhirbox/fhirstore/r4"
)

// The store's view of the R4 model: ids, JSON with exact decimals, validation.

func validID(id string) bool { return r4.ValidID(id) }

func decodeJSON(b []byte) (map[string]any, error) { return r4.Decode(b) }

func encodeJSON(m map[string]any) ([]byte, error) { return r4.Marshal(m) }

func encodeJSONValue(v any) ([]byte, error) { return json.Marshal(v) }

func validateResource(m map[string]any) []Issue {
	issues := r4.Validate(m)
	if len(issues) == 0 {
		return nil
	}
	out := make([]Issue, len(issues))
	for i, is := range issues {
		out[i] = Issue(is)
	}
	return out
}

func knownType(t string) bool { return r4.IsResourceType(t) }

func resourceTypeList() []string { return r4.ResourceTypes() }

// DecodeResource parses a resource body with exact decimals.
func DecodeResource(b []byte) (map[string]any, error) { return r4.Decode(b) }
