package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// axEnv is one running fhirbox with enforcement on (or --open), for the access tests.
type axEnv struct {
	app *App
	tb  testing.TB
}

func axStart(tb testing.TB, open bool) *axEnv {
	tb.Helper()
	return axStartWith(tb, Config{Open: open})
}

// axStartWith starts fhirbox with c on :0, a temporary database and 5 seeded patients.
func axStartWith(tb testing.TB, c Config) *axEnv {
	tb.Helper()
	c.Addr, c.DB, c.SeedPatients = "127.0.0.1:0", filepath.Join(tb.TempDir(), "fhirbox.db"), 5
	app := &App{Config: c}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.Close(ctx)
	})
	return &axEnv{app: app, tb: tb}
}

// mint issues a token in process; it fails the test when the auth server refuses.
func (e *axEnv) mint(client, user, patient, scope string) string {
	e.tb.Helper()
	tok, err := e.app.Auth.MintToken(context.Background(), client, user, patient, scope)
	if err != nil {
		e.tb.Fatalf("mint %s %s: %v", client, scope, err)
	}
	s, _ := tok["access_token"].(string)
	if s == "" {
		e.tb.Fatalf("mint %s %s: no access_token in %v", client, scope, tok)
	}
	return s
}

// Tokens used throughout: p1 = patient/*.rs for pat-000001, sys = system/*.rs,
// doc = user/*.rs as dr.smith.
func (e *axEnv) p1(scope string) string {
	return e.mint(axClientFor(scope), "patient1", "pat-000001", scope)
}

// axClientFor picks the demo client whose registered scopes cover scope: sample-app may
// read and search, confidential-app may also write.
func axClientFor(scope string) string {
	for _, sc := range strings.Fields(scope) {
		_, perm, _ := strings.Cut(sc, ".")
		perm, _, _ = strings.Cut(perm, "?")
		if perm == "write" || perm == "*" || strings.ContainsAny(perm, "cud") && perm != "read" {
			return "confidential-app"
		}
	}
	return "sample-app"
}
func (e *axEnv) sys() string { return e.mint("backend-service", "", "", "system/*.rs") }
func (e *axEnv) doc() string { return e.mint("sample-app", "dr.smith", "", "user/*.rs") }

type axResp struct {
	status int
	hdr    http.Header
	body   string
}

func (r axResp) json() map[string]any {
	var m map[string]any
	json.Unmarshal([]byte(r.body), &m)
	return m
}

// do sends one request to the FHIR base (path is relative to it; a full URL is sent as is).
func (e *axEnv) do(token, method, path, body string, hdr ...string) axResp {
	e.tb.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = e.app.BaseURL + path
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return axResp{resp.StatusCode, resp.Header, string(b)}
}

// ids returns "Type/id" of a Bundle's entries (all modes) in order.
func axIDs(body string) []string {
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
	}
	json.Unmarshal([]byte(body), &b)
	var out []string
	for _, en := range b.Entry {
		if en.Resource.ResourceType != "" {
			out = append(out, en.Resource.ResourceType+"/"+en.Resource.ID)
		}
	}
	return out
}

func axTotal(body string) int {
	var b struct {
		Total *int `json:"total"`
	}
	json.Unmarshal([]byte(body), &b)
	if b.Total == nil {
		return -1
	}
	return *b.Total
}

func axNext(body string) string {
	var b struct {
		Link []struct{ Relation, URL string } `json:"link"`
	}
	json.Unmarshal([]byte(body), &b)
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// TestTokenHandling: missing, garbage and revoked tokens; public endpoints.
func TestTokenHandling(t *testing.T) {
	e := axStart(t, false)
	r := e.do("", "GET", "/Patient/pat-000001", "")
	if r.status != 401 || !strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d %q, want 401 with WWW-Authenticate: Bearer", r.status, r.hdr.Get("WWW-Authenticate"))
	}
	if r.json()["resourceType"] != "OperationOutcome" {
		t.Errorf("no token: body is not an OperationOutcome: %.200s", r.body)
	}
	r = e.do("", "GET", "/Observation?patient=pat-000001", "")
	if r.status != 401 {
		t.Errorf("no token search: %d", r.status)
	}
	r = e.do("garbage.not.a-token", "GET", "/Patient/pat-000001", "")
	if r.status != 401 || !strings.Contains(r.hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("garbage token: %d %q, want 401 invalid_token", r.status, r.hdr.Get("WWW-Authenticate"))
	}
	r = e.do("", "GET", "/Patient/pat-000001", "", "Authorization", "Basic Zm9vOmJhcg==")
	if r.status != 401 {
		t.Errorf("basic auth instead of bearer: %d", r.status)
	}
	for _, p := range []string{"/metadata", "/.well-known/smart-configuration"} {
		if r := e.do("", "GET", p, ""); r.status != 200 {
			t.Errorf("%s without a token: %d, want 200", p, r.status)
		}
	}
	// Revocation: a token that worked stops working.
	tok := e.p1("patient/*.rs")
	if r := e.do(tok, "GET", "/Patient/pat-000001", ""); r.status != 200 {
		t.Fatalf("fresh token: %d %.200s", r.status, r.body)
	}
	form := url.Values{"token": {tok}, "client_id": {"sample-app"}}
	resp, err := http.PostForm(e.app.Origin+"/auth/revoke", form)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("revoke: %d %s", resp.StatusCode, rb)
	}
	r = e.do(tok, "GET", "/Patient/pat-000001", "")
	if r.status != 401 || !strings.Contains(r.hdr.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("revoked token: %d %q, want 401 invalid_token", r.status, r.hdr.Get("WWW-Authenticate"))
	}
}

// axPeople is what the unrestricted token learns about pat-000001 and pat-000002.
type axPeople struct {
	p2Family, p2Ident string          // family name and system|value identifier of pat-000002
	p2Set             map[string]bool // "Type/id" of pat-000002's compartment (not shared with pat-000001)
	p2Obs, p1Obs      []string        // Observation ids
	p1HR              int             // pat-000001's heart-rate (8867-4) Observations
}

