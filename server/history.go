package server

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"fhirbox/fhirstore"
)

// parseInstant accepts the date/dateTime/instant forms FHIR search uses.
func parseInstant(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// pageSize reads _count, answering bad values and values over the cap clearly.
func (s *Server) pageSize(q url.Values, def int) (int, error) {
	v := q.Get("_count")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fhirstore.Errorf(fhirstore.EInvalid, "_count must be a non-negative integer, not %q", v)
	}
	return min(n, maxCount), nil
}

const maxCount = 1000

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	q := r.URL.Query()
	req := fhirstore.HistoryRequest{Type: v["type"], ID: v["id"], Before: q.Get("_page")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"_since", &req.Since}, {"_at", &req.At}} {
		if val := q.Get(p.name); val != "" {
			t, ok := parseInstant(val)
			if !ok {
				s.fail(w, r, fhirstore.EInvalid, "%s must be an instant, not %q", p.name, val)
				return
			}
			*p.dst = t
		}
	}
	var err error
	if req.Count, err = s.pageSize(q, 50); err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.store.History(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	total := page.Total
	b := &Bundle{ResourceType: "Bundle", Type: "history", Total: &total,
		Timestamp: fhirstore.FormatInstant(time.Now())}
	self := *r.URL
	b.Link = append(b.Link, BundleLink{"self", s.absolute(&self)})
	if page.Next != "" {
		next := *r.URL
		nq := next.Query()
		nq.Set("_page", page.Next)
		next.RawQuery = nq.Encode()
		b.Link = append(b.Link, BundleLink{"next", s.absolute(&next)})
	}
	for _, res := range page.Entries {
		e := BundleEntry{FullURL: s.resourceURL(res.Type, res.ID)}
		e.Response = &EntryResponse{Etag: `W/"` + res.VersionID() + `"`, LastModified: fhirstore.FormatInstant(res.LastUpdated)}
		switch {
		case res.Deleted:
			e.Request = &EntryRequest{Method: "DELETE", URL: res.Type + "/" + res.ID}
			e.Response.Status = "204 No Content"
		case res.Method == "POST":
			e.Request = &EntryRequest{Method: "POST", URL: res.Type}
			e.Response.Status = "201 Created"
		case res.Version == 1:
			e.Request = &EntryRequest{Method: res.Method, URL: res.Type + "/" + res.ID}
			e.Response.Status = "201 Created"
		default:
			e.Request = &EntryRequest{Method: res.Method, URL: res.Type + "/" + res.ID}
			e.Response.Status = "200 OK"
		}
		if !res.Deleted {
			e.Resource = res.JSON
		}
		b.Entry = append(b.Entry, e)
	}
	s.writeJSON(w, r, http.StatusOK, b)
}

// absolute turns a request URL into an absolute link on the public base.
func (s *Server) absolute(u *url.URL) string {
	out := *s.base
	out.Path = u.Path
	out.RawPath = ""
	out.RawQuery = u.RawQuery
	return out.String()
}
