package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"fhirbox/fhirstore"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// etagVersion extracts the version from an ETag or If-Match value: W/"3", "3" or 3.
func etagVersion(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "W/")
	return strings.Trim(v, `"`)
}

func (s *Server) resourceURL(typ, id string) string { return s.BaseURL() + "/" + typ + "/" + id }

// setVersionHeaders sets ETag and Last-Modified for one version of a resource.
func setVersionHeaders(h http.Header, res *fhirstore.Resource) {
	h.Set("ETag", `W/"`+res.VersionID()+`"`)
	h.Set("Last-Modified", res.LastUpdated.UTC().Format(http.TimeFormat))
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	res, err := s.store.Read(r.Context(), v["type"], v["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveVersion(w, r, res)
}

func (s *Server) handleVRead(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	res, err := s.store.VRead(r.Context(), v["type"], v["id"], v["vid"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveVersion(w, r, res)
}

// serveVersion answers a read: conditional (304), then _summary/_elements shaping.
func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request, res *fhirstore.Resource) {
	setVersionHeaders(w.Header(), res)
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			if t := strings.TrimSpace(tag); t == "*" || etagVersion(t) == res.VersionID() {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !res.LastUpdated.Truncate(time.Second).After(t) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	body, err := s.shape(r, res.JSON)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRaw(w, r, http.StatusOK, body)
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	typ := mux.Vars(r)["type"]
	res, created, err := s.store.Create(r.Context(), typ, body, fhirstore.WriteOptions{IfNoneExist: r.Header.Get("If-None-Exist")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResult(w, r, res, created)
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	v := mux.Vars(r)
	res, created, err := s.store.Update(r.Context(), v["type"], v["id"], body, fhirstore.WriteOptions{IfMatch: etagVersion(r.Header.Get("If-Match"))})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResult(w, r, res, created)
}

func (s *Server) handleConditionalUpdate(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery == "" {
		s.fail(w, r, fhirstore.EInvalid, "PUT on a type needs search criteria (conditional update) or an id in the URL")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	typ := mux.Vars(r)["type"]
	res, created, err := s.store.ConditionalUpdate(r.Context(), typ, criteria(r), body, fhirstore.WriteOptions{IfMatch: etagVersion(r.Header.Get("If-Match"))})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResult(w, r, res, created)
}

// criteria is the query string without the parameters that shape the response.
func criteria(r *http.Request) string {
	q := r.URL.Query()
	for _, p := range []string{"_format", "_pretty", "_summary", "_elements"} {
		q.Del(p)
	}
	return q.Encode()
}

func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	if !s.patchType(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	v := mux.Vars(r)
	res, err := s.store.Patch(r.Context(), v["type"], v["id"], body, fhirstore.WriteOptions{IfMatch: etagVersion(r.Header.Get("If-Match"))})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResult(w, r, res, false)
}

func (s *Server) patchType(w http.ResponseWriter, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, mimeJSONPatch) {
		s.refuseFormat(w, r, http.StatusUnsupportedMediaType, "PATCH takes a JSON Patch (Content-Type: application/json-patch+json); FHIRPath Patch is not supported yet")
		return false
	}
	return true
}

func (s *Server) handleConditionalPatch(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery == "" {
		s.fail(w, r, fhirstore.EInvalid, "PATCH on a type needs search criteria (conditional patch) or an id in the URL")
		return
	}
	if !s.patchType(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	typ := mux.Vars(r)["type"]
	results, _, err := s.store.Transaction(r.Context(), []*fhirstore.TxEntry{{
		Method: "PATCH", Type: typ, Query: criteria(r), Patch: body,
		Opts: fhirstore.WriteOptions{IfMatch: etagVersion(r.Header.Get("If-Match"))},
	}}, fhirstore.TxOptions{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResult(w, r, results[0].Resource, false)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := s.store.Delete(r.Context(), v["type"], v["id"], fhirstore.WriteOptions{IfMatch: etagVersion(r.Header.Get("If-Match"))}); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeDeleted(w, r, "deleted "+v["type"]+"/"+v["id"])
}

func (s *Server) handleConditionalDelete(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery == "" {
		s.fail(w, r, fhirstore.EInvalid, "DELETE on a type needs search criteria (conditional delete) or an id in the URL")
		return
	}
	typ := mux.Vars(r)["type"]
	n, err := s.store.ConditionalDelete(r.Context(), typ, criteria(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeDeleted(w, r, "deleted "+itoa(int64(n))+" "+typ)
}

func (s *Server) writeDeleted(w http.ResponseWriter, r *http.Request, msg string) {
	if preferReturn(r) == "OperationOutcome" {
		s.writeJSON(w, r, http.StatusOK, infoOutcome(msg))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// preferReturn is the return= value of the Prefer header ("representation" by default).
func preferReturn(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Prefer"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "return="); ok {
			switch v {
			case "minimal", "representation", "OperationOutcome":
				return v
			}
		}
	}
	return "representation"
}

// writeResult answers a create or update per the Prefer header, with Location, ETag and
// Last-Modified.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, res *fhirstore.Resource, created bool) {
	h := w.Header()
	setVersionHeaders(h, res)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.Set("Location", s.resourceURL(res.Type, res.ID)+"/_history/"+res.VersionID())
	switch preferReturn(r) {
	case "minimal":
		w.WriteHeader(status)
	case "OperationOutcome":
		verb := "updated"
		if created {
			verb = "created"
		}
		s.writeJSON(w, r, status, infoOutcome(verb+" "+res.Type+"/"+res.ID+" version "+res.VersionID()))
	default:
		s.writeRaw(w, r, status, res.JSON)
	}
}

// Bundle is the JSON shape of the Bundles fhirbox returns (field order as in the spec).
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *BundleMeta   `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

type BundleMeta struct {
	LastUpdated string `json:"lastUpdated,omitempty"`
	Tag         []any  `json:"tag,omitempty"`
}

type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *EntrySearch    `json:"search,omitempty"`
	Request  *EntryRequest   `json:"request,omitempty"`
	Response *EntryResponse  `json:"response,omitempty"`
}

type EntrySearch struct {
	Mode string `json:"mode,omitempty"`
}

type EntryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type EntryResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}