func (e *axEnv) people(sys string) axPeople {
	e.tb.Helper()
	var pp axPeople
	r := e.do(sys, "GET", "/Patient/pat-000002", "")
	if r.status != 200 {
		e.tb.Fatalf("system read of pat-000002: %d %.300s", r.status, r.body)
	}
	m := r.json()
	pp.p2Family = jstr(jget(m, "name.0.family"))
	pp.p2Ident = jstr(jget(m, "identifier.0.system")) + "|" + jstr(jget(m, "identifier.0.value"))
	if pp.p2Family == "" || pp.p2Ident == "|" {
		e.tb.Fatalf("pat-000002 has no family or identifier: %.300s", r.body)
	}
	every := func(id string) []string {
		r := e.do(sys, "GET", "/Patient/"+id+"/$everything?_count=1000", "")
		if r.status != 200 {
			e.tb.Fatalf("system $everything %s: %d %.300s", id, r.status, r.body)
		}
		return axIDs(r.body)
	}
	shared := map[string]bool{}
	for _, x := range every("pat-000001") {
		shared[x] = true
	}
	pp.p2Set = map[string]bool{}
	for _, x := range every("pat-000002") {
		if !shared[x] {
			pp.p2Set[x] = true
		}
	}
	obs := func(id string) []string {
		r := e.do(sys, "GET", "/Observation?patient="+id+"&_count=1000&_elements=id", "")
		var out []string
		for _, x := range axIDs(r.body) {
			out = append(out, strings.TrimPrefix(x, "Observation/"))
		}
		return out
	}
	pp.p2Obs, pp.p1Obs = obs("pat-000002"), obs("pat-000001")
	if len(pp.p2Obs) == 0 || len(pp.p1Obs) == 0 {
		e.tb.Fatalf("seed has no Observations for pat-000001 (%d) or pat-000002 (%d)", len(pp.p1Obs), len(pp.p2Obs))
	}
	pp.p1HR = axTotal(e.do(sys, "GET", "/Observation?patient=pat-000001&code=8867-4&_total=accurate&_count=1", "").body)
	return pp
}

// leak reports the first piece of pat-000002's data in a response body: a resource of its
// compartment, or a resource referring to Patient/pat-000002. OperationOutcomes and links
// that merely echo the request do not count.
func (pp axPeople) leak(body string) string {
	var res map[string]any
	if json.Unmarshal([]byte(body), &res) != nil {
		return ""
	}
	var check func(r map[string]any) string
	check = func(r map[string]any) string {
		rt, _ := r["resourceType"].(string)
		if rt == "" || rt == "OperationOutcome" {
			return ""
		}
		if rt == "Bundle" {
			for _, en := range asSlice(r["entry"]) {
				em, _ := en.(map[string]any)
				if rr, ok := em["resource"].(map[string]any); ok {
					if l := check(rr); l != "" {
						return l
					}
				}
			}
			return ""
		}
		id, _ := r["id"].(string)
		if rt+"/"+id == "Patient/pat-000002" || pp.p2Set[rt+"/"+id] {
			return rt + "/" + id
		}
		b, _ := json.Marshal(r)
		if strings.Contains(string(b), `"Patient/pat-000002"`) {
			return rt + "/" + id + " (refers to Patient/pat-000002)"
		}
		return ""
	}
	return check(res)
}

