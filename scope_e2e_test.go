package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fhirbox/fhirstore"
)

// advServer starts the whole program with enforcement on and a small seeded population.
func advServer(t *testing.T) (*App, func(scope, user, patient string) string) {
	t.Helper()
	app := &App{Config: Config{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "fhirbox.db"), SeedPatients: 3}}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.Close(ctx)
	})
	mint := func(scope, user, patient string) string {
		tok, err := app.Auth.MintToken(context.Background(), "confidential-app", user, patient, scope)
		if err != nil {
			t.Fatalf("mint %s: %v", scope, err)
		}
		return tok["access_token"].(string)
	}
	return app, mint
}

func advDo(t *testing.T, base, token, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A patient/*.rs token for pat-000001 must not read, count, infer or modify pat-000002's
// data through any path; a user/*.rs practitioner token sees it.
func TestScopePatientCannotReachAnotherPatient(t *testing.T) {
	app, mint := advServer(t)
	base := app.BaseURL
	p1 := mint("patient/*.rs", "patient1", "pat-000001")
	all := mint("user/*.rs", "dr.smith", "")
	// Find pat-000002's resources with the practitioner token.
	_, body := advDo(t, base, all, "GET", "/Observation?patient=pat-000002&_count=1&_elements=id", "")
	var b struct {
		Entry []struct{ Resource struct{ ID string } }
	}
	json.Unmarshal([]byte(body), &b)
	if len(b.Entry) == 0 {
		t.Fatal("pat-000002 has no Observations")
	}
	obs2 := b.Entry[0].Resource.ID
	_, pbody := advDo(t, base, all, "GET", "/Patient/pat-000002", "")
	family := "Wilson"
	if !strings.Contains(pbody, family) {
		t.Fatalf("pat-000002 is not %s: %.200s", family, pbody)
	}
	// A leak is pat-000002's data in a returned resource; echoes of the request (self
	// links, "Patient/pat-000002 is not known") are not.
	leaks := func(body string) bool {
		var bundle struct {
			ResourceType string
			Entry        []struct {
				Resource json.RawMessage
			}
		}
		if json.Unmarshal([]byte(body), &bundle) != nil {
			return false
		}
		if bundle.ResourceType != "Bundle" {
			return strings.Contains(body, `"id":"pat-000002"`) || strings.Contains(body, obs2)
		}
		for _, e := range bundle.Entry {
			r := string(e.Resource)
			if strings.Contains(r, "pat-000002") || strings.Contains(r, obs2) {
				return true
			}
		}
		return false
	}
	cases := []struct{ name, method, path, body string }{
		{"read patient", "GET", "/Patient/pat-000002", ""},
		{"vread patient", "GET", "/Patient/pat-000002/_history/1", ""},
		{"patient history", "GET", "/Patient/pat-000002/_history", ""},
		{"read observation", "GET", "/Observation/" + obs2, ""},
		{"vread observation", "GET", "/Observation/" + obs2 + "/_history/1", ""},
		{"observation history", "GET", "/Observation/" + obs2 + "/_history", ""},
		{"search by patient", "GET", "/Observation?patient=pat-000002", ""},
		{"search by subject", "GET", "/Observation?subject=Patient/pat-000002", ""},
		{"search by _id", "GET", "/Observation?_id=" + obs2, ""},
		{"count", "GET", "/Observation?patient=pat-000002&_summary=count", ""},
		{"patient by _id", "GET", "/Patient?_id=pat-000002", ""},
		{"patient by name", "GET", "/Patient?family=" + family, ""},
		{"chain", "GET", "/Observation?subject:Patient.family=" + family, ""},
		{"has", "GET", "/Patient?_has:Observation:patient:code=8867-4", ""},
		{"include", "GET", "/Observation?_include=Observation:subject&_count=50", ""},
		{"revinclude", "GET", "/Patient?_revinclude=Observation:patient&_count=50", ""},
		{"compartment", "GET", "/Patient/pat-000002/Observation", ""},
		{"everything", "GET", "/Patient/pat-000002/$everything", ""},
		{"type everything", "GET", "/Patient/$everything?_count=500", ""},
		{"system search", "GET", "?_type=Observation,Patient&_count=500", ""},
		{"type history", "GET", "/Observation/_history?_count=500", ""},
		{"system history", "GET", "/_history?_count=500", ""},
		{"encounters", "GET", "/Encounter?patient=pat-000002", ""},
		{"conditions", "GET", "/Condition?subject=pat-000002", ""},
		{"batch read", "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/pat-000002"}}]}`},
		{"conditional create probe", "POST", "/Patient", `{"resourceType":"Patient","gender":"male"}`},
		{"update", "PUT", "/Patient/pat-000002", `{"resourceType":"Patient","id":"pat-000002","gender":"other"}`},
		{"delete", "DELETE", "/Patient/pat-000002", ""},
		{"transaction write", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pat-000002"}},"request":{"method":"POST","url":"Observation"}}]}`},
		{"conditional delete", "DELETE", "/Observation?patient=pat-000002", ""},
	}
	for _, c := range cases {
		status, body := advDo(t, base, p1, c.method, c.path, c.body)
		switch {
		case status >= 500:
			t.Errorf("%s: %d", c.name, status)
		case status < 300 && leaks(body):
			t.Errorf("%s: %d and the body mentions pat-000002's data: %.300s", c.name, status, body)
		case status < 300 && c.method != "GET" && c.method != "POST":
			t.Errorf("%s: a patient/*.rs token wrote: %d", c.name, status)
		case c.name == "conditional create probe" || c.name == "transaction write":
			if status != 403 {
				t.Errorf("%s: %d, want 403 (patient/*.rs has no create)", c.name, status)
			}
		}
	}
	// The same reads with the practitioner token do see pat-000002.
	for _, path := range []string{"/Patient/pat-000002", "/Observation/" + obs2, "/Observation?patient=pat-000002", "/Patient/pat-000002/$everything",
		"/Observation?subject:Patient.family=" + family, "/Patient/pat-000002/Observation"} {
		status, body := advDo(t, base, all, "GET", path, "")
		if status != 200 || !leaks(body) {
			t.Errorf("user/*.rs %s: %d, want 200 with pat-000002's data", path, status)
		}
	}
	// And the patient token sees its own data.
	if status, body := advDo(t, base, p1, "GET", "/Observation?patient=pat-000001&_count=5", ""); status != 200 || !strings.Contains(body, `"total"`) || strings.Contains(body, `"total":0`) {
		t.Errorf("own observations: %d %.200s", status, body)
	}
}

// The v2 letters are enforced separately and v1 scopes map onto them.
func TestScopeLetters(t *testing.T) {
	app, mint := advServer(t)
	base := app.BaseURL
	newObs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pat-000001"}}`
	cases := []struct {
		scope, method, path, body string
		want                      int
	}{
		{"patient/Observation.r", "GET", "/Observation?patient=pat-000001", "", 403},
		{"patient/Observation.r", "GET", "/Observation/obs-000001-0001", "", 200},
		{"patient/Observation.s", "GET", "/Observation?patient=pat-000001", "", 200},
		{"patient/Observation.s", "GET", "/Observation/obs-000001-0001", "", 403},
		{"patient/Observation.c", "POST", "/Observation", newObs, 201},
		{"patient/Observation.c", "GET", "/Observation/obs-000001-0001", "", 403},
		{"patient/Observation.u", "PUT", "/Observation/new-obs-1", strings.Replace(newObs, `"status"`, `"id":"new-obs-1","status"`, 1), 201},
		{"patient/Observation.c", "PUT", "/Observation/new-obs-2", strings.Replace(newObs, `"status"`, `"id":"new-obs-2","status"`, 1), 403},
		{"patient/Observation.d", "DELETE", "/Observation/obs-000001-0002", "", 204},
		{"patient/Observation.read", "GET", "/Observation?patient=pat-000001", "", 200},
		{"patient/Observation.read", "POST", "/Observation", newObs, 403},
		{"patient/Observation.write", "POST", "/Observation", newObs, 201},
		{"patient/Observation.write", "GET", "/Observation/obs-000001-0001", "", 403},
		{"patient/Observation.*", "GET", "/Observation/obs-000001-0001", "", 200},
		{"patient/Condition.rs", "GET", "/Observation/obs-000001-0001", "", 403},
		{"patient/*.cruds", "POST", "/Observation", strings.Replace(newObs, "pat-000001", "pat-000002", 1), 403},
	}
	for _, c := range cases {
		status, body := advDo(t, base, mint(c.scope, "patient1", "pat-000001"), c.method, c.path, c.body)
		if status != c.want {
			t.Errorf("%s %s %s: %d, want %d: %.200s", c.scope, c.method, c.path, status, c.want, body)
		}
	}
	// Granular scopes: only laboratory Observations are visible.
	lab := mint("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", "patient1", "pat-000001")
	status, body := advDo(t, base, lab, "GET", "/Observation?patient=pat-000001&_count=500", "")
	if status != 200 || strings.Contains(body, `"vital-signs"`) || !strings.Contains(body, `"laboratory"`) {
		t.Errorf("granular search: %d, vital signs leaked or no lab results: %.200s", status, body)
	}
	// obs-000001-0001 is a vital sign in the seeded data: reading it is refused.
	if status, _ := advDo(t, base, mint("user/*.rs", "dr.smith", ""), "GET", "/Observation/obs-000001-0001", ""); status != 200 {
		t.Fatalf("obs-000001-0001 missing: %d", status)
	}
	if status, body := advDo(t, base, lab, "GET", "/Observation/obs-000001-0001?_elements=category", ""); status != 404 && !strings.Contains(body, "laboratory") {
		t.Errorf("granular read of a non-laboratory Observation: %d %.200s", status, body)
	}
}

// Tokens: none, garbage, and revoked are 401; discovery and metadata stay public.
func TestScopeTokens(t *testing.T) {
	app, mint := advServer(t)
	base := app.BaseURL
	status, _ := advDo(t, base, "", "GET", "/Patient/pat-000001", "")
	if status != 401 {
		t.Errorf("no token: %d", status)
	}
	status, body := advDo(t, base, "garbage", "GET", "/Patient/pat-000001", "")
	if status != 401 || !strings.Contains(body, "OperationOutcome") {
		t.Errorf("garbage token: %d", status)
	}
	for _, p := range []string{"/metadata", "/.well-known/smart-configuration", "/.well-known/openid-configuration"} {
		if status, _ := advDo(t, base, "", "GET", p, ""); status != 200 {
			t.Errorf("%s without a token: %d", p, status)
		}
	}
	tok := mint("user/*.rs", "dr.smith", "")
	if status, _ := advDo(t, base, tok, "GET", "/Patient/pat-000001", ""); status != 200 {
		t.Fatalf("valid token: %d", status)
	}
	resp, err := http.PostForm(app.AuthURL+"/revoke", map[string][]string{"token": {tok}, "client_id": {"confidential-app"}, "client_secret": {"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if status, _ := advDo(t, base, tok, "GET", "/Patient/pat-000001", ""); status != 401 {
		t.Errorf("revoked token: %d, want 401", status)
	}
}

// BenchmarkEnforcement compares a request through a patient-scoped token with the same
// request on an --open server over the same data: the cost of enforcement (token
// resolution, the access filter inside the SQL, the decision log). The servers answer
// alternately, so all see the same machine load; it reports the median of each.
//
// Each server answers half of the requests: the enforced request is sent twice per round.
// When the open server answered two of every three, its pages, statements and heap stayed
// warmer in the CPU's caches, and that alone put the enforced server 3 to 5 points behind.
//
// overhead-% is enforced against a plain open request. A third arm sends the open server
// the same Authorization header, which it ignores: enforcement-% is enforced against that,
// the server's own work without the cost of carrying a 530-byte header through Go's HTTP
// client and server, which any bearer token pays.
func BenchmarkEnforcement(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"search", "/Observation?patient=pat-000001&code=http://loinc.org|8867-4"},
		{"read", "/Patient/pat-000001"},
		{"read-observation", ""}, // an Observation of pat-000001, found once the store is up
	} {
		b.Run(c.name, func(b *testing.B) {
			var reqs [3]*http.Request // open, enforced, open with the token's header
			for k, open := range []bool{true, false} {
				app := &App{Config: Config{Addr: "127.0.0.1:0", DB: filepath.Join(b.TempDir(), "f.db"), SeedPatients: benchPatients(b), Open: open}}
				if err := app.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer app.Close(context.Background())
				path := c.path
				if path == "" {
					res, err := app.Store.Search(context.Background(), fhirstore.SearchRequest{Type: "Observation",
						Params: url.Values{"patient": {"pat-000001"}, "_count": {"1"}}})
					if err != nil || len(res.Entries) == 0 {
						b.Fatal("no Observation for pat-000001", err)
					}
					path = "/Observation/" + res.Entries[0].ID
				}
				reqs[k], _ = http.NewRequest("GET", app.BaseURL+path, nil)
				if !open {
					t, err := app.Auth.MintToken(context.Background(), "confidential-app", "patient1", "pat-000001", "patient/*.rs")
					if err != nil {
						b.Fatal(err)
					}
					reqs[k].Header.Set("Authorization", "Bearer "+t["access_token"].(string))
					reqs[2] = reqs[0].Clone(context.Background())
					reqs[2].Header.Set("Authorization", reqs[k].Header.Get("Authorization"))
				}
			}
			var times [3][]time.Duration
			// One round: open, enforced, open with the header, enforced. The servers
			// alternate, and each gets half of the requests.
			round := []int{0, 1, 2, 1}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// The round starts at a rotating place, so that no arm always follows
				// another (whose leftover work, such as a decision-log write, it would pay).
				for j := range round {
					k := round[(i+j)%len(round)]
					req := reqs[k]
					start := time.Now()
					resp, err := http.DefaultClient.Do(req)
					if err != nil || resp.StatusCode != 200 {
						b.Fatal(err, resp.StatusCode)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					times[k] = append(times[k], time.Since(start))
				}
			}
			median := func(d []time.Duration) float64 {
				slices.Sort(d)
				return float64(d[len(d)/2].Nanoseconds()) / 1000
			}
			open, enforced, openHeader := median(times[0]), median(times[1]), median(times[2])
			b.ReportMetric(open, "open-µs")
			b.ReportMetric(enforced, "enforced-µs")
			b.ReportMetric(openHeader, "open+header-µs")
			b.ReportMetric(100*(enforced-open)/open, "overhead-%")
			b.ReportMetric(100*(enforced-openHeader)/openHeader, "enforcement-%")
		})
	}
}

// benchPatients is the population BenchmarkEnforcement seeds each server with:
// FHIRBOX_BENCH_PATIENTS, else 20 (about 4,000 resources).
func benchPatients(b *testing.B) int {
	if v := os.Getenv("FHIRBOX_BENCH_PATIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("FHIRBOX_BENCH_PATIENTS=%q: want a positive number", v)
		}
		return n
	}
	return 20
}
