package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"fhirbox/fhirstore"
)

// The CLI's token and launch commands give a user what curl and an EHR launch need.
// cliOn returns a runner of fhirbox commands on database db that fails the test when a
// command fails and returns what it printed.
func cliOn(t *testing.T, db string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(context.Background(), append(args, "--db", db), &out, &errb); err != nil {
			t.Fatalf("fhirbox %v: %v %s", args, err, errb.String())
		}
		return out.String()
	}
}

func TestCLITokenAndLaunch(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "f.db")
	cmd := cliOn(t, db)
	cmd("seed", "--patients", "2")
	// users and clients need the demo accounts a server start creates.
	app := &App{Config: Config{Addr: "127.0.0.1:0", DB: db}}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	app.Close(ctx)

	var tok map[string]any
	if err := json.Unmarshal([]byte(cmd("token", "--user", "patient1", "--patient", "pat-000001", "--scope", "patient/*.rs launch/patient")), &tok); err != nil {
		t.Fatal(err)
	}
	if tok["access_token"] == "" || tok["patient"] != "pat-000001" || tok["scope"] != "patient/*.rs launch/patient" || tok["expires_in"] == nil {
		t.Errorf("token response %v", tok)
	}
	u, err := url.Parse(strings.TrimSpace(cmd("launch", "--client", "sample-app", "--patient", "pat-000002")))
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/app/launch.html" || u.Query().Get("iss") != "http://localhost:8080/fhir" || len(u.Query().Get("launch")) < 16 {
		t.Errorf("launch URL %s", u)
	}
	if out := cmd("clients"); !strings.Contains(out, "backend-service") || !strings.Contains(out, "private_key_jwt") {
		t.Errorf("clients list: %s", out)
	}
	if key := cmd("clients", "key", "backend-service"); !strings.Contains(key, `"d"`) || !strings.Contains(key, `"kid"`) {
		t.Errorf("backend key is not a private JWK: %.80s", key)
	}
}

// --tls-self-signed serves HTTPS with TLS 1.2 at least, and discovery names https URLs.
func TestTLSSelfSigned(t *testing.T) {
	ctx := context.Background()
	app := &App{Config: Config{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "f.db"), NoSeed: true, TLSSelfSigned: true}}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	if !strings.HasPrefix(app.BaseURL, "https://") {
		t.Fatalf("base URL %s", app.BaseURL)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}}
	if _, err := (&http.Client{Transport: tr}).Get(app.BaseURL + "/metadata"); err == nil {
		t.Error("a TLS 1.1 client was accepted")
	}
	tr = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	resp, err := (&http.Client{Transport: tr}).Get(app.BaseURL + "/.well-known/smart-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || !strings.HasPrefix(cfg["token_endpoint"].(string), "https://") {
		t.Errorf("TLS %v, token endpoint %v", resp.TLS, cfg["token_endpoint"])
	}
}

// handlerTransport serves requests with a handler in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

var (
	cliHiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	cliScopeRE  = regexp.MustCompile(`name="scope" value="([^"]*)"`)
)