// TestAccessAdversarial: a patient/*.rs token for pat-000001 tries every path to
// pat-000002's data; the same request with system/*.rs (or user/*.rs as dr.smith) succeeds.
func TestAccessAdversarial(t *testing.T) {
	e := axStart(t, false)
	sys, doc := e.sys(), e.doc()
	pp := e.people(sys)
	p1 := e.p1("patient/*.rs")
	p1w := e.p1("patient/*.cruds")
	obs2, obs1 := pp.p2Obs[0], pp.p1Obs[0]
	fam, ident := url.QueryEscape(pp.p2Family), url.QueryEscape(pp.p2Ident)
	t.Logf("pat-000002: family %s, identifier %s, %d compartment resources, %d Observations; pat-000001: %d Observations, %d heart rates",
		pp.p2Family, pp.p2Ident, len(pp.p2Set), len(pp.p2Obs), len(pp.p1Obs), pp.p1HR)

	hidden := func(r axResp) string { // a read of something outside the grant
		if r.status != 404 && r.status != 403 {
			return "want 404 (or 403)"
		}
		return ""
	}
	notFound := func(r axResp) string {
		if r.status != 404 {
			return "want 404: existence must not leak"
		}
		return ""
	}
	emptyOK := func(r axResp) string { // a search that must find nothing
		if r.status != 200 {
			return "want 200"
		}
		if n := len(axIDs(r.body)); n != 0 {
			return "want an empty Bundle"
		}
		if tot := axTotal(r.body); tot > 0 {
			return "total counts hidden resources"
		}
		return ""
	}
	hiddenOrEmpty := func(r axResp) string {
		if r.status == 404 || r.status == 403 {
			return ""
		}
		return emptyOK(r)
	}
	okNoLeak := func(r axResp) string {
		if r.status != 200 {
			return "want 200"
		}
		return ""
	}
	forbidden := func(r axResp) string {
		if r.status != 403 {
			return "want 403"
		}
		return ""
	}
	type tc struct {
		name, method, path, body string
		hdr                      []string
		check                    func(axResp) string
		sysSees                  bool // system/*.rs must get 2xx and pat-000002's data
	}
	cases := []tc{
		{name: "read Patient", method: "GET", path: "/Patient/pat-000002", check: notFound, sysSees: true},
		{name: "vread Patient", method: "GET", path: "/Patient/pat-000002/_history/1", check: notFound, sysSees: true},
		{name: "history Patient", method: "GET", path: "/Patient/pat-000002/_history", check: hiddenOrEmpty, sysSees: true},
		{name: "read Observation", method: "GET", path: "/Observation/" + obs2, check: notFound, sysSees: true},
		{name: "vread Observation", method: "GET", path: "/Observation/" + obs2 + "/_history/1", check: notFound, sysSees: true},
		{name: "history Observation", method: "GET", path: "/Observation/" + obs2 + "/_history", check: hiddenOrEmpty, sysSees: true},
		{name: "search patient=", method: "GET", path: "/Observation?patient=pat-000002", check: emptyOK, sysSees: true},
		{name: "search subject=", method: "GET", path: "/Observation?subject=Patient/pat-000002", check: emptyOK, sysSees: true},
		{name: "search subject= bare id", method: "GET", path: "/Observation?subject=pat-000002", check: emptyOK, sysSees: true},
		{name: "search _id", method: "GET", path: "/Observation?_id=" + obs2, check: emptyOK, sysSees: true},
		{name: "search _total=accurate", method: "GET", path: "/Observation?patient=pat-000002&_total=accurate", check: emptyOK, sysSees: true},
		{name: "search _summary=count", method: "GET", path: "/Observation?patient=pat-000002&_summary=count", check: emptyOK},
		{name: "POST _search", method: "POST", path: "/Observation/_search", body: "patient=pat-000002", hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}, check: emptyOK, sysSees: true},
		{name: "Patient?_id", method: "GET", path: "/Patient?_id=pat-000002", check: emptyOK, sysSees: true},
		{name: "Patient?name", method: "GET", path: "/Patient?name=" + fam, check: emptyOK, sysSees: true},
		{name: "Patient?family", method: "GET", path: "/Patient?family=" + fam, check: emptyOK, sysSees: true},
		{name: "Patient?identifier", method: "GET", path: "/Patient?identifier=" + ident, check: emptyOK, sysSees: true},
		{name: "chain subject:Patient.family", method: "GET", path: "/Observation?subject:Patient.family=" + fam, check: emptyOK, sysSees: true},
		{name: "chain patient.identifier", method: "GET", path: "/Observation?patient.identifier=" + ident, check: emptyOK, sysSees: true},
		{name: "_has heart rate", method: "GET", path: "/Patient?_has:Observation:patient:code=8867-4", check: func(r axResp) string {
			if ids := axIDs(r.body); r.status != 200 || len(ids) != 1 || ids[0] != "Patient/pat-000001" {
				return "want exactly Patient/pat-000001, got " + strings.Join(ids, ",")
			}
			return ""
		}, sysSees: true},
		{name: "_include subject", method: "GET", path: "/Observation?_include=Observation:subject&_count=1000", check: okNoLeak},
		{name: "_include patient by _id of other", method: "GET", path: "/Observation?_id=" + obs2 + "," + obs1 + "&_include=Observation:subject", check: okNoLeak, sysSees: true},
		{name: "_revinclude", method: "GET", path: "/Patient?_revinclude=Observation:patient&_count=1000", check: okNoLeak, sysSees: true},
		{name: "_revinclude on other by _id", method: "GET", path: "/Patient?_id=pat-000001,pat-000002&_revinclude=Observation:patient&_count=1000", check: okNoLeak, sysSees: true},
		{name: "Encounter _include participant", method: "GET", path: "/Encounter?_include=Encounter:participant&_count=1000", check: okNoLeak, sysSees: true},
		{name: "compartment search", method: "GET", path: "/Patient/pat-000002/Observation", check: hiddenOrEmpty, sysSees: true},
		{name: "compartment search all types", method: "GET", path: "/Patient/pat-000002/*", check: hiddenOrEmpty},
		{name: "instance $everything", method: "GET", path: "/Patient/pat-000002/$everything", check: hiddenOrEmpty, sysSees: true},
		{name: "type $everything", method: "GET", path: "/Patient/$everything?_count=1000", check: okNoLeak, sysSees: true},
		{name: "system search _type", method: "GET", path: "?_type=Observation,Patient&_count=1000", check: okNoLeak, sysSees: true},
		{name: "system search _type _id", method: "GET", path: "?_type=Patient&_id=pat-000002", check: emptyOK, sysSees: true},
		{name: "type history", method: "GET", path: "/Observation/_history?_count=1000", check: okNoLeak, sysSees: true},
		{name: "system history", method: "GET", path: "/_history?_count=1000", check: okNoLeak, sysSees: true},
		{name: "Encounter of other", method: "GET", path: "/Encounter?patient=pat-000002", check: emptyOK, sysSees: true},
		{name: "Condition of other", method: "GET", path: "/Condition?subject=Patient/pat-000002", check: emptyOK},
		{name: "batch GET other", method: "POST", path: "", body: `{"resourceType":"Bundle","type":"batch","entry":[` +
			`{"request":{"method":"GET","url":"Patient/pat-000002"}},{"request":{"method":"GET","url":"Patient/pat-000001"}},` +
			`{"request":{"method":"GET","url":"Observation?patient=pat-000002"}}]}`, check: func(r axResp) string {
			if r.status != 200 {
				return "want 200 batch-response"
			}
			st := jstr(jget(r.json(), "entry.0.response.status"))
			if !strings.HasPrefix(st, "404") {
				return "entry for Patient/pat-000002 has status " + st + ", want 404"
			}
			if st := jstr(jget(r.json(), "entry.1.response.status")); !strings.HasPrefix(st, "200") {
				return "own Patient entry has status " + st
			}
			return ""
		}, sysSees: true},
		{name: "transaction GET other", method: "POST", path: "", body: `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"request":{"method":"GET","url":"Patient/pat-000002"}}]}`, check: func(r axResp) string {
			if r.status == 200 {
				if st := jstr(jget(r.json(), "entry.0.response.status")); !strings.HasPrefix(st, "404") {
					return "entry status " + st + ", want 404"
				}
			} else if r.status != 404 && r.status != 403 {
				return "want 200 with a 404 entry, or the whole transaction refused"
			}
			return ""
		}},
		{name: "transaction with a write (rs token)", method: "POST", path: "", body: `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"request":{"method":"GET","url":"Patient/pat-000001"}},` +
			`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pat-000001"}},"request":{"method":"POST","url":"Observation"}}]}`,
			check: forbidden},
		{name: "conditional create If-None-Exist (rs token)", method: "POST", path: "/Patient", body: `{"resourceType":"Patient","gender":"male"}`,
			hdr: []string{"If-None-Exist", "identifier=" + pp.p2Ident}, check: forbidden},
		{name: "create (rs token)", method: "POST", path: "/Observation", body: `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pat-000001"}}`, check: forbidden},
		{name: "update other (rs token)", method: "PUT", path: "/Patient/pat-000002", body: `{"resourceType":"Patient","id":"pat-000002","gender":"other"}`, check: hidden},
		{name: "delete other (rs token)", method: "DELETE", path: "/Patient/pat-000002", check: hidden},
	}
	for _, c := range cases {
		r := e.do(p1, c.method, c.path, c.body, c.hdr...)
		if r.status >= 500 {
			t.Errorf("%s: %s %s → %d %.300s", c.name, c.method, c.path, r.status, r.body)
			continue
		}
		if msg := c.check(r); msg != "" {
			t.Errorf("%s: %s %s → %d: %s; body %.300s", c.name, c.method, c.path, r.status, msg, r.body)
		}
		if l := pp.leak(r.body); l != "" {
			t.Errorf("%s: %s %s → %d LEAKS %s", c.name, c.method, c.path, r.status, l)
		}
		if c.sysSees {
			for tn, tok := range map[string]string{"system/*.rs": sys, "user/*.rs dr.smith": doc} {
				rs := e.do(tok, c.method, c.path, c.body, c.hdr...)
				if rs.status != 200 {
					t.Errorf("%s with %s: %d, want 200; %.300s", c.name, tn, rs.status, rs.body)
				} else if c.name != "_has heart rate" && pp.leak(rs.body) == "" && !strings.Contains(rs.body, "pat-000002") {
					t.Errorf("%s with %s: 200 but pat-000002's data is missing: %.300s", c.name, tn, rs.body)
				}
			}
		}
	}
	axExistenceOracle(t, e, p1, obs2)
	if a, b := e.do(p1w, "DELETE", "/Observation/"+obs2, ""), e.do(p1w, "DELETE", "/Observation/no-such-obs", ""); a.status != b.status {
		t.Errorf("existence oracle (cruds token): DELETE Observation/%s → %d but a missing id → %d", obs2, a.status, b.status)
	}
	axAdversarialWrites(t, e, pp, p1, p1w, sys)
	axAdversarialCounts(t, e, pp, p1, sys)
	axAdversarialPaging(t, e, p1)
}

