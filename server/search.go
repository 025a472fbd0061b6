package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"fhirbox/fhirstore"
)

// searchParams gathers the search parameters of a GET query or a POST _search form.
func (s *Server) searchParams(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, fhirstore.EInvalid, "the _search form body is malformed: %v", err)
			return nil, false
		}
		for k, vs := range r.PostForm {
			q[k] = append(q[k], vs...)
		}
	}
	// Response-format parameters are not search criteria.
	q.Del("_format")
	q.Del("_pretty")
	return q, true
}

func strictHandling(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Prefer"), ",") {
		if strings.TrimSpace(part) == "handling=strict" {
			return true
		}
	}
	return false
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	params, ok := s.searchParams(w, r)
	if !ok {
		return
	}
	typ := mux.Vars(r)["type"]
	if typ != "" && !knownType(typ) {
		s.fail(w, r, fhirstore.ENotFound, "unknown resource type %q", typ)
		return
	}
	s.search(w, r, fhirstore.SearchRequest{Type: typ, Params: params}, "/"+typ)
}

func (s *Server) handleCompartmentSearch(w http.ResponseWriter, r *http.Request) {
	params, ok := s.searchParams(w, r)
	if !ok {
		return
	}
	v := mux.Vars(r)
	typ := v["type"]
	if typ == "*" {
		typ = ""
	} else if !knownType(typ) {
		s.fail(w, r, fhirstore.ENotFound, "unknown resource type %q", typ)
		return
	}
	req := fhirstore.SearchRequest{Type: typ, Params: params, Compartment: &fhirstore.CompartmentRef{Type: v["ctype"], ID: v["id"]}}
	s.search(w, r, req, "/"+v["ctype"]+"/"+v["id"]+"/"+v["type"])
}

func (s *Server) handleEverything(w http.ResponseWriter, r *http.Request) {
	params, ok := s.searchParams(w, r)
	if !ok {
		return
	}
	id := mux.Vars(r)["id"]
	req := fhirstore.SearchRequest{Params: params, Everything: true}
	path := "/Patient/$everything"
	if id != "" {
		req.Compartment = &fhirstore.CompartmentRef{Type: "Patient", ID: id}
		path = "/Patient/" + id + "/$everything"
	}
	s.search(w, r, req, path)
}

// search runs a search and answers a searchset Bundle with self and next links.
func (s *Server) search(w http.ResponseWriter, r *http.Request, req fhirstore.SearchRequest, path string) {
	req.Strict = strictHandling(r)
	req.Cursor = req.Params.Get("_cursor")
	res, err := s.store.Search(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b := &Bundle{ResourceType: "Bundle", Type: "searchset", Total: res.Total, Timestamp: fhirstore.FormatInstant(time.Now())}
	link := func(rel string, q url.Values) {
		u := strings.TrimRight(s.BaseURL(), "/") + path
		if enc := q.Encode(); enc != "" {
			u += "?" + enc
		}
		b.Link = append(b.Link, BundleLink{rel, u})
	}
	link("self", res.Self)
	if res.Next != "" {
		link("next", url.Values{"_cursor": {res.Next}})
	}
	for _, hit := range res.Entries {
		body, err := s.shapeWith(req.Params, hit.JSON)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		b.Entry = append(b.Entry, BundleEntry{
			FullURL:  s.resourceURL(hit.Type, hit.ID),
			Resource: body,
			Search:   &EntrySearch{Mode: hit.Mode},
		})
	}
	if len(res.Warnings) > 0 {
		var issues []any
		for _, is := range res.Warnings {
			issues = append(issues, map[string]any{"severity": "warning", "code": is.Code, "diagnostics": is.Message})
		}
		oo, _ := encode(operationOutcome(issues...))
		b.Entry = append(b.Entry, BundleEntry{Resource: oo, Search: &EntrySearch{Mode: "outcome"}})
	}
	s.writeJSON(w, r, http.StatusOK, b)
}
