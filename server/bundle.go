package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"fhirbox/fhirstore"
)

// handleBundle processes a batch or transaction Bundle posted to the base.
func (s *Server) handleBundle(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	bundle, err := decodeResource(body)
	if err != nil {
		s.fail(w, r, fhirstore.EInvalid, "the body is not a valid JSON Bundle: %v", err)
		return
	}
	if rt, _ := bundle["resourceType"].(string); rt != "Bundle" {
		s.fail(w, r, fhirstore.EInvalid, "POST to the base takes a batch or transaction Bundle, not %q", rt)
		return
	}
	// The Bundle's own structure is checked here; each entry's resource is checked by the
	// store, so a batch can fail one entry and a transaction can name the failing one.
	if issues := validate(withoutEntryResources(bundle)); len(issues) > 0 {
		s.writeError(w, r, &fhirstore.Error{Code: fhirstore.EInvalid, Message: "the Bundle is not valid", Issues: issues})
		return
	}
	typ, _ := bundle["type"].(string)
	if typ != "batch" && typ != "transaction" {
		s.fail(w, r, fhirstore.EInvalid, "Bundle.type must be batch or transaction to be processed, not %q", typ)
		return
	}
	raw, _ := bundle["entry"].([]any)
	entries := make([]*fhirstore.TxEntry, len(raw))
	gets := map[int]string{} // entry index -> relative URL of a read
	out := &Bundle{ResourceType: "Bundle", Type: typ + "-response", Entry: make([]BundleEntry, len(raw))}
	for i, x := range raw {
		e, get, err := fhirstore.ParseEntry(x, s.BaseURL())
		if err != nil {
			if typ == "transaction" {
				s.writeError(w, r, prefixErr(err, i))
				return
			}
			out.Entry[i] = s.errorEntry(r, err)
			continue
		}
		if get != "" {
			gets[i] = get
			continue
		}
		entries[i] = e
	}
	var writes []*fhirstore.TxEntry
	var index []int
	for i, e := range entries {
		if e != nil {
			writes, index = append(writes, e), append(index, i)
		}
	}
	if typ == "transaction" {
		results, failed, err := s.store.Transaction(r.Context(), writes, fhirstore.TxOptions{})
		if err != nil {
			if failed >= 0 {
				err = prefixErr(err, index[failed])
			}
			s.writeError(w, r, err)
			return
		}
		for k, res := range results {
			out.Entry[index[k]] = s.resultEntry(writes[k], res)
		}
	} else {
		for k, res := range s.store.Batch(r.Context(), writes) {
			if res.Err != nil {
				out.Entry[index[k]] = s.errorEntry(r, res.Err)
			} else {
				out.Entry[index[k]] = s.resultEntry(writes[k], res)
			}
		}
	}
	// Reads run last (R4 transaction processing rules), through the same handlers as
	// direct requests so they see the same rules.
	for i, u := range gets {
		out.Entry[i] = s.internalGet(r, u)
	}
	out.Timestamp = fhirstore.FormatInstant(time.Now())
	s.writeJSON(w, r, http.StatusOK, out)
}

func prefixErr(err error, i int) error {
	if e, ok := err.(*fhirstore.Error); ok {
		c := *e
		c.Message = "entry " + strconv.Itoa(i) + ": " + c.Message
		return &c
	}
	return err
}

func (s *Server) resultEntry(e *fhirstore.TxEntry, res fhirstore.TxResult) BundleEntry {
	if e.Method == "DELETE" {
		return BundleEntry{Response: &EntryResponse{Status: "204 No Content"}}
	}
	r := res.Resource
	status := "200 OK"
	if res.Created {
		status = "201 Created"
	}
	return BundleEntry{
		FullURL:  s.resourceURL(r.Type, r.ID),
		Resource: r.JSON,
		Response: &EntryResponse{
			Status:       status,
			Location:     r.Type + "/" + r.ID + "/_history/" + r.VersionID(),
			Etag:         `W/"` + r.VersionID() + `"`,
			LastModified: fhirstore.FormatInstant(r.LastUpdated),
		},
	}
}

func (s *Server) errorEntry(r *http.Request, err error) BundleEntry {
	status, oo := s.outcome(r.Context(), err)
	b, _ := encode(oo)
	return BundleEntry{Response: &EntryResponse{Status: strconv.Itoa(status) + " " + http.StatusText(status), Outcome: b}}
}

// internalGet runs a read or search of a Bundle entry through the router, with the
// caller's credentials.
func (s *Server) internalGet(r *http.Request, rel string) BundleEntry {
	u, err := url.Parse(strings.TrimRight(s.basePath, "/") + "/" + rel)
	if err != nil {
		return s.errorEntry(r, fhirstore.Errorf(fhirstore.EInvalid, "bad entry URL %q", rel))
	}
	req := httptest.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	body := bytes.TrimSpace(rec.Body.Bytes())
	resp := &EntryResponse{Status: strconv.Itoa(rec.Code) + " " + http.StatusText(rec.Code), Etag: rec.Header().Get("ETag")}
	if lm, err := http.ParseTime(rec.Header().Get("Last-Modified")); err == nil {
		resp.LastModified = fhirstore.FormatInstant(lm)
	}
	if rec.Code >= 400 {
		resp.Outcome = json.RawMessage(body)
		return BundleEntry{Response: resp}
	}
	return BundleEntry{Resource: json.RawMessage(body), Response: resp}
}

// withoutEntryResources is a shallow copy of a Bundle whose entries lack their resource.
func withoutEntryResources(b map[string]any) map[string]any {
	out := make(map[string]any, len(b))
	for k, v := range b {
		out[k] = v
	}
	raw, _ := b["entry"].([]any)
	entries := make([]any, len(raw))
	for i, x := range raw {
		e, ok := x.(map[string]any)
		if !ok {
			entries[i] = x
			continue
		}
		c := make(map[string]any, len(e))
		for k, v := range e {
			if k != "resource" {
				c[k] = v
			}
		}
		if len(c) == 0 {
			c["fullUrl"] = "urn:uuid:00000000-0000-0000-0000-000000000000" // keep the entry non-empty
		}
		entries[i] = c
	}
	if raw != nil {
		out["entry"] = entries
	}
	return out
}