// axVersion is the versionId of a resource as the unrestricted token sees it ("" when gone).
func axVersion(e *axEnv, sys, ref string) string {
	r := e.do(sys, "GET", "/"+ref, "")
	if r.status != 200 {
		return ""
	}
	return jstr(jget(r.json(), "meta.versionId"))
}

// axAdversarialWrites: even a patient/*.cruds token for pat-000001 cannot create, change
// or delete anything of pat-000002, directly, conditionally or in a transaction.
func axAdversarialWrites(t *testing.T, e *axEnv, pp axPeople, p1, p1w, sys string) {
	obs2, obs1 := pp.p2Obs[0], pp.p1Obs[0]
	p2v, obs2v, obs1v := axVersion(e, sys, "Patient/pat-000002"), axVersion(e, sys, "Observation/"+obs2), axVersion(e, sys, "Observation/"+obs1)
	p2count := func() int {
		return axTotal(e.do(sys, "GET", "/Observation?patient=pat-000002&_total=accurate&_count=0", "").body)
	}
	n2 := p2count()
	identCount := func() int {
		return axTotal(e.do(sys, "GET", "/Patient?identifier="+url.QueryEscape(pp.p2Ident)+"&_total=accurate", "").body)
	}
	obsFor := func(pat, extra string) string {
		return `{"resourceType":"Observation","status":"final"` + extra + `,"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/` + pat + `"},"valueQuantity":{"value":70,"unit":"/min"}}`
	}
	type wc struct {
		name, method, path, body string
		hdr                      []string
		want                     []int // acceptable statuses
	}
	cases := []wc{
		{"create Observation for other", "POST", "/Observation", obsFor("pat-000002", ""), nil, []int{403}},
		{"create Observation for other via patient ref only", "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"http://example.org/fhir/Patient/pat-000002"}}`, nil, []int{403, 400, 201}},
		{"update own Observation to point at other", "PUT", "/Observation/" + obs1, strings.Replace(obsFor("pat-000002", ""), `{"resourceType":"Observation"`, `{"resourceType":"Observation","id":"`+obs1+`"`, 1), nil, []int{403}},
		{"patch own Observation to point at other", "PATCH", "/Observation/" + obs1, `[{"op":"replace","path":"/subject","value":{"reference":"Patient/pat-000002"}}]`, []string{"Content-Type", "application/json-patch+json"}, []int{403}},
		{"update other's Observation", "PUT", "/Observation/" + obs2, strings.Replace(obsFor("pat-000001", ""), `{"resourceType":"Observation"`, `{"resourceType":"Observation","id":"`+obs2+`"`, 1), nil, []int{404, 403}},
		{"patch other's Observation", "PATCH", "/Observation/" + obs2, `[{"op":"replace","path":"/status","value":"amended"}]`, []string{"Content-Type", "application/json-patch+json"}, []int{404, 403}},
		{"delete other's Observation", "DELETE", "/Observation/" + obs2, "", nil, []int{404, 403}},
		{"update other Patient", "PUT", "/Patient/pat-000002", `{"resourceType":"Patient","id":"pat-000002","gender":"other"}`, nil, []int{404, 403}},
		{"delete other Patient", "DELETE", "/Patient/pat-000002", "", nil, []int{404, 403}},
		{"conditional create Patient If-None-Exist other identifier", "POST", "/Patient", `{"resourceType":"Patient","gender":"male"}`, []string{"If-None-Exist", "identifier=" + pp.p2Ident}, []int{403}},
		{"conditional update Patient?identifier other", "PUT", "/Patient?identifier=" + url.QueryEscape(pp.p2Ident), `{"resourceType":"Patient","gender":"other"}`, nil, []int{403, 404, 412}},
		{"conditional update Observation?_id other", "PUT", "/Observation?_id=" + obs2, obsFor("pat-000001", ""), nil, []int{201, 403, 404, 412}},
		{"conditional delete Patient?identifier other", "DELETE", "/Patient?identifier=" + url.QueryEscape(pp.p2Ident), "", nil, []int{200, 204, 403, 404}},
		{"conditional delete Observation?patient other", "DELETE", "/Observation?patient=pat-000002", "", nil, []int{200, 204, 403, 404, 412}},
		{"transaction own create + other create", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"resource":` + obsFor("pat-000001", `,"identifier":[{"system":"urn:ax","value":"tx-1"}]`) + `,"request":{"method":"POST","url":"Observation"}},` +
			`{"resource":` + obsFor("pat-000002", "") + `,"request":{"method":"POST","url":"Observation"}}]}`, nil, []int{403}},
		{"transaction delete other", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"request":{"method":"DELETE","url":"Observation/` + obs2 + `"}}]}`, nil, []int{403, 404}},
		{"batch update other", "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[` +
			`{"resource":{"resourceType":"Patient","id":"pat-000002","gender":"other"},"request":{"method":"PUT","url":"Patient/pat-000002"}}]}`, nil, []int{200}},
	}
	for _, c := range cases {
		r := e.do(p1w, c.method, c.path, c.body, c.hdr...)
		ok := false
		for _, w := range c.want {
			ok = ok || r.status == w
		}
		if !ok {
			t.Errorf("cruds %s: %s %s → %d, want one of %v; %.300s", c.name, c.method, c.path, r.status, c.want, r.body)
		}
		if l := pp.leak(r.body); l != "" {
			t.Errorf("cruds %s: response LEAKS %s", c.name, l)
		}
		if c.name == "batch update other" {
			if st := jstr(jget(r.json(), "entry.0.response.status")); !strings.HasPrefix(st, "404") && !strings.HasPrefix(st, "403") {
				t.Errorf("cruds %s: entry status %q, want 404/403", c.name, st)
			}
		}
		if c.name == "conditional create Patient If-None-Exist other identifier" && r.status == 200 {
			t.Errorf("conditional create returned an existing match outside the grant: %.300s", r.body)
		}
	}
	if v := axVersion(e, sys, "Patient/pat-000002"); v != p2v {
		t.Errorf("Patient/pat-000002 changed: version %q → %q", p2v, v)
	}
	if v := axVersion(e, sys, "Observation/"+obs2); v != obs2v {
		t.Errorf("Observation/%s of pat-000002 changed: version %q → %q", obs2, obs2v, v)
	}
	if v := axVersion(e, sys, "Observation/"+obs1); v != obs1v {
		t.Errorf("Observation/%s of pat-000001 changed: version %q → %q", obs1, obs1v, v)
	}
	if r := e.do(sys, "GET", "/Observation/"+obs1, ""); jstr(jget(r.json(), "subject.reference")) != "Patient/pat-000001" {
		t.Errorf("own Observation now points at %s", jstr(jget(r.json(), "subject.reference")))
	}
	if n := p2count(); n != n2 {
		t.Errorf("pat-000002's Observations: %d → %d", n2, n)
	}
	if n := identCount(); n != 1 {
		t.Errorf("Patients with pat-000002's identifier: %d, want 1", n)
	}
	if n := axTotal(e.do(sys, "GET", "/Observation?identifier=urn:ax|tx-1&_total=accurate", "").body); n != 0 {
		t.Errorf("the refused transaction still created its first entry (%d)", n)
	}
	// Sanity: the cruds token can write inside its own compartment.
	if r := e.do(p1w, "POST", "/Observation", obsFor("pat-000001", "")); r.status != 201 {
		t.Errorf("cruds create own Observation: %d %.300s", r.status, r.body)
	}
	// The rs token cannot write even inside its compartment.
	if r := e.do(p1, "PUT", "/Observation/"+obs1, strings.Replace(obsFor("pat-000001", ""), `{"resourceType":"Observation"`, `{"resourceType":"Observation","id":"`+obs1+`"`, 1)); r.status != 403 {
		t.Errorf("rs update own Observation: %d, want 403", r.status)
	}
}

