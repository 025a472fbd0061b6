package fhirstore

import (
	"context"
	"encoding/json"
	"fhirbox/fhirstore/r4"
	"net/url"
	"strings"
)

func validID(id string) bool { return r4.ValidID(id) }

func decodeJSON(b []byte) (map[string]any, error) { return r4.Decode(b) }

func encodeJSON(m map[string]any) ([]byte, error) { return r4.Marshal(m) }

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

// TEMPORARY matcher for _id and identifier until the search engine lands.
func (s *Store) matchParams(ctx context.Context, q querier, typ string, params url.Values) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, json FROM resources WHERE type = ? AND deleted = 0`, typ)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		var js []byte
		if err := rows.Scan(&id, &js); err != nil {
			return nil, err
		}
		m, _ := decodeJSON(js)
		ok := true
		for k, vs := range params {
			for _, v := range vs {
				switch k {
				case "_id":
					ok = ok && id == v
				case "identifier":
					sys, val, hasSys := strings.Cut(v, "|")
					if !hasSys {
						val, sys = sys, ""
					}
					found := false
					ids, _ := m["identifier"].([]any)
					for _, x := range ids {
						im, _ := x.(map[string]any)
						if im["value"] == val && (!hasSys || im["system"] == sys || sys == "" && im["system"] == nil) {
							found = true
						}
					}
					ok = ok && found
				default:
					return nil, Errorf(ENotSupported, "conditional matching on %q is not supported yet", k)
				}
			}
		}
		if ok {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

func resourceTypeList() []string { return r4.ResourceTypes() }


type CompartmentRef struct{ Type, ID string }
type SearchRequest struct {
	Type        string
	Params      url.Values
	Strict      bool
	Compartment *CompartmentRef
	Cursor      string
	Everything  bool
}
type SearchHit struct {
	Type, ID string
	JSON     []byte
	Mode     string
}
type SearchResult struct {
	Entries  []SearchHit
	Total    *int
	Next     string
	Self     url.Values
	Warnings []Issue
}

func (s *Store) Search(ctx context.Context, req SearchRequest) (*SearchResult, error) {
	return nil, Errorf(ENotSupported, "search is not available yet")
}

func encodeJSONValue(v any) ([]byte, error) { return json.Marshal(v) }
