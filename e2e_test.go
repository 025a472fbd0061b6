package main

// End-to-end tests: every test starts the whole program (store, router, listener) exactly
// as `fhirbox serve` does, on 127.0.0.1:0 with a temporary database, and drives it over
// real HTTP. Scenarios are tables of steps; each step names the request and the exact
// status, headers and body fields it must get back. Independent servers run in parallel.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fhirbox/fhirstore"
)

// ---------------------------------------------------------------------------------------
// harness

type testServer struct {
	app  *App
	base string
	c    *http.Client
}

// startApp starts fhirbox the way users do and stops it when the test ends.
func startApp(tb testing.TB, mod func(*Config)) *testServer {
	tb.Helper()
	// Scenarios assert exact counts, so they start from an empty store; they exercise the
	// REST core, so the API is open (scope enforcement has its own suite).
	app := &App{Config: Config{Addr: "127.0.0.1:0", DB: filepath.Join(tb.TempDir(), "fhirbox.db"), NoSeed: true, Open: true}}
	if mod != nil {
		mod(&app.Config)
	}
	if err := app.Start(context.Background()); err != nil {
		tb.Fatalf("start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Close(ctx); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return &testServer{app: app, base: app.BaseURL, c: &http.Client{Timeout: 30 * time.Second}}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends one request; path is relative to the FHIR base unless it is an absolute URL.
func (s *testServer) do(tb testing.TB, method, path string, hdr map[string]string, body string) *response {
	tb.Helper()
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = s.base + path
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (r *response) decode(tb testing.TB) map[string]any {
	tb.Helper()
	d := json.NewDecoder(bytes.NewReader(r.Body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		tb.Fatalf("body is not a JSON object (%v): %.400s", err, r.Body)
	}
	return m
}

// jget walks a dotted path ("entry.0.resource.id"); a final ".#" gives the length of an
// array or object. Missing elements give nil.
func jget(v any, path string) any {
	if path == "" {
		return v
	}
	for _, p := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			if p == "#" {
				return len(c)
			}
			v = c[p]
		case []any:
			if p == "#" {
				return len(c)
			}
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// jstr renders a decoded JSON value for comparison; absent is "<absent>".
func jstr(v any) string {
	switch x := v.(type) {
	case nil:
		return "<absent>"
	case string:
		return x
	case json.Number:
		return x.String()
	case bool, int:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

const (
	absent   = "<absent>"
	fhirJSON = "application/fhir+json; charset=utf-8"
	anyValue = "<any>" // header must be present, any value
)

// historyTotal is the number of versions in the system history: every successful write
// adds one, so an unchanged total means nothing was written.
func (s *testServer) historyTotal(tb testing.TB) int {
	tb.Helper()
	r := s.do(tb, "GET", "/_history?_count=1", nil, "")
	if r.Status != 200 {
		tb.Fatalf("system history: %d %s", r.Status, r.Body)
	}
	n, err := strconv.Atoi(jstr(jget(r.decode(tb), "total")))
	if err != nil {
		tb.Fatalf("system history has no total: %s", r.Body)
	}
	return n
}

// step is one request of a scenario and everything its response must show.
type step struct {
	name   string
	method string
	path   string // relative to the base; {var} are expanded
	header map[string]string
	body   string

	status     int
	header2    map[string]string // exact response headers ({var} expanded; anyValue = present)
	noHeader   []string          // headers that must be absent
	emptyBody  bool
	isOutcome  bool              // body is an OperationOutcome
	fields     map[string]string // dotted path -> exact value (absent = must be missing)
	contains   []string          // byte fragments of the raw body
	excludes   []string          // byte fragments that must not be in the body
	save       map[string]string // var name -> dotted path in the body
	saveHeader map[string]string // var name -> response header
	check      func(t *testing.T, r *response, vars map[string]string)
}

var varRE = regexp.MustCompile(`\{[A-Za-z0-9_]+\}`)

func expand(s string, vars map[string]string) string {
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// runSteps runs steps in order against one server. Every failed non-GET request is also
// checked to have left the store unchanged, and no response may be a 5xx.
func runSteps(t *testing.T, s *testServer, vars map[string]string, steps []step) {
	t.Helper()
	if vars == nil {
		vars = map[string]string{}
	}
	vars["base"] = s.base
	broken := map[string]string{} // var -> the failed step that should have set it
	for i, st := range steps {
		name := fmt.Sprintf("%02d_%s", i, st.name)
		ok := t.Run(name, func(t *testing.T) {
			for _, m := range varRE.FindAllString(st.path+st.body+fmt.Sprint(st.header)+fmt.Sprint(st.fields)+fmt.Sprint(st.header2), -1) {
				if by, ok := broken[m[1:len(m)-1]]; ok {
					t.Skipf("depends on %s, set by the failed step %s", m, by)
				}
			}
			hdr := map[string]string{}
			for k, v := range st.header {
				hdr[k] = expand(v, vars)
			}
			write := st.method != "GET" && st.method != "HEAD" && st.method != "OPTIONS"
			before := -1
			if write && st.status >= 400 {
				before = s.historyTotal(t)
			}
			r := s.do(t, st.method, expand(st.path, vars), hdr, expand(st.body, vars))
			if r.Status >= 500 {
				t.Errorf("%s %s: server error %d: %s", st.method, st.path, r.Status, r.Body)
			}
			if r.Status != st.status {
				t.Fatalf("%s %s: status %d, want %d; body: %.600s", st.method, expand(st.path, vars), r.Status, st.status, r.Body)
			}
			var doc map[string]any
			if len(bytes.TrimSpace(r.Body)) > 0 && (st.save != nil || st.fields != nil || st.isOutcome) {
				doc = r.decode(t)
			}
			for k, p := range st.save {
				v := jget(doc, p)
				if v == nil {
					t.Fatalf("nothing at %s to save as %s: %.400s", p, k, r.Body)
				}
				vars[k] = jstr(v)
			}
			for k, h := range st.saveHeader {
				vars[k] = r.Header.Get(h)
			}
			for h, want := range st.header2 {
				got := r.Header.Get(h)
				if want == anyValue {
					if got == "" {
						t.Errorf("header %s missing", h)
					}
					continue
				}
				if want = expand(want, vars); got != want {
					t.Errorf("header %s = %q, want %q", h, got, want)
				}
			}
			for _, h := range st.noHeader {
				if got := r.Header.Get(h); got != "" {
					t.Errorf("header %s = %q, want none", h, got)
				}
			}
			if st.emptyBody && len(r.Body) > 0 {
				t.Errorf("body = %.300q, want empty", r.Body)
			}
			if st.isOutcome {
				if rt := jstr(jget(doc, "resourceType")); rt != "OperationOutcome" {
					t.Errorf("body is a %s, want an OperationOutcome: %.400s", rt, r.Body)
				} else if jstr(jget(doc, "issue.0.severity")) == absent {
					t.Errorf("OperationOutcome without an issue: %s", r.Body)
				}
				if ct := r.Header.Get("Content-Type"); ct != fhirJSON {
					t.Errorf("Content-Type of the OperationOutcome = %q, want %q", ct, fhirJSON)
				}
			}
			for p, want := range st.fields {
				if got := jstr(jget(doc, p)); got != expand(want, vars) {
					t.Errorf("%s = %s, want %s", p, got, expand(want, vars))
				}
			}
			for _, frag := range st.contains {
				if !bytes.Contains(r.Body, []byte(expand(frag, vars))) {
					t.Errorf("body lacks %q: %.600s", expand(frag, vars), r.Body)
				}
			}
			for _, frag := range st.excludes {
				if bytes.Contains(r.Body, []byte(expand(frag, vars))) {
					t.Errorf("body has %q: %.600s", expand(frag, vars), r.Body)
				}
			}
			if st.check != nil {
				st.check(t, r, vars)
			}
			if before >= 0 {
				if after := s.historyTotal(t); after != before {
					t.Errorf("a failed %s changed the store: history total %d -> %d", st.method, before, after)
				}
			}
		})
		// Later steps that use what a failed step should have saved are skipped.
		if !ok {
			for k := range st.save {
				if _, set := vars[k]; !set {
					broken[k] = name
				}
			}
			for k := range st.saveHeader {
				if vars[k] == "" {
					broken[k] = name
				}
			}
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func lastModifiedMatchesMeta(t *testing.T, r *response, _ map[string]string) {
	t.Helper()
	lm, err := http.ParseTime(r.Header.Get("Last-Modified"))
	if err != nil {
		t.Fatalf("Last-Modified %q is not an HTTP date: %v", r.Header.Get("Last-Modified"), err)
	}
	meta, err := time.Parse(time.RFC3339Nano, jstr(jget(r.decode(t), "meta.lastUpdated")))
	if err != nil {
		t.Fatalf("meta.lastUpdated is not an instant: %v", err)
	}
	if !lm.Equal(meta.Truncate(time.Second)) {
		t.Errorf("Last-Modified %s does not match meta.lastUpdated %s", lm, meta)
	}
	if d := time.Since(meta); d < -time.Minute || d > time.Minute {
		t.Errorf("meta.lastUpdated %s is not now", meta)
	}
}

func patientJSON(id, identifier, extra string) string {
	s := `{"resourceType":"Patient"`
	if id != "" {
		s += `,"id":"` + id + `"`
	}
	if identifier != "" {
		sys, val, _ := strings.Cut(identifier, "|")
		s += `,"identifier":[{"system":"` + sys + `","value":"` + val + `"}]`
	}
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// ---------------------------------------------------------------------------------------
// CRUD, versions, preconditions, Prefer

func TestE2ECRUD(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	steps := []step{
		{name: "create ignores the client id", method: "POST", path: "/Patient",
			body:   patientJSON("client-chosen", "urn:sys|crud-1", `"meta":{"versionId":"42"},"name":[{"family":"Chalmers"}],"birthDate":"1970-01-01"`),
			status: 201, save: map[string]string{"pid": "id"}, saveHeader: map[string]string{"lm1": "Last-Modified"},
			header2: map[string]string{"ETag": `W/"1"`, "Location": "{base}/Patient/{pid}/_history/1", "Content-Type": fhirJSON, "Last-Modified": anyValue},
			fields:  map[string]string{"resourceType": "Patient", "meta.versionId": "1", "birthDate": "1970-01-01", "name.0.family": "Chalmers"},
			check: func(t *testing.T, r *response, v map[string]string) {
				if !uuidRE.MatchString(v["pid"]) {
					t.Errorf("server id %q is not a UUID", v["pid"])
				}
				lastModifiedMatchesMeta(t, r, v)
			}},
		{name: "read", method: "GET", path: "/Patient/{pid}", status: 200,
			header2: map[string]string{"ETag": `W/"1"`, "Last-Modified": "{lm1}", "Content-Type": fhirJSON},
			fields:  map[string]string{"id": "{pid}", "meta.versionId": "1", "birthDate": "1970-01-01"}},
		{name: "client id was not used", method: "GET", path: "/Patient/client-chosen", status: 404, isOutcome: true},
		{name: "head", method: "HEAD", path: "/Patient/{pid}", status: 200, emptyBody: true,
			header2: map[string]string{"ETag": `W/"1"`, "Last-Modified": "{lm1}"}},
		{name: "vread 1", method: "GET", path: "/Patient/{pid}/_history/1", status: 200,
			header2: map[string]string{"ETag": `W/"1"`, "Content-Type": fhirJSON}, fields: map[string]string{"id": "{pid}"}},
		{name: "vread of a version not written", method: "GET", path: "/Patient/{pid}/_history/2", status: 404, isOutcome: true},
		{name: "vread of a bad version", method: "GET", path: "/Patient/{pid}/_history/x", status: 404, isOutcome: true},
		{name: "update", method: "PUT", path: "/Patient/{pid}",
			body:   patientJSON("{pid}", "urn:sys|crud-1", `"name":[{"family":"Chalmers"}],"birthDate":"1971-02-03"`),
			status: 200, header2: map[string]string{"ETag": `W/"2"`, "Location": "{base}/Patient/{pid}/_history/2", "Content-Type": fhirJSON},
			fields: map[string]string{"meta.versionId": "2", "birthDate": "1971-02-03"}, check: lastModifiedMatchesMeta},
		{name: "no-op update keeps the version", method: "PUT", path: "/Patient/{pid}",
			body:   patientJSON("{pid}", "urn:sys|crud-1", `"name":[{"family":"Chalmers"}],"birthDate":"1971-02-03"`),
			status: 200, header2: map[string]string{"ETag": `W/"2"`}},
		{name: "read after update", method: "GET", path: "/Patient/{pid}", status: 200,
			header2: map[string]string{"ETag": `W/"2"`}, fields: map[string]string{"birthDate": "1971-02-03"}},
		{name: "vread 1 still has the old content", method: "GET", path: "/Patient/{pid}/_history/1", status: 200,
			header2: map[string]string{"ETag": `W/"1"`}, fields: map[string]string{"birthDate": "1970-01-01", "meta.versionId": "1"}},
		{name: "update with body id different from the URL", method: "PUT", path: "/Patient/{pid}",
			body: patientJSON("someone-else", "", ""), status: 400, isOutcome: true},
		{name: "update without body id", method: "PUT", path: "/Patient/{pid}",
			body: patientJSON("", "", `"gender":"male"`), status: 400, isOutcome: true},
		{name: "update-as-create with a client id", method: "PUT", path: "/Patient/pat-client-1",
			body: patientJSON("pat-client-1", "", `"gender":"female"`), status: 201,
			header2: map[string]string{"ETag": `W/"1"`, "Location": "{base}/Patient/pat-client-1/_history/1", "Last-Modified": anyValue},
			fields:  map[string]string{"id": "pat-client-1", "meta.versionId": "1"}},
		{name: "read the client-id resource", method: "GET", path: "/Patient/pat-client-1", status: 200,
			header2: map[string]string{"ETag": `W/"1"`}, fields: map[string]string{"gender": "female"}},
		{name: "If-Match stale", method: "PUT", path: "/Patient/{pid}", header: map[string]string{"If-Match": `W/"1"`},
			body: patientJSON("{pid}", "urn:sys|crud-1", `"birthDate":"1999-01-01"`), status: 412, isOutcome: true},
		{name: "If-Match on a resource that does not exist", method: "PUT", path: "/Patient/no-such", header: map[string]string{"If-Match": `W/"1"`},
			body: patientJSON("no-such", "", ""), status: 412, isOutcome: true},
		{name: "If-Match current", method: "PUT", path: "/Patient/{pid}", header: map[string]string{"If-Match": `W/"2"`},
			body:   patientJSON("{pid}", "urn:sys|crud-1", `"name":[{"family":"Chalmers"}],"birthDate":"1972-01-01"`),
			status: 200, header2: map[string]string{"ETag": `W/"3"`}, saveHeader: map[string]string{"lm3": "Last-Modified"}},
		{name: "If-None-Match current gives 304", method: "GET", path: "/Patient/{pid}", header: map[string]string{"If-None-Match": `W/"3"`},
			status: 304, emptyBody: true, header2: map[string]string{"ETag": `W/"3"`}},
		{name: "If-None-Match of an old version gives the resource", method: "GET", path: "/Patient/{pid}", header: map[string]string{"If-None-Match": `W/"1"`},
			status: 200, header2: map[string]string{"ETag": `W/"3"`}, fields: map[string]string{"birthDate": "1972-01-01"}},
		{name: "If-Modified-Since Last-Modified gives 304", method: "GET", path: "/Patient/{pid}", header: map[string]string{"If-Modified-Since": "{lm3}"},
			status: 304, emptyBody: true},
		{name: "If-Modified-Since long ago gives the resource", method: "GET", path: "/Patient/{pid}", header: map[string]string{"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
			status: 200, fields: map[string]string{"meta.versionId": "3"}},
		{name: "delete with stale If-Match", method: "DELETE", path: "/Patient/{pid}", header: map[string]string{"If-Match": `W/"1"`},
			status: 412, isOutcome: true},
		{name: "delete with current If-Match", method: "DELETE", path: "/Patient/{pid}", header: map[string]string{"If-Match": `W/"3"`},
			status: 204, emptyBody: true},
		{name: "read after delete is Gone", method: "GET", path: "/Patient/{pid}", status: 410, isOutcome: true},
		{name: "If-None-Match does not hide a deletion", method: "GET", path: "/Patient/{pid}", header: map[string]string{"If-None-Match": `W/"3"`}, status: 410, isOutcome: true},
		{name: "vread of a version before the delete", method: "GET", path: "/Patient/{pid}/_history/3", status: 200,
			header2: map[string]string{"ETag": `W/"3"`}, fields: map[string]string{"birthDate": "1972-01-01"}},
		{name: "vread of the deletion", method: "GET", path: "/Patient/{pid}/_history/4", status: 410, isOutcome: true},
		{name: "delete again", method: "DELETE", path: "/Patient/{pid}", status: 204, emptyBody: true},
		{name: "delete of something that never existed", method: "DELETE", path: "/Patient/never-was", status: 204, emptyBody: true},
		{name: "instance history shows the deletion", method: "GET", path: "/Patient/{pid}/_history", status: 200,
			fields: map[string]string{"resourceType": "Bundle", "type": "history", "total": "4", "entry.#": "4",
				"entry.0.request.method": "DELETE", "entry.0.resource": absent, "entry.1.resource.meta.versionId": "3",
				"entry.3.resource.meta.versionId": "1", "entry.3.request.method": "POST", "entry.3.response.status": "201 Created"}},
		{name: "update after delete recreates", method: "PUT", path: "/Patient/{pid}", body: patientJSON("{pid}", "", `"gender":"other"`),
			status: 201, header2: map[string]string{"ETag": `W/"5"`, "Location": "{base}/Patient/{pid}/_history/5"}},
		{name: "Prefer return=minimal on update", method: "PUT", path: "/Patient/{pid}", header: map[string]string{"Prefer": "return=minimal"},
			body: patientJSON("{pid}", "", `"gender":"male"`), status: 200, emptyBody: true,
			header2: map[string]string{"ETag": `W/"6"`, "Location": "{base}/Patient/{pid}/_history/6", "Last-Modified": anyValue}},
		{name: "Prefer return=minimal on create", method: "POST", path: "/Patient", header: map[string]string{"Prefer": "return=minimal"},
			body: patientJSON("", "", `"gender":"male"`), status: 201, emptyBody: true,
			header2: map[string]string{"ETag": `W/"1"`, "Location": anyValue, "Last-Modified": anyValue},
			check: func(t *testing.T, r *response, v map[string]string) {
				if loc := r.Header.Get("Location"); !regexp.MustCompile(`^` + regexp.QuoteMeta(v["base"]) + `/Patient/[0-9a-f-]{36}/_history/1$`).MatchString(loc) {
					t.Errorf("Location %q", loc)
				}
			}},
		{name: "Prefer return=OperationOutcome", method: "PUT", path: "/Patient/{pid}", header: map[string]string{"Prefer": "return=OperationOutcome"},
			body: patientJSON("{pid}", "", `"gender":"female"`), status: 200,
			header2: map[string]string{"ETag": `W/"7"`, "Location": "{base}/Patient/{pid}/_history/7", "Content-Type": fhirJSON},
			fields:  map[string]string{"resourceType": "OperationOutcome", "issue.0.severity": "information"}},
		{name: "Prefer return=representation", method: "PUT", path: "/Patient/{pid}", header: map[string]string{"Prefer": "return=representation"},
			body: patientJSON("{pid}", "", `"gender":"unknown"`), status: 200,
			header2: map[string]string{"ETag": `W/"8"`}, fields: map[string]string{"resourceType": "Patient", "gender": "unknown", "meta.versionId": "8"}},
		{name: "Prefer return=OperationOutcome on delete", method: "DELETE", path: "/Patient/pat-client-1", header: map[string]string{"Prefer": "return=OperationOutcome"},
			status: 200, fields: map[string]string{"resourceType": "OperationOutcome", "issue.0.severity": "information"}},
		{name: "read of the deleted client-id resource", method: "GET", path: "/Patient/pat-client-1", status: 410, isOutcome: true},
	}
	runSteps(t, s, nil, steps)
}

// ---------------------------------------------------------------------------------------
// JSON Patch

func TestE2EPatch(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	jp := map[string]string{"Content-Type": "application/json-patch+json"}
	steps := []step{
		{name: "create", method: "PUT", path: "/Patient/p1",
			body:   patientJSON("p1", "", `"gender":"female","birthDate":"1980-05-05","name":[{"family":"A","given":["x"]}]`),
			status: 201, header2: map[string]string{"ETag": `W/"1"`}},
		{name: "replace", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":"replace","path":"/gender","value":"male"}]`,
			status: 200, header2: map[string]string{"ETag": `W/"2"`, "Location": "{base}/Patient/p1/_history/2", "Content-Type": fhirJSON, "Last-Modified": anyValue},
			fields: map[string]string{"gender": "male", "meta.versionId": "2", "id": "p1"}},
		{name: "add", method: "PATCH", path: "/Patient/p1", header: jp,
			body:   `[{"op":"add","path":"/name/0/given/-","value":"y"},{"op":"add","path":"/active","value":true}]`,
			status: 200, header2: map[string]string{"ETag": `W/"3"`}, fields: map[string]string{"name.0.given.1": "y", "name.0.given.0": "x", "active": "true"}},
		{name: "remove", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":"remove","path":"/birthDate"}]`,
			status: 200, header2: map[string]string{"ETag": `W/"4"`}, fields: map[string]string{"birthDate": absent}},
		{name: "test that passes", method: "PATCH", path: "/Patient/p1", header: jp,
			body:   `[{"op":"test","path":"/gender","value":"male"},{"op":"replace","path":"/gender","value":"other"}]`,
			status: 200, header2: map[string]string{"ETag": `W/"5"`}, fields: map[string]string{"gender": "other"}},
		{name: "test that fails", method: "PATCH", path: "/Patient/p1", header: jp,
			body:   `[{"op":"test","path":"/gender","value":"female"},{"op":"replace","path":"/gender","value":"unknown"}]`,
			status: 422, isOutcome: true},
		{name: "patch changing the id", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":"replace","path":"/id","value":"p2"}]`,
			status: 422, isOutcome: true},
		{name: "patch removing the id", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":"remove","path":"/id"}]`,
			status: 422, isOutcome: true},
		{name: "patch changing the resourceType", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":"replace","path":"/resourceType","value":"Group"}]`,
			status: 422, isOutcome: true},
		{name: "remove of a missing element", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":"remove","path":"/deceasedBoolean"}]`,
			status: 422, isOutcome: true},
		{name: "patch doc that is an object", method: "PATCH", path: "/Patient/p1", header: jp, body: `{"op":"replace","path":"/gender","value":"male"}`,
			status: 400, isOutcome: true},
		{name: "patch doc with an unknown op", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":"frobnicate","path":"/gender"}]`,
			status: 400, isOutcome: true},
		{name: "patch op without a value", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":"replace","path":"/gender"}]`,
			status: 400, isOutcome: true},
		{name: "patch doc that is not JSON", method: "PATCH", path: "/Patient/p1", header: jp, body: `[{"op":`,
			status: 400, isOutcome: true},
		{name: "patch as FHIR JSON is refused", method: "PATCH", path: "/Patient/p1", header: map[string]string{"Content-Type": "application/fhir+json"},
			body: `[{"op":"replace","path":"/gender","value":"male"}]`, status: 415, isOutcome: true},
		{name: "patch with stale If-Match", method: "PATCH", path: "/Patient/p1", header: map[string]string{"Content-Type": "application/json-patch+json", "If-Match": `W/"1"`},
			body: `[{"op":"replace","path":"/gender","value":"male"}]`, status: 412, isOutcome: true},
		{name: "patch with current If-Match", method: "PATCH", path: "/Patient/p1", header: map[string]string{"Content-Type": "application/json-patch+json", "If-Match": `W/"5"`},
			body: `[{"op":"replace","path":"/gender","value":"male"}]`, status: 200, header2: map[string]string{"ETag": `W/"6"`}},
		{name: "patch of a resource that does not exist", method: "PATCH", path: "/Patient/nobody", header: jp,
			body: `[{"op":"replace","path":"/gender","value":"male"}]`, status: 404, isOutcome: true},
		{name: "read after patches", method: "GET", path: "/Patient/p1", status: 200, header2: map[string]string{"ETag": `W/"6"`},
			fields: map[string]string{"gender": "male", "name.0.given.#": "2", "active": "true", "birthDate": absent, "id": "p1", "meta.versionId": "6"}},
		{name: "vread before the patches", method: "GET", path: "/Patient/p1/_history/1", status: 200,
			fields: map[string]string{"gender": "female", "birthDate": "1980-05-05", "name.0.given.#": "1"}},
		{name: "delete", method: "DELETE", path: "/Patient/p1", status: 204},
		{name: "patch of a deleted resource", method: "PATCH", path: "/Patient/p1", header: jp,
			body: `[{"op":"replace","path":"/gender","value":"male"}]`, status: 410, isOutcome: true},
	}
	runSteps(t, s, nil, steps)
}

// ---------------------------------------------------------------------------------------
// conditional create, update, delete

func TestE2EConditional(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	steps := []step{
		{name: "conditional create with no match creates", method: "POST", path: "/Patient",
			header: map[string]string{"If-None-Exist": "identifier=urn:sys|c1"}, body: patientJSON("", "urn:sys|c1", `"gender":"female"`),
			status: 201, save: map[string]string{"c1": "id"}, header2: map[string]string{"ETag": `W/"1"`, "Location": "{base}/Patient/{c1}/_history/1"}},
		{name: "conditional create with one match returns it", method: "POST", path: "/Patient",
			header: map[string]string{"If-None-Exist": "identifier=urn:sys|c1"}, body: patientJSON("", "urn:sys|c1", `"gender":"male"`),
			status: 200, header2: map[string]string{"ETag": `W/"1"`},
			fields: map[string]string{"id": "{c1}", "gender": "female", "meta.versionId": "1"}},
		{name: "no second Patient was written", method: "GET", path: "/Patient/_history", status: 200, fields: map[string]string{"total": "1"}},
		{name: "If-None-Exist by _id", method: "POST", path: "/Patient",
			header: map[string]string{"If-None-Exist": "_id={c1}"}, body: patientJSON("", "", `"gender":"male"`),
			status: 200, fields: map[string]string{"id": "{c1}"}},
		{name: "identifier value without system matches", method: "POST", path: "/Patient",
			header: map[string]string{"If-None-Exist": "identifier=c1"}, body: patientJSON("", "", `"gender":"male"`),
			status: 200, fields: map[string]string{"id": "{c1}"}},
		{name: "another system does not match", method: "POST", path: "/Patient",
			header: map[string]string{"If-None-Exist": "identifier=urn:other|c1"}, body: patientJSON("", "urn:other|c1", ""),
			status: 201, save: map[string]string{"other": "id"}},
		{name: "dup 1", method: "POST", path: "/Patient", body: patientJSON("", "urn:sys|dup", ""), status: 201},
		{name: "dup 2", method: "POST", path: "/Patient", body: patientJSON("", "urn:sys|dup", ""), status: 201},
		{name: "conditional create with two matches", method: "POST", path: "/Patient",
			header: map[string]string{"If-None-Exist": "identifier=urn:sys|dup"}, body: patientJSON("", "urn:sys|dup", ""),
			status: 412, isOutcome: true},
		{name: "conditional update with no match creates", method: "PUT", path: "/Patient?identifier=urn:sys|cu",
			body: patientJSON("", "urn:sys|cu", `"gender":"female"`), status: 201, save: map[string]string{"cu": "id"},
			header2: map[string]string{"ETag": `W/"1"`, "Location": "{base}/Patient/{cu}/_history/1"}},
		{name: "conditional update with one match updates", method: "PUT", path: "/Patient?identifier=urn:sys|cu",
			body: patientJSON("", "urn:sys|cu", `"gender":"male"`), status: 200,
			header2: map[string]string{"ETag": `W/"2"`, "Location": "{base}/Patient/{cu}/_history/2"},
			fields:  map[string]string{"id": "{cu}", "gender": "male"}},
		{name: "conditional update with the matched id in the body", method: "PUT", path: "/Patient?identifier=urn:sys|cu",
			body: patientJSON("{cu}", "urn:sys|cu", `"gender":"other"`), status: 200, header2: map[string]string{"ETag": `W/"3"`}},
		{name: "conditional update with another id in the body", method: "PUT", path: "/Patient?identifier=urn:sys|cu",
			body: patientJSON("not-the-match", "urn:sys|cu", `"gender":"male"`), status: 400, isOutcome: true},
		{name: "conditional update with a stale If-Match", method: "PUT", path: "/Patient?identifier=urn:sys|cu", header: map[string]string{"If-Match": `W/"1"`},
			body: patientJSON("", "urn:sys|cu", `"gender":"male"`), status: 412, isOutcome: true},
		{name: "conditional update with two matches", method: "PUT", path: "/Patient?identifier=urn:sys|dup",
			body: patientJSON("", "urn:sys|dup", `"gender":"male"`), status: 412, isOutcome: true},
		{name: "conditional update on an unsupported parameter", method: "PUT", path: "/Patient?frobnitz=1",
			body: patientJSON("", "", ""), status: 400, isOutcome: true},
		{name: "PUT on the type without criteria", method: "PUT", path: "/Patient",
			body: patientJSON("", "", ""), status: 400, isOutcome: true},
		{name: "conditional delete with two matches", method: "DELETE", path: "/Patient?identifier=urn:sys|dup", status: 412, isOutcome: true},
		{name: "conditional delete with no match", method: "DELETE", path: "/Patient?identifier=urn:sys|none", status: 204, emptyBody: true},
		{name: "conditional delete with one match", method: "DELETE", path: "/Patient?identifier=urn:sys|cu", status: 204, emptyBody: true},
		{name: "the conditionally deleted resource is gone", method: "GET", path: "/Patient/{cu}", status: 410, isOutcome: true},
		{name: "the other one is untouched", method: "GET", path: "/Patient/{other}", status: 200, header2: map[string]string{"ETag": `W/"1"`}},
		{name: "conditional create after the delete creates anew", method: "POST", path: "/Patient",
			header: map[string]string{"If-None-Exist": "identifier=urn:sys|cu"}, body: patientJSON("", "urn:sys|cu", ""),
			status: 201, check: func(t *testing.T, r *response, v map[string]string) {
				if id := jstr(jget(r.decode(t), "id")); id == v["cu"] {
					t.Errorf("conditional create matched the deleted %s", id)
				}
			}},
		{name: "DELETE on the type without criteria", method: "DELETE", path: "/Patient", status: 400, isOutcome: true},
	}
	runSteps(t, s, nil, steps)
}

// ---------------------------------------------------------------------------------------
// history

// followHistory reads a history URL and every next link, returning all entries in order.
func followHistory(t *testing.T, s *testServer, path string, pageSize int) (entries []map[string]any, totals []string) {
	t.Helper()
	next := path
	for pages := 0; next != ""; pages++ {
		if pages > 100 {
			t.Fatalf("more than 100 pages following %s", path)
		}
		r := s.do(t, "GET", next, nil, "")
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", next, r.Status, r.Body)
		}
		b := r.decode(t)
		if jstr(jget(b, "type")) != "history" {
			t.Fatalf("not a history Bundle: %.300s", r.Body)
		}
		totals = append(totals, jstr(jget(b, "total")))
		es, _ := jget(b, "entry").([]any)
		if len(es) > pageSize {
			t.Errorf("page %d of %s has %d entries, more than _count=%d", pages, path, len(es), pageSize)
		}
		next = ""
		links, _ := jget(b, "link").([]any)
		sawSelf := false
		for _, l := range links {
			switch jstr(jget(l, "relation")) {
			case "next":
				next = jstr(jget(l, "url"))
				if !strings.HasPrefix(next, s.base+"/") {
					t.Errorf("next link %q is not on the base %s", next, s.base)
				}
			case "self":
				sawSelf = true
			}
		}
		if !sawSelf {
			t.Errorf("page %d of %s has no self link", pages, path)
		}
		if next != "" && len(es) == 0 {
			t.Fatalf("empty page with a next link at %s", path)
		}
		for _, e := range es {
			entries = append(entries, e.(map[string]any))
		}
	}
	return entries, totals
}

func TestE2EHistory(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	var lastUpdated []string // of Patient/h1 versions 1..7
	for v := 1; v <= 7; v++ {
		r := s.do(t, "PUT", "/Patient/h1", nil, patientJSON("h1", "", fmt.Sprintf(`"multipleBirthInteger":%d`, v)))
		if r.Status != 200 && r.Status != 201 {
			t.Fatalf("PUT v%d: %d %s", v, r.Status, r.Body)
		}
		lastUpdated = append(lastUpdated, jstr(jget(r.decode(t), "meta.lastUpdated")))
		time.Sleep(3 * time.Millisecond)
	}
	if r := s.do(t, "PUT", "/Observation/o1", nil, `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"}}`); r.Status != 201 {
		t.Fatalf("PUT Observation: %d %s", r.Status, r.Body)
	}
	versions := func(es []map[string]any) []string {
		var out []string
		for _, e := range es {
			out = append(out, jstr(jget(e, "fullUrl"))+"@"+jstr(jget(e, "resource.meta.versionId")))
		}
		return out
	}
	want := func(prefix string, vs ...int) []string {
		var out []string
		for _, v := range vs {
			out = append(out, prefix+"@"+strconv.Itoa(v))
		}
		return out
	}
	h1 := s.base + "/Patient/h1"
	o1 := s.base + "/Observation/o1"

	t.Run("instance history paged", func(t *testing.T) {
		es, totals := followHistory(t, s, "/Patient/h1/_history?_count=3", 3)
		if got, w := versions(es), want(h1, 7, 6, 5, 4, 3, 2, 1); !slices.Equal(got, w) {
			t.Errorf("versions %v, want %v", got, w)
		}
		if len(totals) != 3 {
			t.Errorf("%d pages, want 3", len(totals))
		}
		for _, tot := range totals {
			if tot != "7" {
				t.Errorf("page total %s, want 7", tot)
			}
		}
		if m := jstr(jget(es[6], "request.method")); m != "PUT" {
			t.Errorf("version 1 request.method %s, want PUT", m)
		}
		if st := jstr(jget(es[6], "response.status")); st != "201 Created" {
			t.Errorf("version 1 response.status %s", st)
		}
		if st := jstr(jget(es[0], "response.status")); st != "200 OK" {
			t.Errorf("version 7 response.status %s", st)
		}
		if et := jstr(jget(es[0], "response.etag")); et != `W/"7"` {
			t.Errorf("version 7 response.etag %s", et)
		}
	})
	t.Run("instance history _since", func(t *testing.T) {
		es, totals := followHistory(t, s, "/Patient/h1/_history?_count=2&_since="+url.QueryEscape(lastUpdated[3]), 2)
		if got, w := versions(es), want(h1, 7, 6, 5, 4); !slices.Equal(got, w) {
			t.Errorf("versions %v, want %v", got, w)
		}
		if totals[0] != "4" {
			t.Errorf("total %s, want 4", totals[0])
		}
	})
	t.Run("type history", func(t *testing.T) {
		es, _ := followHistory(t, s, "/Patient/_history?_count=4", 4)
		if got, w := versions(es), want(h1, 7, 6, 5, 4, 3, 2, 1); !slices.Equal(got, w) {
			t.Errorf("versions %v, want %v", got, w)
		}
		es, _ = followHistory(t, s, "/Observation/_history", 50)
		if got, w := versions(es), want(o1, 1); !slices.Equal(got, w) {
			t.Errorf("Observation history %v, want %v", got, w)
		}
	})
	t.Run("type history _count=0 gives only the total", func(t *testing.T) {
		r := s.do(t, "GET", "/Patient/_history?_count=0", nil, "")
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		b := r.decode(t)
		if got := jstr(jget(b, "total")); got != "7" {
			t.Errorf("total %s, want 7", got)
		}
		if n := jget(b, "entry.#"); n != nil {
			t.Errorf("_count=0 returned %v entries, want none", n)
		}
	})
	t.Run("system history paged", func(t *testing.T) {
		es, totals := followHistory(t, s, "/_history?_count=2", 2)
		w := append(want(o1, 1), want(h1, 7, 6, 5, 4, 3, 2, 1)...)
		if got := versions(es); !slices.Equal(got, w) {
			t.Errorf("versions %v, want %v", got, w)
		}
		if totals[0] != "8" {
			t.Errorf("total %s, want 8", totals[0])
		}
		seen := map[string]bool{}
		for _, v := range versions(es) {
			if seen[v] {
				t.Errorf("duplicate %s", v)
			}
			seen[v] = true
		}
	})
	t.Run("system history _since", func(t *testing.T) {
		es, _ := followHistory(t, s, "/_history?_since="+url.QueryEscape(lastUpdated[5]), 50)
		w := append(want(o1, 1), want(h1, 7, 6)...)
		if got := versions(es); !slices.Equal(got, w) {
			t.Errorf("versions %v, want %v", got, w)
		}
	})
	t.Run("_since in the future", func(t *testing.T) {
		es, totals := followHistory(t, s, "/_history?_since=2999-01-01T00:00:00Z", 50)
		if len(es) != 0 || totals[0] != "0" {
			t.Errorf("%d entries, total %s; want none", len(es), totals[0])
		}
	})
	errs := []step{
		{name: "history of an unknown instance", method: "GET", path: "/Patient/nobody/_history", status: 404, isOutcome: true},
		{name: "bad _since", method: "GET", path: "/Patient/_history?_since=yesterday", status: 400, isOutcome: true},
		{name: "negative _count", method: "GET", path: "/_history?_count=-1", status: 400, isOutcome: true},
		{name: "bad page token", method: "GET", path: "/_history?_page=abc", status: 400, isOutcome: true},
		{name: "history links are absolute", method: "GET", path: "/Patient/h1/_history?_count=1", status: 200,
			fields: map[string]string{"link.0.relation": "self", "link.0.url": "{base}/Patient/h1/_history?_count=1", "link.1.relation": "next",
				"entry.0.fullUrl": "{base}/Patient/h1", "entry.#": "1"}},
	}
	runSteps(t, s, nil, errs)
}

// ---------------------------------------------------------------------------------------
// transactions

func bundle(typ string, entries ...string) string {
	if len(entries) == 0 { // FHIR JSON has no empty arrays: an empty Bundle omits entry
		return `{"resourceType":"Bundle","type":"` + typ + `"}`
	}
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

func entry(method, url, fullURL, resource string, extra ...string) string {
	s := `{`
	if fullURL != "" {
		s += `"fullUrl":"` + fullURL + `",`
	}
	if resource != "" {
		s += `"resource":` + resource + `,`
	}
	req := `"method":"` + method + `","url":"` + url + `"`
	for _, x := range extra {
		req += "," + x
	}
	return s + `"request":{` + req + `}}`
}

func TestE2ETransaction(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	const patA = "urn:uuid:1c0ab9f4-2d8e-4c4e-9d7a-000000000001"
	obsB := `{"resourceType":"Observation","status":"final","code":{"text":"weight"},"subject":{"reference":"` + patA + `"},"valueQuantity":{"value":1.50,"unit":"kg"}}`
	steps := []step{
		{name: "transaction with urn:uuid references", method: "POST", path: "",
			body: bundle("transaction",
				entry("POST", "Patient", patA, patientJSON("", "urn:sys|tx-1", `"gender":"female"`)),
				entry("POST", "Observation", "urn:uuid:1c0ab9f4-2d8e-4c4e-9d7a-000000000002", obsB)),
			status: 200, header2: map[string]string{"Content-Type": fhirJSON},
			save: map[string]string{"pid": "entry.0.resource.id", "oid": "entry.1.resource.id"},
			fields: map[string]string{"resourceType": "Bundle", "type": "transaction-response", "entry.#": "2",
				"entry.0.response.status": "201 Created", "entry.1.response.status": "201 Created",
				"entry.0.resource.resourceType": "Patient", "entry.1.resource.resourceType": "Observation",
				"entry.0.response.location": "Patient/{pid}/_history/1", "entry.1.response.location": "Observation/{oid}/_history/1",
				"entry.0.response.etag": `W/"1"`, "entry.0.fullUrl": "{base}/Patient/{pid}",
				"entry.1.resource.subject.reference": "Patient/{pid}"},
			check: func(t *testing.T, r *response, v map[string]string) {
				if !uuidRE.MatchString(v["pid"]) || v["pid"] == "1c0ab9f4-2d8e-4c4e-9d7a-000000000001" {
					t.Errorf("Patient id %q: want a fresh server UUID", v["pid"])
				}
			}},
		{name: "the stored Observation refers to the assigned id", method: "GET", path: "/Observation/{oid}", status: 200,
			fields: map[string]string{"subject.reference": "Patient/{pid}"}, contains: []string{`"value":1.50`}, excludes: []string{"urn:uuid"}},
		{name: "the Patient is readable", method: "GET", path: "/Patient/{pid}", status: 200, header2: map[string]string{"ETag": `W/"1"`}},
		{name: "conditional reference", method: "POST", path: "",
			body: bundle("transaction", entry("POST", "Observation", "urn:uuid:1c0ab9f4-2d8e-4c4e-9d7a-000000000003",
				`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=urn:sys|tx-1"}}`)),
			status: 200, save: map[string]string{"o2": "entry.0.resource.id"},
			fields: map[string]string{"type": "transaction-response", "entry.0.response.status": "201 Created"}},
		{name: "the conditional reference was resolved", method: "GET", path: "/Observation/{o2}", status: 200,
			fields: map[string]string{"subject.reference": "Patient/{pid}"}},
		{name: "transaction with PUT, conditional create and GET", method: "POST", path: "",
			body: bundle("transaction",
				entry("GET", "Patient/{pid}", "", ""),
				entry("PUT", "Patient/{pid}", "", patientJSON("{pid}", "urn:sys|tx-1", `"gender":"male"`)),
				entry("POST", "Patient", "urn:uuid:1c0ab9f4-2d8e-4c4e-9d7a-000000000004", patientJSON("", "urn:sys|tx-1", ""), `"ifNoneExist":"identifier=urn:sys|tx-1"`)),
			status: 200,
			fields: map[string]string{"entry.#": "3",
				// reads run after the writes (R4 transaction processing order)
				"entry.0.response.status": "200 OK", "entry.0.resource.gender": "male", "entry.0.response.etag": `W/"2"`,
				"entry.1.response.status": "200 OK", "entry.1.resource.meta.versionId": "2",
				"entry.2.response.status": "200 OK", "entry.2.resource.id": "{pid}"}},
		{name: "existing patient for the processing-order case", method: "PUT", path: "/Patient/ord-old",
			body: patientJSON("ord-old", "urn:sys|ord", ""), status: 201},
		{name: "DELETE runs before POST of the same identifier", method: "POST", path: "",
			body: bundle("transaction",
				entry("POST", "Patient", "urn:uuid:1c0ab9f4-2d8e-4c4e-9d7a-000000000005", patientJSON("", "urn:sys|ord", `"gender":"female"`)),
				entry("DELETE", "Patient?identifier=urn:sys|ord", "", "")),
			status: 200, save: map[string]string{"ordNew": "entry.0.resource.id"},
			fields: map[string]string{"entry.0.response.status": "201 Created", "entry.1.response.status": "204 No Content"}},
		{name: "the old one is deleted", method: "GET", path: "/Patient/ord-old", status: 410, isOutcome: true},
		{name: "the new one exists", method: "GET", path: "/Patient/{ordNew}", status: 200, fields: map[string]string{"gender": "female"}},
		{name: "existing patient for the conditional processing-order case", method: "PUT", path: "/Patient/ord2-old",
			body: patientJSON("ord2-old", "urn:sys|ord2", ""), status: 201},
		{name: "DELETE runs before a conditional create of the same identifier", method: "POST", path: "",
			body: bundle("transaction",
				entry("POST", "Patient", "urn:uuid:1c0ab9f4-2d8e-4c4e-9d7a-000000000006", patientJSON("", "urn:sys|ord2", `"gender":"male"`), `"ifNoneExist":"identifier=urn:sys|ord2"`),
				entry("DELETE", "Patient?identifier=urn:sys|ord2", "", "")),
			status: 200, save: map[string]string{"ord2New": "entry.0.resource.id"},
			fields: map[string]string{"entry.0.response.status": "201 Created", "entry.1.response.status": "204 No Content"}},
		{name: "the conditional-create case made a new patient", method: "GET", path: "/Patient/{ord2New}", status: 200,
			fields: map[string]string{"gender": "male"}},
		{name: "PATCH entry in a transaction", method: "POST", path: "",
			body: bundle("transaction", entry("PATCH", "Patient/{pid}", "",
				`{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9nZW5kZXIiLCJ2YWx1ZSI6Im90aGVyIn1d"}`)),
			status: 200, fields: map[string]string{"entry.0.response.status": "200 OK", "entry.0.resource.gender": "other", "entry.0.response.etag": `W/"3"`}},
	}
	// Each of these fails on its second entry: the first (a new Patient) must not be written.
	first := entry("POST", "Patient", "urn:uuid:1c0ab9f4-2d8e-4c4e-9d7a-0000000000ff", patientJSON("", "urn:sys|never", ""))
	failing := []struct {
		name   string
		second string
		status int
	}{
		{"invalid birthDate", entry("PUT", "Patient/tx-bad", "", patientJSON("tx-bad", "", `"birthDate":"1970-13-45"`)), 400},
		{"birthDate of the wrong JSON type", entry("PUT", "Patient/tx-bad", "", patientJSON("tx-bad", "", `"birthDate":12`)), 400},
		{"unknown element", entry("PUT", "Patient/tx-bad", "", patientJSON("tx-bad", "", `"favouriteColour":"blue"`)), 400},
		{"unknown resource type", entry("POST", "Foo", "", `{"resourceType":"Foo"}`), 404},
		{"failing If-Match", entry("PUT", "Patient/{pid}", "", patientJSON("{pid}", "", ""), `"ifMatch":"W/\"1\""`), 412},
		{"body id differs from the URL", entry("PUT", "Patient/tx-a", "", patientJSON("tx-b", "", "")), 400},
		{"resource type differs from the URL", entry("PUT", "Patient/tx-a", "", `{"resourceType":"Observation","id":"tx-a"}`), 400},
		{"bad id", entry("PUT", "Patient/bad_id!", "", patientJSON("bad_id!", "", "")), 400},
		{"dangling urn:uuid reference", entry("POST", "Observation", "", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:00000000-0000-0000-0000-00000000dead"}}`), 400},
		{"conditional reference matching nothing", entry("POST", "Observation", "", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=urn:sys|nobody"}}`), 412},
		{"conditional create matching two", entry("POST", "Patient", "", patientJSON("", "", ""), `"ifNoneExist":"identifier=urn:sys|tx-dup"`), 412},
		{"entry without a request", `{"resource":` + patientJSON("", "", "") + `}`, 400},
		{"entry with an unknown method", entry("FETCH", "Patient/x", "", ""), 400},
		{"two entries writing the same resource", entry("PUT", "Patient/{pid}", "", patientJSON("{pid}", "", "")) + "," + entry("PUT", "Patient/{pid}", "", patientJSON("{pid}", "", `"gender":"male"`)), 400},
		{"POST with an id in the URL", entry("POST", "Patient/x", "", patientJSON("", "", "")), 400},
		{"delete with stale If-Match", entry("DELETE", "Patient/{pid}", "", "", `"ifMatch":"W/\"1\""`), 412},
		{"patch test failure", entry("PATCH", "Patient/{pid}", "", `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W3sib3AiOiJ0ZXN0IiwicGF0aCI6Ii9nZW5kZXIiLCJ2YWx1ZSI6Im5vIn1d"}`), 422},
	}
	steps = append(steps,
		step{name: "tx-dup 1", method: "POST", path: "/Patient", body: patientJSON("", "urn:sys|tx-dup", ""), status: 201},
		step{name: "tx-dup 2", method: "POST", path: "/Patient", body: patientJSON("", "urn:sys|tx-dup", ""), status: 201},
	)
	for _, f := range failing {
		steps = append(steps, step{name: "failing: " + f.name, method: "POST", path: "", body: bundle("transaction", first, f.second),
			status: f.status, isOutcome: true})
	}
	steps = append(steps,
		step{name: "nothing from the failed transactions was written", method: "POST", path: "/Patient",
			header: map[string]string{"If-None-Exist": "identifier=urn:sys|never"}, body: patientJSON("", "urn:sys|never", ""), status: 201},
		step{name: "tx-bad was never written", method: "GET", path: "/Patient/tx-bad", status: 404, isOutcome: true},
		step{name: "pid is still at version 3", method: "GET", path: "/Patient/{pid}", status: 200, header2: map[string]string{"ETag": `W/"3"`}},
		step{name: "a Bundle that is not batch or transaction", method: "POST", path: "", body: `{"resourceType":"Bundle","type":"collection","entry":[]}`, status: 400, isOutcome: true},
		step{name: "a resource that is not a Bundle", method: "POST", path: "", body: patientJSON("", "", ""), status: 400, isOutcome: true},
		step{name: "a Bundle that is not JSON", method: "POST", path: "", body: `{"resourceType":"Bundle",`, status: 400, isOutcome: true},
		step{name: "an empty transaction", method: "POST", path: "", body: bundle("transaction"), status: 200,
			fields: map[string]string{"type": "transaction-response", "entry.#": absent}},
	)
	runSteps(t, s, nil, steps)
}

// ---------------------------------------------------------------------------------------
// batch

func TestE2EBatch(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	steps := []step{
		{name: "setup b1", method: "PUT", path: "/Patient/b1", body: patientJSON("b1", "", `"gender":"female"`), status: 201},
		{name: "setup b-del", method: "PUT", path: "/Patient/b-del", body: patientJSON("b-del", "", ""), status: 201},
		{name: "batch with failing entries", method: "POST", path: "",
			body: bundle("batch",
				entry("POST", "Patient", "urn:uuid:2c0ab9f4-2d8e-4c4e-9d7a-000000000001", patientJSON("", "urn:sys|b-new", "")),
				entry("PUT", "Patient/b1", "", patientJSON("b1", "", `"gender":"male"`), `"ifMatch":"W/\"7\""`),
				entry("GET", "Patient/b1", "", ""),
				entry("PUT", "Patient/b2", "", patientJSON("not-b2", "", "")),
				entry("GET", "Patient/missing", "", ""),
				entry("DELETE", "Patient/b-del", "", ""),
				entry("PUT", "Patient/b4", "", patientJSON("b4", "", `"gender":"other"`)),
			),
			status: 200, header2: map[string]string{"Content-Type": fhirJSON},
			save: map[string]string{"new": "entry.0.resource.id"},
			fields: map[string]string{"resourceType": "Bundle", "type": "batch-response", "entry.#": "7",
				"entry.0.response.status":               "201 Created",
				"entry.1.response.status":               "412 Precondition Failed",
				"entry.1.response.outcome.resourceType": "OperationOutcome",
				"entry.1.resource":                      absent,
				"entry.2.response.status":               "200 OK",
				"entry.2.resource.resourceType":         "Patient",
				"entry.2.resource.id":                   "b1",
				"entry.2.resource.gender":               "female",
				"entry.2.response.etag":                 `W/"1"`,
				"entry.3.response.status":               "400 Bad Request",
				"entry.3.response.outcome.resourceType": "OperationOutcome",
				"entry.4.response.status":               "404 Not Found",
				"entry.4.response.outcome.resourceType": "OperationOutcome",
				"entry.5.response.status":               "204 No Content",
				"entry.6.response.status":               "201 Created",
			}},
		{name: "batch with an invalid resource", method: "POST", path: "",
			body: bundle("batch",
				entry("PUT", "Patient/b3", "", patientJSON("b3", "", `"birthDate":"1970-13-45"`)),
				entry("PUT", "Patient/b5", "", patientJSON("b5", "", `"gender":"other"`)),
			),
			status: 200, fields: map[string]string{"type": "batch-response", "entry.#": "2",
				"entry.0.response.status": "400 Bad Request", "entry.0.response.outcome.resourceType": "OperationOutcome",
				"entry.1.response.status": "201 Created"}},
		{name: "the POSTed patient exists", method: "GET", path: "/Patient/{new}", status: 200},
		{name: "b1 is unchanged", method: "GET", path: "/Patient/b1", status: 200, header2: map[string]string{"ETag": `W/"1"`}, fields: map[string]string{"gender": "female"}},
		{name: "b2 was not written", method: "GET", path: "/Patient/b2", status: 404},
		{name: "b3 was not written", method: "GET", path: "/Patient/b3", status: 404},
		{name: "b4 was written", method: "GET", path: "/Patient/b4", status: 200},
		{name: "b5 was written", method: "GET", path: "/Patient/b5", status: 200},
		{name: "b-del was deleted", method: "GET", path: "/Patient/b-del", status: 410},
		{name: "batch with an unknown type and a bad entry", method: "POST", path: "",
			body: bundle("batch",
				entry("POST", "Foo", "", `{"resourceType":"Foo"}`),
				`{"resource":`+patientJSON("", "", "")+`}`,
				entry("GET", "Patient/b1/_history/1", "", ""),
			),
			status: 200, fields: map[string]string{"type": "batch-response", "entry.#": "3",
				"entry.0.response.status": "404 Not Found", "entry.1.response.status": "400 Bad Request",
				"entry.2.response.status": "200 OK", "entry.2.resource.meta.versionId": "1"}},
	}
	runSteps(t, s, nil, steps)
}

// ---------------------------------------------------------------------------------------
// errors and content negotiation

func TestE2EErrors(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	steps := []step{
		{name: "setup", method: "PUT", path: "/Patient/e1", body: patientJSON("e1", "", ""), status: 201},
		{name: "wrong type in the body on create", method: "POST", path: "/Patient", body: `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, status: 400, isOutcome: true},
		{name: "wrong type in the body on update", method: "PUT", path: "/Patient/e1", body: `{"resourceType":"Observation","id":"e1","status":"final","code":{"text":"x"}}`, status: 400, isOutcome: true},
		{name: "bad id on update", method: "PUT", path: "/Patient/bad_id!", body: patientJSON("bad_id!", "", ""), status: 400, isOutcome: true},
		{name: "id longer than 64", method: "PUT", path: "/Patient/" + strings.Repeat("a", 65), body: patientJSON(strings.Repeat("a", 65), "", ""), status: 400, isOutcome: true},
		{name: "bad id on read", method: "GET", path: "/Patient/bad_id!", status: 400, isOutcome: true},
		{name: "unknown id", method: "GET", path: "/Patient/nobody", status: 404, isOutcome: true},
		{name: "unknown resource type, read", method: "GET", path: "/Foo/123", status: 404, isOutcome: true},
		{name: "unknown resource type, type level", method: "GET", path: "/Foo", status: 404, isOutcome: true},
		{name: "unknown resource type, create", method: "POST", path: "/Foo", body: `{"resourceType":"Foo"}`, status: 404, isOutcome: true},
		{name: "unknown resource type, update", method: "PUT", path: "/Foo/1", body: `{"resourceType":"Foo","id":"1"}`, status: 404, isOutcome: true},
		{name: "unrouted path", method: "GET", path: "/Patient/e1/x/y/z", status: 404, isOutcome: true},
		{name: "method not allowed", method: "DELETE", path: "/metadata", status: 405, isOutcome: true},
		{name: "invalid JSON", method: "POST", path: "/Patient", body: `{"resourceType":"Patient",`, status: 400, isOutcome: true},
		{name: "JSON with trailing garbage", method: "POST", path: "/Patient", body: `{"resourceType":"Patient"} {"x":1}`, status: 400, isOutcome: true},
		{name: "JSON array", method: "POST", path: "/Patient", body: `[]`, status: 400, isOutcome: true},
		{name: "JSON string", method: "POST", path: "/Patient", body: `"Patient"`, status: 400, isOutcome: true},
		{name: "no resourceType", method: "POST", path: "/Patient", body: `{"gender":"male"}`, status: 400, isOutcome: true},
		{name: "empty body", method: "POST", path: "/Patient", header: map[string]string{"Content-Type": "application/fhir+json"}, status: 400, isOutcome: true},
		{name: "birthDate out of range", method: "POST", path: "/Patient", body: patientJSON("", "", `"birthDate":"1970-13-45"`), status: 400, isOutcome: true,
			contains: []string{"birthDate"}},
		{name: "birthDate as a number", method: "POST", path: "/Patient", body: patientJSON("", "", `"birthDate":12`), status: 400, isOutcome: true,
			contains: []string{"birthDate"}},
		{name: "unknown element", method: "POST", path: "/Patient", body: patientJSON("", "", `"favouriteColour":"blue"`), status: 400, isOutcome: true,
			contains: []string{"favouriteColour"}},
		{name: "object where the model says array", method: "POST", path: "/Patient", body: patientJSON("", "", `"name":{"family":"X"}`), status: 400, isOutcome: true},
		{name: "malformed reference", method: "POST", path: "/Patient", body: patientJSON("", "", `"managingOrganization":{"reference":"not a reference"}`), status: 400, isOutcome: true},
		{name: "server-set meta is ignored", method: "POST", path: "/Patient", body: patientJSON("", "", `"meta":{"versionId":"99","lastUpdated":"2001-01-01T00:00:00Z"}`),
			status: 201, header2: map[string]string{"ETag": `W/"1"`}, fields: map[string]string{"meta.versionId": "1"}, excludes: []string{"2001-01-01"}},
		{name: "_format=xml", method: "GET", path: "/Patient/e1?_format=xml", status: 406, isOutcome: true},
		{name: "_format=application/fhir+xml", method: "GET", path: "/Patient/e1?_format=" + url.QueryEscape("application/fhir+xml"), status: 406, isOutcome: true},
		{name: "Accept XML only", method: "GET", path: "/Patient/e1", header: map[string]string{"Accept": "application/fhir+xml"}, status: 406, isOutcome: true},
		{name: "_format=xml on a write", method: "PUT", path: "/Patient/e1?_format=xml", body: patientJSON("e1", "", `"gender":"male"`), status: 406, isOutcome: true},
		{name: "XML body", method: "POST", path: "/Patient", header: map[string]string{"Content-Type": "application/fhir+xml"},
			body: `<Patient xmlns="http://hl7.org/fhir"/>`, status: 415, isOutcome: true},
		{name: "text/plain body", method: "PUT", path: "/Patient/e1", header: map[string]string{"Content-Type": "text/plain"},
			body: patientJSON("e1", "", ""), status: 415, isOutcome: true},
		{name: "XML Bundle", method: "POST", path: "", header: map[string]string{"Content-Type": "application/fhir+xml"},
			body: `<Bundle xmlns="http://hl7.org/fhir"/>`, status: 415, isOutcome: true},
		{name: "_format=json", method: "GET", path: "/Patient/e1?_format=json", status: 200, header2: map[string]string{"Content-Type": fhirJSON}},
		{name: "_format=application/json", method: "GET", path: "/Patient/e1?_format=application/json", status: 200,
			header2: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{name: "Accept application/json", method: "GET", path: "/Patient/e1", header: map[string]string{"Accept": "application/json"}, status: 200,
			header2: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{name: "Accept with a fhirVersion parameter", method: "GET", path: "/Patient/e1", header: map[string]string{"Accept": "application/fhir+json; fhirVersion=4.0"}, status: 200,
			header2: map[string]string{"Content-Type": fhirJSON}},
		{name: "Content-Type application/json", method: "PUT", path: "/Patient/e1", header: map[string]string{"Content-Type": "application/json"},
			body: patientJSON("e1", "", `"gender":"male"`), status: 200, header2: map[string]string{"ETag": `W/"2"`}},
		{name: "e1 is at version 2 after all that", method: "GET", path: "/Patient/e1/_history", status: 200, fields: map[string]string{"total": "2"}},
	}
	runSteps(t, s, nil, steps)
}

func TestE2EBodyLimit(t *testing.T) {
	t.Parallel()
	s := startApp(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	big := patientJSON("big", "", `"name":[{"text":"`+strings.Repeat("x", 2000)+`"}]`)
	small := patientJSON("small", "", `"name":[{"text":"`+strings.Repeat("x", 800)+`"}]`)
	steps := []step{
		{name: "body under the limit", method: "PUT", path: "/Patient/small", body: small, status: 201},
		{name: "oversized create", method: "POST", path: "/Patient", body: big, status: 413, isOutcome: true, fields: map[string]string{"issue.0.code": "too-costly"}},
		{name: "oversized update", method: "PUT", path: "/Patient/big", body: big, status: 413, isOutcome: true},
		{name: "oversized conditional update", method: "PUT", path: "/Patient?identifier=a|b", body: big, status: 413, isOutcome: true},
		{name: "oversized patch", method: "PATCH", path: "/Patient/small", header: map[string]string{"Content-Type": "application/json-patch+json"},
			body: `[{"op":"replace","path":"/name/0/text","value":"` + strings.Repeat("y", 2000) + `"}]`, status: 413, isOutcome: true},
		{name: "oversized transaction", method: "POST", path: "", body: bundle("transaction", entry("PUT", "Patient/big", "", big)), status: 413, isOutcome: true},
		{name: "big was not written", method: "GET", path: "/Patient/big", status: 404},
	}
	runSteps(t, s, nil, steps)
}

// ---------------------------------------------------------------------------------------
// _summary and _elements (need the R4 model)

func TestE2ESummaryElements(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	full := patientJSON("s1", "urn:sys|s1", `"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Pat</div>"},`+
		`"active":true,"name":[{"family":"Summ"}],"gender":"female","birthDate":"1960-06-06","maritalStatus":{"text":"M"},`+
		`"photo":[{"contentType":"image/png","data":"iVBORw0KGgo="}],"contact":[{"name":{"family":"C"}}],"communication":[{"language":{"text":"en"}}]`)
	subsetted := func(t *testing.T, r *response, _ map[string]string) {
		tags, _ := jget(r.decode(t), "meta.tag").([]any)
		for _, tag := range tags {
			if jstr(jget(tag, "code")) == "SUBSETTED" && jstr(jget(tag, "system")) == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue" {
				return
			}
		}
		t.Errorf("no SUBSETTED tag in meta: %s", r.Body)
	}
	keys := func(want ...string) func(t *testing.T, r *response, v map[string]string) {
		return func(t *testing.T, r *response, v map[string]string) {
			var got []string
			for k := range r.decode(t) {
				got = append(got, k)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("elements %v, want %v", got, want)
			}
			subsetted(t, r, v)
		}
	}
	steps := []step{
		{name: "setup", method: "PUT", path: "/Patient/s1", body: full, status: 201},
		{name: "_elements=birthDate", method: "GET", path: "/Patient/s1?_elements=birthDate", status: 200,
			header2: map[string]string{"ETag": `W/"1"`}, fields: map[string]string{"birthDate": "1960-06-06", "id": "s1", "meta.versionId": "1"},
			check: keys("resourceType", "id", "meta", "birthDate")},
		{name: "_elements=birthDate,gender", method: "GET", path: "/Patient/s1?_elements=birthDate,gender", status: 200,
			check: keys("resourceType", "id", "meta", "birthDate", "gender")},
		{name: "_elements on vread", method: "GET", path: "/Patient/s1/_history/1?_elements=name", status: 200,
			check: keys("resourceType", "id", "meta", "name")},
		{name: "_summary=true", method: "GET", path: "/Patient/s1?_summary=true", status: 200,
			fields: map[string]string{"name.0.family": "Summ", "birthDate": "1960-06-06", "gender": "female", "active": "true", "identifier.0.value": "s1",
				"photo": absent, "contact": absent, "communication": absent, "maritalStatus": absent, "text": absent},
			check: subsetted},
		{name: "_summary=text", method: "GET", path: "/Patient/s1?_summary=text", status: 200,
			fields: map[string]string{"text.status": "generated", "id": "s1", "birthDate": absent, "name": absent}, check: subsetted},
		{name: "_summary=data", method: "GET", path: "/Patient/s1?_summary=data", status: 200,
			fields: map[string]string{"text": absent, "photo.0.contentType": "image/png", "birthDate": "1960-06-06"}, check: subsetted},
		{name: "_summary=false", method: "GET", path: "/Patient/s1?_summary=false", status: 200,
			fields: map[string]string{"text.status": "generated", "photo.0.contentType": "image/png", "meta.tag": absent}},
		{name: "bad _summary", method: "GET", path: "/Patient/s1?_summary=bogus", status: 400, isOutcome: true},
		{name: "the stored resource is not subsetted", method: "GET", path: "/Patient/s1", status: 200,
			fields: map[string]string{"meta.tag": absent, "photo.0.contentType": "image/png"}, excludes: []string{"SUBSETTED"}},
	}
	runSteps(t, s, nil, steps)
}

// ---------------------------------------------------------------------------------------
// _pretty, CORS, metadata, decimals

func TestE2EFormatting(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	obs := `{"resourceType":"Observation","id":"dec","status":"final","code":{"text":"x"},` +
		`"valueQuantity":{"value":1.50,"unit":"kg"},"referenceRange":[{"low":{"value":0.10000000000000000001},"high":{"value":12345678901234567890}}]}`
	steps := []step{
		{name: "setup", method: "PUT", path: "/Patient/f1", body: patientJSON("f1", "", `"gender":"female"`), status: 201},
		{name: "compact by default", method: "GET", path: "/Patient/f1", status: 200, excludes: []string{"\n"}},
		{name: "_pretty=true indents", method: "GET", path: "/Patient/f1?_pretty=true", status: 200, contains: []string{"{\n  \"", "\n}"},
			fields: map[string]string{"id": "f1"}},
		{name: "_pretty on a Bundle", method: "GET", path: "/Patient/f1/_history?_pretty=true", status: 200, contains: []string{"\n  \"resourceType\": \"Bundle\""}},
		{name: "_pretty on an error", method: "GET", path: "/Patient/nobody?_pretty=true", status: 404, isOutcome: true, contains: []string{"\n  \""}},
		{name: "CORS origin reflected", method: "GET", path: "/Patient/f1", header: map[string]string{"Origin": "http://app.example"}, status: 200,
			header2: map[string]string{"Access-Control-Allow-Origin": "http://app.example", "Vary": "Origin"},
			check: func(t *testing.T, r *response, _ map[string]string) {
				exp := r.Header.Get("Access-Control-Expose-Headers")
				for _, h := range []string{"ETag", "Location", "Last-Modified"} {
					if !strings.Contains(exp, h) {
						t.Errorf("Access-Control-Expose-Headers %q lacks %s", exp, h)
					}
				}
			}},
		{name: "no CORS headers without an Origin", method: "GET", path: "/Patient/f1", status: 200, noHeader: []string{"Access-Control-Allow-Origin"}},
		{name: "CORS on an error", method: "GET", path: "/Patient/nobody", header: map[string]string{"Origin": "http://app.example"}, status: 404,
			header2: map[string]string{"Access-Control-Allow-Origin": "http://app.example"}},
		{name: "CORS on an unrouted path", method: "GET", path: "/Patient/f1/a/b/c", header: map[string]string{"Origin": "http://app.example"}, status: 404,
			header2: map[string]string{"Access-Control-Allow-Origin": "http://app.example"}},
		{name: "CORS on a write", method: "PUT", path: "/Patient/f1", header: map[string]string{"Origin": "http://app.example"},
			body: patientJSON("f1", "", `"gender":"male"`), status: 200, header2: map[string]string{"Access-Control-Allow-Origin": "http://app.example"}},
		{name: "preflight", method: "OPTIONS", path: "/Patient/f1",
			header: map[string]string{"Origin": "http://app.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type, if-match"},
			status: 204, emptyBody: true, header2: map[string]string{"Access-Control-Allow-Origin": "http://app.example"},
			check: func(t *testing.T, r *response, _ map[string]string) {
				m := r.Header.Get("Access-Control-Allow-Methods")
				for _, x := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
					if !strings.Contains(m, x) {
						t.Errorf("Access-Control-Allow-Methods %q lacks %s", m, x)
					}
				}
				h := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
				for _, x := range []string{"content-type", "if-match", "authorization", "prefer"} {
					if !strings.Contains(h, x) {
						t.Errorf("Access-Control-Allow-Headers %q lacks %s", h, x)
					}
				}
			}},
		{name: "preflight on the base", method: "OPTIONS", path: "", header: map[string]string{"Origin": "http://app.example", "Access-Control-Request-Method": "POST"},
			status: 204, header2: map[string]string{"Access-Control-Allow-Origin": "http://app.example"}},
		{name: "metadata", method: "GET", path: "/metadata", status: 200,
			header2: map[string]string{"Content-Type": fhirJSON, "Access-Control-Allow-Origin": "*"},
			fields: map[string]string{"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "kind": "instance",
				"implementation.url": "{base}", "rest.0.mode": "server"},
			check: func(t *testing.T, r *response, _ map[string]string) {
				b := r.decode(t)
				var types []string
				for _, x := range jget(b, "rest.0.resource").([]any) {
					types = append(types, jstr(jget(x, "type")))
				}
				for _, want := range []string{"Patient", "Observation", "Organization", "Practitioner", "Encounter", "Bundle"} {
					if !slices.Contains(types, want) {
						t.Errorf("CapabilityStatement lacks %s (has %d types)", want, len(types))
					}
				}
			}},
		{name: "decimal precision on update", method: "PUT", path: "/Observation/dec", body: obs, status: 201,
			contains: []string{`"value":1.50`, `0.10000000000000000001`, `12345678901234567890`}},
		{name: "decimal precision on read", method: "GET", path: "/Observation/dec", status: 200,
			contains: []string{`"value":1.50`, `0.10000000000000000001`, `12345678901234567890`}},
		{name: "decimal precision in history", method: "GET", path: "/Observation/dec/_history", status: 200, contains: []string{`"value":1.50`}},
		{name: "decimal precision through a patch", method: "PATCH", path: "/Observation/dec", header: map[string]string{"Content-Type": "application/json-patch+json"},
			body:   `[{"op":"replace","path":"/status","value":"amended"},{"op":"add","path":"/component","value":[{"code":{"text":"y"},"valueQuantity":{"value":2.50}}]}]`,
			status: 200, contains: []string{`"value":1.50`, `"value":2.50`}},
		{name: "decimal precision in a transaction response", method: "POST", path: "",
			body:   bundle("transaction", entry("PUT", "Observation/dec2", "", strings.Replace(obs, `"id":"dec"`, `"id":"dec2"`, 1))),
			status: 200, contains: []string{`"value":1.50`}},
		{name: "request id echoed", method: "GET", path: "/Patient/f1", header: map[string]string{"X-Request-Id": "abc-123"}, status: 200,
			header2: map[string]string{"X-Request-Id": "abc-123"}},
	}
	runSteps(t, s, nil, steps)
}

// TestE2EConcurrentWrites: parallel creates and updates through HTTP all succeed and every
// version is accounted for.
func TestE2EConcurrentWrites(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	const workers, each = 8, 10
	errs := make(chan error, workers*each)
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				id := fmt.Sprintf("w%d", w)
				req, _ := http.NewRequest("PUT", s.base+"/Patient/"+id, strings.NewReader(patientJSON(id, "", fmt.Sprintf(`"multipleBirthInteger":%d`, i))))
				req.Header.Set("Content-Type", "application/fhir+json")
				resp, err := s.c.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 201 {
					errs <- fmt.Errorf("PUT %s: %d", id, resp.StatusCode)
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.historyTotal(t); got != workers*each {
		t.Errorf("history total %d, want %d", got, workers*each)
	}
	r := s.do(t, "GET", "/Patient/w3", nil, "")
	if et := r.Header.Get("ETag"); et != fmt.Sprintf(`W/"%d"`, each) {
		t.Errorf("ETag %s, want W/\"%d\"", et, each)
	}
}

// ---------------------------------------------------------------------------------------
// benchmarks

func BenchmarkReadHTTP(b *testing.B) {
	s := startApp(b, nil)
	r := s.do(b, "PUT", "/Patient/bench", nil, patientJSON("bench", "urn:sys|bench", `"name":[{"family":"Bench","given":["Mark"]}],"gender":"female","birthDate":"1970-01-01"`))
	if r.Status != 201 {
		b.Fatalf("setup: %d %s", r.Status, r.Body)
	}
	u := s.base + "/Patient/bench"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := s.c.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func BenchmarkReadHTTPParallel(b *testing.B) {
	s := startApp(b, nil)
	r := s.do(b, "PUT", "/Patient/bench", nil, patientJSON("bench", "urn:sys|bench", `"name":[{"family":"Bench","given":["Mark"]}],"gender":"female","birthDate":"1970-01-01"`))
	if r.Status != 201 {
		b.Fatalf("setup: %d %s", r.Status, r.Body)
	}
	u := s.base + "/Patient/bench"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := s.c.Get(u)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func BenchmarkCreateHTTP(b *testing.B) {
	s := startApp(b, nil)
	body := []byte(patientJSON("", "urn:sys|bench", `"name":[{"family":"Bench","given":["Mark"]}],"gender":"female","birthDate":"1970-01-01"`))
	u := s.base + "/Patient"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, err := s.c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkImportSynthea loads all of ../shared/data/synthea-r4 into a fresh database per
// iteration, through the import command, and reports resources/s.
func BenchmarkImportSynthea(b *testing.B) {
	dir := dataDir(b, "synthea-r4")
	total := 0
	for b.Loop() {
		db := filepath.Join(b.TempDir(), "fhirbox.db")
		out := mustImport(b, db, dir)
		n, _ := importedCount(b, out)
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "resources/s")
}

// The home page tells a new user where everything is and how to log in.
func TestHomePage(t *testing.T) {
	t.Parallel()
	s := startApp(t, nil)
	resp, err := s.c.Get(strings.TrimSuffix(s.base, "/fhir") + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{s.base + "/metadata", "dr.smith", "sample-app", "/app/", "Open mode"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("home page lacks %q", want)
		}
	}
}

// Every FHIR request under enforcement is logged with its decision and reason, and the
// reason matches what the OperationOutcome said.
func TestDecisionLog(t *testing.T) {
	t.Parallel()
	s := startApp(t, func(c *Config) { c.Open = false })
	ctx := context.Background()
	tok, err := s.app.Auth.MintToken(ctx, "sample-app", "dr.smith", "", "user/Patient.rs")
	if err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok["access_token"].(string)}
	s.do(t, "GET", "/Patient?_count=1", bearer, "")
	denied := s.do(t, "GET", "/Observation", bearer, "")
	if denied.Status != 403 {
		t.Fatalf("Observation search with user/Patient.rs: %d", denied.Status)
	}
	s.do(t, "GET", "/Patient", nil, "")
	s.app.Store.FlushDecisions()
	ds, err := s.app.Store.Decisions(ctx, fhirstore.DecisionFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("got %d decisions, want 3: %+v", len(ds), ds)
	}
	// Newest first: the tokenless request, the denied search, the allowed search.
	if ds[0].Decision != "deny" || ds[0].Status != 401 {
		t.Errorf("tokenless request logged as %+v", ds[0])
	}
	if ds[1].Decision != "deny" || ds[1].Status != 403 || !strings.Contains(ds[1].Reason, "user/Observation.s") ||
		!strings.Contains(string(denied.Body), ds[1].Reason) || ds[1].Client != "sample-app" || ds[1].Scopes != "user/Patient.rs" {
		t.Errorf("denied search logged as %+v", ds[1])
	}
	if ds[2].Decision != "allow" || ds[2].Status != 200 || ds[2].User != "Practitioner/prac-0001" {
		t.Errorf("allowed search logged as %+v", ds[2])
	}

	// The teaching page shows the same rows; the JSON view filters them.
	origin := strings.TrimSuffix(s.base, "/fhir")
	page := s.do(t, "GET", origin+"/decisions", nil, "")
	if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /decisions: %d %s", page.Status, page.Header.Get("Content-Type"))
	}
	for _, want := range []string{"GET /fhir/Observation", "user/Patient.rs", "sample-app", "Practitioner/prac-0001",
		template.HTMLEscapeString(ds[1].Reason), `class="deny"`, `class="allow"`} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("decision page lacks %q", want)
		}
	}
	j := s.do(t, "GET", origin+"/decisions?decision=deny&client=sample-app", map[string]string{"Accept": "application/json"}, "")
	var out struct {
		Decisions []struct {
			Method, Path, Decision, Reason string
			Status                         int
			Client                         string `json:"client_id"`
		}
	}
	if err := json.Unmarshal(j.Body, &out); err != nil || j.Status != 200 {
		t.Fatalf("JSON view: %d %v %s", j.Status, err, j.Body)
	}
	if len(out.Decisions) != 1 || out.Decisions[0].Path != "/fhir/Observation" || out.Decisions[0].Status != 403 ||
		out.Decisions[0].Client != "sample-app" || out.Decisions[0].Reason != ds[1].Reason {
		t.Errorf("deny decisions of sample-app: %+v", out.Decisions)
	}
	if r := s.do(t, "GET", origin+"/decisions?decision=maybe", nil, ""); r.Status != 400 {
		t.Errorf("decision=maybe: %d, want 400", r.Status)
	}
	if r := s.do(t, "GET", origin+"/decisions?limit=-1", nil, ""); r.Status != 400 {
		t.Errorf("limit=-1: %d, want 400", r.Status)
	}
}