// axAdversarialCounts: totals count only what the grant can see.
func axAdversarialCounts(t *testing.T, e *axEnv, pp axPeople, p1, sys string) {
	own := axTotal(e.do(sys, "GET", "/Observation?patient=pat-000001&_total=accurate&_count=1", "").body)
	all := axTotal(e.do(sys, "GET", "/Observation?_total=accurate&_count=1", "").body)
	if own <= 0 || all <= own {
		t.Fatalf("system totals: own %d, all %d", own, all)
	}
	pp.p1HR = axTotal(e.do(sys, "GET", "/Observation?patient=pat-000001&code=8867-4&_total=accurate&_count=1", "").body) // after the writes
	for _, c := range []struct {
		path string
		want int
	}{
		{"/Observation?_total=accurate&_count=1", own},
		{"/Observation?_summary=count", own},
		{"/Observation?code=8867-4&_total=accurate&_count=1", pp.p1HR},
		{"/Observation?code=8867-4&_summary=count", pp.p1HR},
		{"/Patient?_total=accurate", 1},
		{"/Patient?_summary=count", 1},
		{"/Patient?gender=male,female,other,unknown&_total=accurate", 1},
	} {
		r := e.do(p1, "GET", c.path, "")
		if got := axTotal(r.body); r.status != 200 || got != c.want {
			t.Errorf("count %s: %d total %d, want %d", c.path, r.status, got, c.want)
		}
	}
}

// axAdversarialPaging: next links work, and editing them cannot widen access.
func axAdversarialPaging(t *testing.T, e *axEnv, p1 string) {
	r := e.do(p1, "GET", "/Observation?_count=2", "")
	next := axNext(r.body)
	if r.status != 200 || next == "" {
		t.Fatalf("own search has no next link: %d %.300s", r.status, r.body)
	}
	if r := e.do(p1, "GET", next, ""); r.status != 200 || len(axIDs(r.body)) == 0 {
		t.Errorf("next link: %d %.300s", r.status, r.body)
	}
	u, err := url.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	cur := q.Get("_cursor")
	if cur == "" {
		t.Fatalf("next link has no _cursor: %s", next)
	}
	// Flip one character of the payload, or swap in a forged payload.
	b := []byte(cur)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	for name, c := range map[string]string{"flipped": string(b), "truncated": cur[:len(cur)/2], "garbage": "eyJ0IjoiUGF0aWVudCJ9.AAAA"} {
		q.Set("_cursor", c)
		u.RawQuery = q.Encode()
		if r := e.do(p1, "GET", u.String(), ""); r.status != 400 {
			t.Errorf("%s _cursor: %d, want 400; %.200s", name, r.status, r.body)
		}
	}
	// Extra parameters on a genuine link do not widen the search either.
	q.Set("_cursor", cur)
	q.Set("patient", "pat-000002")
	u.RawQuery = q.Encode()
	if r := e.do(p1, "GET", u.String(), ""); r.status < 300 && strings.Contains(r.body, `"reference":"Patient/pat-000002"`) {
		t.Errorf("next link + patient=pat-000002 leaks")
	}
}

