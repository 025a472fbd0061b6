package fhirstore

import (
	"context"
	"net/url"
)

// match returns the ids of live typ resources matching a search query string, for
// conditional create/update/delete and conditional references.
func (s *Store) match(ctx context.Context, q querier, typ, query string) ([]string, error) {
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, Errorf(EInvalid, "invalid search query %q: %v", query, err)
	}
	if len(params) == 0 {
		return nil, Errorf(EInvalid, "a conditional operation needs search criteria")
	}
	return s.matchParams(ctx, q, typ, params)
}
