package fhirstore

import (
	"encoding/base64"
	"strings"
)

const mimeJSONPatch = "application/json-patch+json"

// ParseEntry routes one batch/transaction Bundle entry into a TxEntry. A GET or HEAD entry
// is returned as its URL relative to base instead, for the caller to run as a read.
func ParseEntry(x any, base string) (*TxEntry, string, error) {
	m, _ := x.(map[string]any)
	req, _ := m["request"].(map[string]any)
	if req == nil {
		return nil, "", Errorf(EInvalid, "the entry has no request")
	}
	method, _ := req["method"].(string)
	rawURL, _ := req["url"].(string)
	rel := strings.TrimPrefix(strings.TrimPrefix(rawURL, strings.TrimRight(base, "/")), "/")
	if method == "GET" || method == "HEAD" {
		return nil, rel, nil
	}
	path, query, _ := strings.Cut(rel, "?")
	parts := strings.Split(path, "/")
	e := &TxEntry{Method: method, Type: parts[0], Query: query}
	e.FullURL, _ = m["fullUrl"].(string)
	e.Opts.IfMatch = etagVersion(str(req["ifMatch"]))
	e.Opts.IfNoneExist = str(req["ifNoneExist"])
	switch {
	case len(parts) == 1 && parts[0] != "":
	case len(parts) == 2 && method != "POST":
		e.ID = parts[1]
		if !validID(e.ID) {
			return nil, "", Errorf(EInvalid, "invalid id %q in %s: ids are 1-64 of A-Z a-z 0-9 - .", e.ID, rawURL)
		}
	default:
		return nil, "", Errorf(EInvalid, "%s %q is not a supported entry request", method, rawURL)
	}
	if !knownType(e.Type) {
		return nil, "", Errorf(ENotFound, "unknown resource type %q in %s", e.Type, rawURL)
	}
	if e.ID == "" && e.Query == "" && method != "POST" {
		return nil, "", Errorf(EInvalid, "%s %s needs an id or search criteria", method, rawURL)
	}
	res, _ := m["resource"].(map[string]any)
	switch method {
	case "POST", "PUT":
		if res == nil {
			return nil, "", Errorf(EInvalid, "%s %s has no resource", method, rawURL)
		}
		if rt, _ := res["resourceType"].(string); rt != e.Type {
			return nil, "", Errorf(EInvalid, "the entry resource is a %s but the request names %s", rt, e.Type)
		}
		e.Resource = res
	case "PATCH":
		// R4: a JSON Patch travels as a Binary whose data is the patch document.
		if rt, _ := res["resourceType"].(string); rt != "Binary" || !strings.HasPrefix(str(res["contentType"]), mimeJSONPatch) {
			return nil, "", Errorf(ENotSupported, "PATCH entries take a Binary with contentType application/json-patch+json")
		}
		b, err := base64.StdEncoding.DecodeString(str(res["data"]))
		if err != nil {
			return nil, "", Errorf(EInvalid, "the PATCH Binary data is not base64: %v", err)
		}
		e.Patch = b
	case "DELETE":
	default:
		return nil, "", Errorf(EInvalid, "unknown entry method %q", method)
	}
	return e, "", nil
}

func str(v any) string { s, _ := v.(string); return s }

// etagVersion extracts the version from an ETag value: W/"3", "3" or 3.
func etagVersion(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "W/")
	return strings.Trim(v, `"`)
}