// axExistenceOracle: for every path, pat-000002's data answers exactly as data that does
// not exist at all, so a patient token cannot probe which ids exist.
func axExistenceOracle(t *testing.T, e *axEnv, p1, obs2 string) {
	for _, c := range [][2]string{
		{"/Patient/pat-000002", "/Patient/pat-999999"},
		{"/Patient/pat-000002/_history/1", "/Patient/pat-999999/_history/1"},
		{"/Patient/pat-000002/_history", "/Patient/pat-999999/_history"},
		{"/Observation/" + obs2, "/Observation/no-such-obs"},
		{"/Observation/" + obs2 + "/_history", "/Observation/no-such-obs/_history"},
		{"/Patient/pat-000002/Observation", "/Patient/pat-999999/Observation"},
		{"/Patient/pat-000002/$everything", "/Patient/pat-999999/$everything"},
	} {
		a, b := e.do(p1, "GET", c[0], ""), e.do(p1, "GET", c[1], "")
		if a.status != b.status {
			t.Errorf("existence oracle: %s → %d but %s → %d", c[0], a.status, c[1], b.status)
		}
	}
	for _, m := range []string{"PUT", "DELETE"} {
		body := ""
		if m == "PUT" {
			body = `{"resourceType":"Observation","id":"ID","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pat-000001"}}`
		}
		a := e.do(p1, m, "/Observation/"+obs2, strings.Replace(body, "ID", obs2, 1))
		b := e.do(p1, m, "/Observation/no-such-obs", strings.Replace(body, "ID", "no-such-obs", 1))
		if a.status != b.status {
			t.Errorf("existence oracle (rs token): %s Observation/%s → %d but a missing id → %d", m, obs2, a.status, b.status)
		}
	}
}

const axLab = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"