// fhirbox launch --intent --tenant --fhir-context: the app that redeems the launch gets
// that context in its token response, and the launch's user without a login page.
func TestLaunchCLIContext(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "f.db")
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"seed", "--patients", "2", "--db", db}, &out, &errb); err != nil {
		t.Fatalf("seed: %v %s", err, errb.String())
	}
	app := &App{Config: Config{Addr: "127.0.0.1:0", DB: db}}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	app.Close(ctx)

	// The flags as `fhirbox launch` defines them.
	launch := func(args ...string) (string, error) {
		t.Helper()
		var g globalFlags
		out.Reset()
		errb.Reset()
		fs := newFlagSet("launch", &g, &errb)
		o := addLaunchFlags(fs)
		if err := fs.Parse(append(args, "--db", db)); err != nil {
			return "", err
		}
		err := launchWith(ctx, g, o, &out, &errb)
		return strings.TrimSpace(out.String()), err
	}
	printed, err := launch("--client", "sample-app", "--patient", "pat-000002", "--user", "dr.smith", "--encounter", "enc-1",
		"--intent", "reconcile-medications", "--tenant", "org-42",
		"--fhir-context", "Observation/123",
		"--fhir-context", `[{"canonical":"http://example.org/Questionnaire/phq-9|2","type":"Questionnaire"},{"identifier":{"value":"d-1"},"type":"DocumentReference","role":"https://example.org/roles/source"}]`,
		"--fhir-context", `{"reference":"Patient/pat-000001","role":"https://example.org/roles/mother"}`)
	if err != nil {
		t.Fatalf("launch: %v %s", err, errb.String())
	}
	u, err := url.Parse(printed)
	if err != nil || u.Path != "/app/launch.html" || u.Query().Get("iss") != "http://localhost:8080/fhir" || len(u.Query().Get("launch")) != 32 {
		t.Fatalf("launch URL %q (%v)", printed, err)
	}

	// An app redeems the launch against the same database, in process.
	store, a, err := openAuth(ctx, globalFlags{db: db, addr: ":8080"}, &errb)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clients, err := a.ListClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	redirect := ""
	for _, c := range clients {
		if c.ID == "sample-app" {
			redirect = c.RedirectURIs[0]
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: handlerTransport{a.Handler()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := oauth2.GenerateVerifier()
	authz := url.Values{"response_type": {"code"}, "client_id": {"sample-app"}, "redirect_uri": {redirect}, "state": {"st"},
		"scope": {"launch openid fhirUser patient/*.rs"}, "aud": {"http://localhost:8080/fhir"}, "launch": {u.Query().Get("launch")},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	resp, err := c.Get("http://localhost:8080/auth/authorize?" + authz.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	consent := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(consent, "http://localhost:8080/auth/consent?req=") {
		t.Fatalf("authorize: %d to %q, want the consent page (no login: the launch has a user)", resp.StatusCode, consent)
	}
	resp, err = c.Get(consent)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Signed in as dr.smith.") {
		t.Fatalf("consent page %d: %s", resp.StatusCode, page)
	}
	form := url.Values{"decision": {"allow"}}
	for _, m := range cliHiddenRE.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range cliScopeRE.FindAllStringSubmatch(string(page), -1) {
		form.Add("scope", html.UnescapeString(m[1]))
	}
	resp, err = c.PostForm("http://localhost:8080/auth/consent", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || cb == nil || cb.Query().Get("code") == "" {
		t.Fatalf("consent: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.PostForm("http://localhost:8080/auth/token", url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {"sample-app"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	var wantContext any
	json.Unmarshal([]byte(`[{"reference":"Observation/123"},
		{"canonical":"http://example.org/Questionnaire/phq-9|2","type":"Questionnaire"},
		{"identifier":{"value":"d-1"},"type":"DocumentReference","role":"https://example.org/roles/source"},
		{"reference":"Patient/pat-000001","role":"https://example.org/roles/mother"}]`), &wantContext)
	if resp.StatusCode != 200 || tok["patient"] != "pat-000002" || tok["encounter"] != "enc-1" || tok["intent"] != "reconcile-medications" ||
		tok["tenant"] != "org-42" || !reflect.DeepEqual(tok["fhirContext"], wantContext) || tok["need_patient_banner"] != false {
		t.Fatalf("token response %d: %v", resp.StatusCode, tok)
	}

	// Bad items: the launch API's message, or the flag parser's.
	if _, err := launch("--fhir-context", "https://ehr.example/fhir/Observation/1"); err == nil ||
		err.Error() != `creating the launch: fhirContext[0]: reference "https://ehr.example/fhir/Observation/1" must be relative (Type/id), not absolute` {
		t.Errorf("absolute reference: %v", err)
	}
	if _, err := launch("--user", "nobody"); err == nil || err.Error() != "creating the launch: unknown user" {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := launch("--fhir-context", `[{"reference":`); err == nil || !strings.Contains(err.Error(), `invalid value "[{\"reference\":" for flag -fhir-context: not a JSON array`) {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestLaunchFHIRContextFlag(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
		err  string
	}{
		{in: []string{"Observation/123"}, want: `[{"reference":"Observation/123"}]`},
		{in: []string{"Observation/1", " ImagingStudy/2 "}, want: `[{"reference":"Observation/1"},{"reference":"ImagingStudy/2"}]`},
		{in: []string{`[{"reference":"Observation/1"},{"canonical":"http://x/Q|1"}]`, "Condition/c"},
			want: `[{"reference":"Observation/1"},{"canonical":"http://x/Q|1"},{"reference":"Condition/c"}]`},
		{in: []string{`{"identifier":{"value":"v"},"type":"DocumentReference"}`}, want: `[{"identifier":{"value":"v"},"type":"DocumentReference"}]`},
		{in: []string{`[]`}, want: ``},
		{in: []string{""}, err: "empty fhirContext item"},
		{in: []string{`{"reference":`}, err: `not a JSON object: {"reference":`},
		{in: []string{`[1,`}, err: "not a JSON array: unexpected end of JSON input"},
	} {
		var f fhirContextFlag
		var err error
		for _, v := range tc.in {
			if err = f.Set(v); err != nil {
				break
			}
		}
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || f.String() != tc.want {
			t.Errorf("%q: %s (%v), want %s", tc.in, f.String(), err, tc.want)
		}
	}
}

// TestCLISeedAndReindex: `fhirbox seed` loads with the indexes deferred and builds them at
// the end; `fhirbox reindex` rebuilds them; the store answers the same searches after each.
func TestCLISeedAndReindex(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "f.db")
	cmd := cliOn(t, db)
	if out := cmd("seed", "--patients", "3"); !strings.HasPrefix(out, "seeded 3 patients: ") {
		t.Errorf("seed says %q", out)
	}
	answers := func() string {
		t.Helper()
		store, err := fhirstore.Open(ctx, fhirstore.Options{Path: db})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		var b strings.Builder
		for _, q := range []url.Values{
			{"code": {"http://loinc.org|8867-4"}, "patient": {"pat-000001"}, "_summary": {"count"}},
			{"family": {"Wilson"}, "_summary": {"count"}},
			{"_summary": {"count"}},
		} {
			typ := "Observation"
			if q.Has("family") {
				typ = "Patient"
			}
			res, err := store.Search(ctx, fhirstore.SearchRequest{Type: typ, Params: q})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s?%s=%d ", typ, q.Encode(), *res.Total)
		}
		w, _ := store.DB()
		var n int
		w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'`).Scan(&n)
		fmt.Fprintf(&b, "indexes=%d", n)
		return b.String()
	}
	before := answers()
	if strings.Contains(before, "=0 ") {
		t.Fatalf("the seeded store finds nothing: %s", before)
	}
	// Lose the token and string rows, as a store indexed by other definitions would lack
	// rows: the searches must come back only through the re-index.
	store, err := fhirstore.Open(ctx, fhirstore.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := store.DB()
	for _, q := range []string{`DELETE FROM idx_token`, `DELETE FROM idx_string`} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	if lost := answers(); lost == before {
		t.Fatalf("deleting index rows changed no answer: %s", lost)
	}
	out := cmd("reindex")
	if !strings.HasPrefix(out, "re-indexed ") {
		t.Errorf("reindex says %q", out)
	}
	if after := answers(); after != before {
		t.Errorf("after reindex: %s, want %s", after, before)
	}
}