// TestScopeTable: (scope, request) → status for the v2 letters, the v1 mapping, the levels
// and a granular scope.
func TestScopeTable(t *testing.T) {
	e := axStart(t, false)
	sys := e.sys()
	first := func(q string) string {
		r := e.do(sys, "GET", "/"+q+"&_count=1", "")
		ids := axIDs(r.body)
		if len(ids) == 0 {
			t.Fatalf("no result for %s: %.200s", q, r.body)
		}
		return strings.SplitN(ids[0], "/", 2)[1]
	}
	obs1 := first("Observation?patient=pat-000001")
	lab := first("Observation?patient=pat-000001&category=laboratory")
	vital := first("Observation?patient=pat-000001&category=vital-signs")
	cond := first("Condition?patient=pat-000001")
	obs2 := first("Observation?patient=pat-000002")
	fixer := e.p1("patient/*.cruds")
	ownObs := func(id string) string {
		s := `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/pat-000001"},"valueQuantity":{"value":71,"unit":"/min"}}`
		if id != "" {
			s = strings.Replace(s, `{"resourceType":"Observation"`, `{"resourceType":"Observation","id":"`+id+`"`, 1)
		}
		return s
	}
	fresh := func() string { // an Observation of pat-000001 that a row may change or delete
		r := e.do(fixer, "POST", "/Observation", ownObs(""))
		id := jstr(jget(r.json(), "id"))
		if r.status != 201 || id == "" {
			t.Fatalf("fixture create: %d %.200s", r.status, r.body)
		}
		return id
	}
	n := 0
	newID := func() string { n++; return "ax-new-" + time.Now().Format("150405") + "-" + string(rune('a'+n)) }
	patch := `[{"op":"replace","path":"/status","value":"amended"}]`
	type row struct {
		scope, method, path string // path: {obs} own Observation, {mut} a fresh one, {new} an unused id
		want                []int
	}
	rows := []row{
		// r: read, vread, instance history; no search, no type history, no writes.
		{"patient/Observation.r", "GET", "/Observation/{obs}", []int{200}},
		{"patient/Observation.r", "GET", "/Observation/{obs}/_history/1", []int{200}},
		{"patient/Observation.r", "GET", "/Observation/{obs}/_history", []int{200}},
		{"patient/Observation.r", "GET", "/Observation?patient=pat-000001", []int{403}},
		{"patient/Observation.r", "GET", "/Observation?_id={obs}", []int{403}},
		{"patient/Observation.r", "GET", "/Observation/_history", []int{403}},
		{"patient/Observation.r", "GET", "/Patient/pat-000001/Observation", []int{403}},
		{"patient/Observation.r", "POST", "/Observation", []int{403}},
		{"patient/Observation.r", "PUT", "/Observation/{mut}", []int{403}},
		{"patient/Observation.r", "DELETE", "/Observation/{mut}", []int{403}},
		// s: search and type history, no read by id.
		{"patient/Observation.s", "GET", "/Observation?patient=pat-000001", []int{200}},
		{"patient/Observation.s", "GET", "/Observation?_id={obs}", []int{200}},
		{"patient/Observation.s", "GET", "/Observation/_history", []int{200}},
		{"patient/Observation.s", "GET", "/Observation/{obs}", []int{403}},
		{"patient/Observation.s", "GET", "/Observation/{obs}/_history/1", []int{403}},
		{"patient/Observation.s", "GET", "/Observation/{obs}/_history", []int{403}},
		{"patient/Observation.s", "POST", "/Observation", []int{403}},
		// c: create, nothing else.
		{"patient/Observation.c", "POST", "/Observation", []int{201}},
		{"patient/Observation.c", "GET", "/Observation/{obs}", []int{403}},
		{"patient/Observation.c", "GET", "/Observation?patient=pat-000001", []int{403}},
		{"patient/Observation.c", "PUT", "/Observation/{mut}", []int{403}},
		{"patient/Observation.c", "PUT", "/Observation/{new}", []int{403}},
		// u: update, patch, update-as-create.
		{"patient/Observation.u", "PUT", "/Observation/{mut}", []int{200}},
		{"patient/Observation.u", "PATCH", "/Observation/{mut}", []int{200}},
		{"patient/Observation.u", "PUT", "/Observation/{new}", []int{201}},
		{"patient/Observation.u", "GET", "/Observation/{obs}", []int{403}},
		{"patient/Observation.u", "POST", "/Observation", []int{403}},
		{"patient/Observation.u", "DELETE", "/Observation/{mut}", []int{403}},
		// d: delete.
		{"patient/Observation.d", "DELETE", "/Observation/{mut}", []int{200, 204}},
		{"patient/Observation.d", "GET", "/Observation/{obs}", []int{403}},
		{"patient/Observation.d", "PUT", "/Observation/{mut}", []int{403}},
		// v2 combinations.
		{"patient/Observation.rs", "GET", "/Observation/{obs}", []int{200}},
		{"patient/Observation.rs", "GET", "/Observation?patient=pat-000001", []int{200}},
		{"patient/Observation.rs", "POST", "/Observation", []int{403}},
		{"patient/Observation.cud", "GET", "/Observation/{obs}", []int{403}},
		{"patient/Observation.cud", "GET", "/Observation?patient=pat-000001", []int{403}},
		{"patient/Observation.cud", "POST", "/Observation", []int{201}},
		{"patient/Observation.cruds", "GET", "/Observation/{obs}", []int{200}},
		// v1: read = rs, write = cud, * = cruds.
		{"patient/Observation.read", "GET", "/Observation/{obs}", []int{200}},
		{"patient/Observation.read", "GET", "/Observation?patient=pat-000001", []int{200}},
		{"patient/Observation.read", "GET", "/Observation/_history", []int{200}},
		{"patient/Observation.read", "POST", "/Observation", []int{403}},
		{"patient/Observation.read", "DELETE", "/Observation/{mut}", []int{403}},
		{"patient/Observation.write", "POST", "/Observation", []int{201}},
		{"patient/Observation.write", "PUT", "/Observation/{mut}", []int{200}},
		{"patient/Observation.write", "PUT", "/Observation/{new}", []int{201}},
		{"patient/Observation.write", "DELETE", "/Observation/{mut}", []int{200, 204}},
		{"patient/Observation.write", "GET", "/Observation/{obs}", []int{403}},
		{"patient/Observation.write", "GET", "/Observation?patient=pat-000001", []int{403}},
		{"patient/Observation.*", "GET", "/Observation/{obs}", []int{200}},
		{"patient/Observation.*", "POST", "/Observation", []int{201}},
		{"patient/*.write", "GET", "/Patient/pat-000001", []int{403}},
		{"patient/*.read", "GET", "/Patient/pat-000001", []int{200}},
		// Other types are out of an Observation scope.
		{"patient/Observation.rs", "GET", "/Condition/" + cond, []int{403}},
		{"patient/Observation.rs", "GET", "/Condition?patient=pat-000001", []int{403}},
		{"patient/Observation.rs", "GET", "/Patient/pat-000001", []int{403}},
		// Patient scopes stay in the compartment whatever the letters.
		{"patient/Observation.rs", "GET", "/Observation/" + obs2, []int{404}},
		{"patient/Observation.cruds", "DELETE", "/Observation/" + obs2, []int{404}},
	}
	for _, rw := range rows {
		tok := e.p1(rw.scope)
		path := strings.ReplaceAll(rw.path, "{obs}", obs1)
		id := ""
		switch {
		case strings.Contains(path, "{mut}"):
			id = fresh()
			path = strings.ReplaceAll(path, "{mut}", id)
		case strings.Contains(path, "{new}"):
			id = newID()
			path = strings.ReplaceAll(path, "{new}", id)
		}
		body, hdr := "", []string(nil)
		switch rw.method {
		case "POST":
			body = ownObs("")
		case "PUT":
			body = ownObs(id)
		case "PATCH":
			body, hdr = patch, []string{"Content-Type", "application/json-patch+json"}
		}
		r := e.do(tok, rw.method, path, body, hdr...)
		ok := false
		for _, w := range rw.want {
			ok = ok || r.status == w
		}
		if !ok {
			t.Errorf("%-28s %-6s %s → %d, want %v; %.250s", rw.scope, rw.method, rw.path, r.status, rw.want, r.body)
			continue
		}
		if r.status == 403 {
			if wa := r.hdr.Get("WWW-Authenticate"); !strings.Contains(wa, "insufficient_scope") {
				t.Errorf("%s %s %s: 403 without WWW-Authenticate insufficient_scope (%q)", rw.scope, rw.method, rw.path, wa)
			}
			if r.json()["resourceType"] != "OperationOutcome" || !strings.Contains(r.body, "patient/") {
				t.Errorf("%s %s %s: 403 body does not name a scope: %.250s", rw.scope, rw.method, rw.path, r.body)
			}
		}
	}
	// The denial names the scope that would have allowed it.
	r := e.do(e.p1("patient/Observation.rs"), "GET", "/Condition/"+cond, "")
	if !strings.Contains(r.body, "patient/Condition.r") {
		t.Errorf("denied Condition read does not name patient/Condition.r: %.300s", r.body)
	}
	r = e.do(e.p1("patient/Observation.rs"), "GET", "/Condition?patient=pat-000001", "")
	if !strings.Contains(r.body, "patient/Condition.s") {
		t.Errorf("denied Condition search does not name patient/Condition.s: %.300s", r.body)
	}
	axLevels(t, e, obs2)
	axGranular(t, e, sys, lab, vital)
}

// axLevels: user/ scopes of a patient user are confined like patient/ ones; a practitioner
// sees everyone; system scopes are limited to their types.
func axLevels(t *testing.T, e *axEnv, obs2 string) {
	for _, c := range []struct {
		name, client, user, patient, scope, path string
		want                                     int
	}{
		{"user/*.rs patient1 → other patient", "sample-app", "patient1", "", "user/*.rs", "/Patient/pat-000002", 404},
		{"user/*.rs patient1 → other Observation", "sample-app", "patient1", "", "user/*.rs", "/Observation/" + obs2, 404},
		{"user/*.rs patient1 → self", "sample-app", "patient1", "", "user/*.rs", "/Patient/pat-000001", 200},
		{"user/*.rs dr.smith → pat-000002", "sample-app", "dr.smith", "", "user/*.rs", "/Patient/pat-000002", 200},
		{"user/Observation.rs dr.smith → Patient", "sample-app", "dr.smith", "", "user/Observation.rs", "/Patient/pat-000002", 403},
		{"patient/*.rs without patient context", "sample-app", "dr.smith", "", "patient/*.rs", "/Patient/pat-000001", 403},
		{"patient/*.rs dr.smith with patient pat-000002", "sample-app", "dr.smith", "pat-000002", "patient/*.rs", "/Patient/pat-000001", 404},
		{"system/Observation.rs → Patient", "backend-service", "", "", "system/Observation.rs", "/Patient/pat-000002", 403},
		{"system/Observation.rs → Observation", "backend-service", "", "", "system/Observation.rs", "/Observation/" + obs2, 200},
	} {
		tok := e.mint(c.client, c.user, c.patient, c.scope)
		if r := e.do(tok, "GET", c.path, ""); r.status != c.want {
			t.Errorf("level %s: %d, want %d; %.200s", c.name, r.status, c.want, r.body)
		}
	}
}

// axGranular: patient/Observation.rs?category=laboratory constrains searches and reads.
func axGranular(t *testing.T, e *axEnv, sys, lab, vital string) {
	tok := e.p1("patient/Observation.rs?category=" + url.QueryEscape(axLab))
	labs := axTotal(e.do(sys, "GET", "/Observation?patient=pat-000001&category=laboratory&_total=accurate&_count=1", "").body)
	if labs <= 0 {
		t.Fatalf("pat-000001 has no laboratory Observations")
	}
	isLab := func(body string) (bool, int) {
		var b struct {
			Entry []struct{ Resource json.RawMessage } `json:"entry"`
		}
		json.Unmarshal([]byte(body), &b)
		for _, en := range b.Entry {
			if !strings.Contains(string(en.Resource), `"code":"laboratory"`) {
				return false, len(b.Entry)
			}
		}
		return true, len(b.Entry)
	}
	for _, c := range []struct {
		path    string
		total   int // -1: do not check
		nonzero bool
	}{
		{"/Observation?patient=pat-000001&_total=accurate&_count=1000", labs, true},
		{"/Observation?_total=accurate&_count=1000", labs, true},
		{"/Observation?_summary=count", labs, false},
		{"/Observation?category=vital-signs&_total=accurate", 0, false},
		{"/Observation?code=8867-4&_total=accurate", 0, false},
		{"/Observation?_id=" + vital, 0, false},
		{"/Observation?_id=" + lab, 1, true},
		{"/Observation/_history?_count=1000", -1, true},
		{"/Patient/pat-000001/Observation?_count=1000", -1, true},
	} {
		r := e.do(tok, "GET", c.path, "")
		all, n := isLab(r.body)
		switch {
		case r.status != 200:
			t.Errorf("granular %s: %d %.200s", c.path, r.status, r.body)
		case !all:
			t.Errorf("granular %s: returns a non-laboratory Observation", c.path)
		case c.total >= 0 && axTotal(r.body) != c.total:
			t.Errorf("granular %s: total %d, want %d", c.path, axTotal(r.body), c.total)
		case c.nonzero && n == 0:
			t.Errorf("granular %s: no laboratory Observation returned", c.path)
		}
	}
	if r := e.do(tok, "GET", "/Observation/"+vital, ""); r.status != 404 && r.status != 403 {
		t.Errorf("granular read of vital-signs Observation/%s: %d, want 404/403", vital, r.status)
	}
	if r := e.do(tok, "GET", "/Observation/"+vital+"/_history/1", ""); r.status != 404 && r.status != 403 {
		t.Errorf("granular vread of vital-signs Observation/%s: %d, want 404/403", vital, r.status)
	}
	if r := e.do(tok, "GET", "/Observation/"+lab, ""); r.status != 200 {
		t.Errorf("granular read of laboratory Observation/%s: %d, want 200", lab, r.status)
	}
}

// TestPractitionerPanel: with --practitioner-access panel a practitioner's user/ token
// reaches exactly the patients whose generalPractitioner they are, and their data; by
// default it reaches everyone.
func TestPractitionerPanel(t *testing.T) {
	e := axStartWith(t, Config{PractitionerAccess: "panel"})
	sys := e.sys()
	all := axIDs(e.do(sys, "GET", "/Patient?_count=100", "").body)
	// dr.smith is Practitioner/<id>: find the id through the token's fhirUser.
	var doc struct{ User string }
	if tok, err := e.app.Auth.MintToken(context.Background(), "sample-app", "dr.smith", "", "user/*.rs openid fhirUser"); err != nil {
		t.Fatal(err)
	} else if g, err := e.app.Auth.ResolveToken(context.Background(), tok["access_token"].(string)); err != nil {
		t.Fatal(err)
	} else {
		doc.User = g.User
	}
	if !strings.HasPrefix(doc.User, "Practitioner/") {
		t.Fatalf("dr.smith's fhirUser is %q", doc.User)
	}
	mine := axIDs(e.do(sys, "GET", "/Patient?_count=100&general-practitioner="+doc.User, "").body)
	if len(mine) == 0 || len(mine) == len(all) {
		t.Fatalf("the seed should give %s some but not all of the %d patients; it has %v", doc.User, len(all), mine)
	}
	tok := e.doc()
	if got := axIDs(e.do(tok, "GET", "/Patient?_count=100", "").body); strings.Join(got, ",") != strings.Join(mine, ",") {
		t.Errorf("panel Patient search: %v, want %v", got, mine)
	}
	var other string
	for _, p := range all {
		if !slices.Contains(mine, p) {
			other = p
			break
		}
	}
	for _, path := range []string{"/" + other, "/Observation?patient=" + other, "/" + other + "/$everything"} {
		r := e.do(tok, "GET", path, "")
		if path == "/"+other {
			if r.status != 404 {
				t.Errorf("GET %s outside the panel: %d, want 404", path, r.status)
			}
			continue
		}
		if r.status != 200 && r.status != 404 || len(axIDs(r.body)) != 0 {
			t.Errorf("GET %s outside the panel: %d with %d entries, want none", path, r.status, len(axIDs(r.body)))
		}
	}
	if r := e.do(tok, "GET", "/Observation?patient="+mine[0]+"&_summary=count", ""); axTotal(r.body) <= 0 {
		t.Errorf("Observations of %s in the panel: %d %.200s", mine[0], r.status, r.body)
	}
	// The default reaches every patient.
	d := axStart(t, false)
	if got := axIDs(d.do(d.doc(), "GET", "/Patient?_count=100", "").body); len(got) != len(all) {
		t.Errorf("default practitioner access: %d patients, want all %d", len(got), len(all))
	}
}
