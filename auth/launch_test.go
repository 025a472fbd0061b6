package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// postLaunch creates a launch context through the launch API.
func (e *env) postLaunch(t *testing.T, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(e.base+"/auth/launch", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("launch API answered %d with no JSON: %v", resp.StatusCode, err)
	}
	return resp, m
}

// newLaunch creates a launch and returns its id.
func (e *env) newLaunch(t *testing.T, body string) string {
	t.Helper()
	resp, m := e.postLaunch(t, body)
	id, _ := m["launch"].(string)
	if resp.StatusCode != http.StatusCreated || len(id) != 32 {
		t.Fatalf("launch: %d %v", resp.StatusCode, m)
	}
	return id
}

func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// wantExactly compares a decoded JSON object with want. Keys listed in random must be
// present as non-empty strings, whatever their value.
func wantExactly(t *testing.T, what string, got, want map[string]any, random ...string) {
	t.Helper()
	want = maps(want)
	for _, k := range random {
		if s, ok := got[k].(string); !ok || s == "" {
			t.Errorf("%s: %s = %v, want a non-empty string", what, k, got[k])
		}
		want[k] = got[k]
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: missing %s (want %v)", what, k, want[k])
			} else if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%s: %s = %#v, want %#v", what, k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: unexpected %s = %v", what, k, got[k])
			}
		}
	}
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// noFollow shares c's cookies but returns redirects instead of following them.
func noFollow(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, Timeout: c.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// authorizeURL is an authorization request with PKCE and aud.
func (e *env) authorizeURL(cfg *oauth2.Config, state, verifier string, opts ...oauth2.AuthCodeOption) string {
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", e.fhir)}, opts...)
	return cfg.AuthCodeURL(state, opts...)
}

// wantStep asserts that resp redirects to the auth server's page (consent, picker, login).
func (e *env) wantStep(t *testing.T, resp *http.Response, page string) {
	t.Helper()
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, e.base+"/auth/"+page+"?req=") {
		t.Fatalf("authorize: %d to %q, want 302 to the %s page", resp.StatusCode, loc, page)
	}
}

const (
	testFHIRContext = `[{"reference":"Observation/123"},
		{"canonical":"http://example.org/fhir/Questionnaire/phq-9|2.0","type":"Questionnaire"},
		{"identifier":{"system":"urn:oid:1.2.3","value":"doc-77"},"type":"DocumentReference","role":"https://example.org/fhir/roles/source"},
		{"reference":"Patient/pt9","role":"https://example.org/fhir/roles/mother"}]`
	fullLaunch = `{"client_id":"public-app","patient":"pt5","encounter":"enc9","user":"doc",
		"fhirContext":` + testFHIRContext + `,"intent":"reconcile-medications","tenant":"org-42"}`
)

// An EHR launch with a user, patient, encounter, fhirContext, intent and tenant: no
// login page; the token response, its refreshes and introspection carry exactly that
// context; the JWT access token carries fhirContext next to patient and encounter.
func TestEHRLaunchContext(t *testing.T) {
	for _, format := range []string{"jwt", "opaque"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, format)
			ctx := context.Background()
			launch := e.newLaunch(t, fullLaunch)
			scope := "launch openid fhirUser patient/*.rs offline_access"
			cfg := e.oauth("public-app", strings.Fields(scope)...)
			c := browser(t)
			verifier := oauth2.GenerateVerifier()
			resp, err := noFollow(c).Get(e.authorizeURL(cfg, "st-ehr", verifier, oauth2.SetAuthURLParam("launch", launch)))
			if err != nil {
				t.Fatal(err)
			}
			e.wantStep(t, resp, "consent") // not the login page: the EHR authenticated doc
			resp, err = c.Get(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), `action="`+e.base+`/auth/consent"`) ||
				!strings.Contains(string(body), "Signed in as doc.") || strings.Contains(string(body), `name="password"`) {
				t.Fatalf("consent page: %d %s", resp.StatusCode, body)
			}
			resp.Body = io.NopCloser(strings.NewReader(string(body)))
			f := &flow{}
			q := f.run(t, c, resp).Query()
			if f.sawLogin || f.sawPicker || strings.Join(f.sawConsent, " ") != scope || q.Get("state") != "st-ehr" || q.Get("code") == "" {
				t.Fatalf("flow: login=%v picker=%v consent=%v callback=%v", f.sawLogin, f.sawPicker, f.sawConsent, q)
			}

			resp, tok := e.post(t, "/auth/token", e.exchangeForm(q.Get("code"), verifier, "public-app"), "")
			if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("exchange: %d %v", resp.StatusCode, tok)
			}
			fullContext := map[string]any{
				"patient": "pt5", "encounter": "enc9", "fhirContext": jsonValue(t, testFHIRContext),
				"intent": "reconcile-medications", "tenant": "org-42",
				"need_patient_banner": false, "smart_style_url": e.base + "/auth/smart-style.json",
			}
			want := maps(fullContext)
			want["token_type"], want["expires_in"], want["scope"] = "Bearer", float64(3600), scope
			wantExactly(t, "token response", tok, want, "access_token", "refresh_token", "id_token")

			// The id_token is doc's: the launch's user is the authenticated user.
			idt, err := jwt.ParseSigned(tok["id_token"].(string), []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			var idc idTokenClaims
			if err := idt.Claims(e.srv.idKey.public(), &idc); err != nil || idc.Subject != "doc" || idc.FHIRUser != e.fhir+"/Practitioner/p1" {
				t.Fatalf("id_token: %v %+v", err, idc)
			}
			access := tok["access_token"].(string)
			if format == "jwt" {
				at, err := jwt.ParseSigned(access, []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Fatal(err)
				}
				var claims map[string]any
				if err := at.Claims(e.srv.accessKey.public(), &claims); err != nil {
					t.Fatal(err)
				}
				if claims["patient"] != "pt5" || claims["encounter"] != "enc9" || !reflect.DeepEqual(claims["fhirContext"], fullContext["fhirContext"]) ||
					claims["fhirUser"] != "Practitioner/p1" || claims["sub"] != "doc" {
					t.Fatalf("JWT claims %v", claims)
				}
			} else if strings.Contains(access, ".") {
				t.Fatalf("opaque token %q", access)
			}
			g, err := e.srv.ResolveToken(ctx, access)
			if err != nil || g.Patient != "pt5" || g.Encounter != "enc9" || g.User != "Practitioner/p1" || len(g.FHIRContext) != 4 ||
				g.FHIRContext[0].Reference != "Observation/123" || g.FHIRContext[2].Role != "https://example.org/fhir/roles/source" ||
				string(g.FHIRContext[2].Identifier) != `{"system":"urn:oid:1.2.3","value":"doc-77"}` {
				t.Fatalf("grant: %v %+v", err, g)
			}
			g.FHIRContext[0].Reference = "changed"
			if g2, _ := e.srv.ResolveToken(ctx, access); g2.FHIRContext[0].Reference != "Observation/123" {
				t.Fatal("a caller changed the cached grant")
			}

			introspect := func(what, token, scope string) {
				t.Helper()
				resp, m := e.post(t, "/auth/introspect", url.Values{"token": {token}}, "conf-app:s3cret")
				want := maps(fullContext)
				for k, v := range map[string]any{"active": true, "scope": scope, "client_id": "public-app", "sub": "doc", "username": "doc",
					"iss": e.fhir, "aud": e.fhir, "token_type": "Bearer", "fhirUser": e.fhir + "/Practitioner/p1"} {
					want[k] = v
				}
				exp, _ := m["exp"].(float64)
				iat, _ := m["iat"].(float64)
				if resp.StatusCode != 200 || exp-iat != 3600 {
					t.Fatalf("%s: %d exp %v iat %v", what, resp.StatusCode, m["exp"], m["iat"])
				}
				want["exp"], want["iat"] = m["exp"], m["iat"]
				wantExactly(t, what, m, want)
			}
			introspect("introspection", access, scope)

			// Refresh without scope: the same context. x/oauth2 refreshes as an app would.
			cfgTok := &oauth2.Token{RefreshToken: tok["refresh_token"].(string)}
			refreshed, err := cfg.TokenSource(ctx, cfgTok).Token()
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range fullContext {
				if got := refreshed.Extra(k); !reflect.DeepEqual(got, v) {
					t.Errorf("refresh: %s = %#v, want %#v", k, got, v)
				}
			}
			refresh := func(rt, scope string) map[string]any {
				t.Helper()
				f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"public-app"}}
				if scope != "" {
					f.Set("scope", scope)
				}
				resp, m := e.post(t, "/auth/token", f, "")
				if resp.StatusCode != 200 {
					t.Fatalf("refresh: %d %v", resp.StatusCode, m)
				}
				return m
			}
			m := refresh(refreshed.RefreshToken, "")
			want = maps(fullContext)
			want["token_type"], want["expires_in"], want["scope"] = "Bearer", float64(3600), scope
			wantExactly(t, "refresh response", m, want, "access_token", "refresh_token", "id_token")
			introspect("introspection after refresh", m["access_token"].(string), scope)

			// Narrowed without launch: the EHR context is left out, the patient stays for
			// patient/ scopes...
			m = refresh(m["refresh_token"].(string), "patient/*.rs offline_access")
			wantExactly(t, "narrowed refresh", m, map[string]any{"token_type": "Bearer", "expires_in": float64(3600),
				"scope": "patient/*.rs offline_access", "patient": "pt5", "need_patient_banner": false,
				"smart_style_url": e.base + "/auth/smart-style.json"}, "access_token", "refresh_token")
			resp, im := e.post(t, "/auth/introspect", url.Values{"token": {m["access_token"].(string)}}, "conf-app:s3cret")
			if resp.StatusCode != 200 || im["patient"] != "pt5" || im["encounter"] != nil || im["fhirContext"] != nil || im["intent"] != nil || im["tenant"] != nil {
				t.Fatalf("narrowed introspection: %v", im)
			}
			// ...and the next full refresh has all of it again: refresh tokens keep the grant.
			m = refresh(m["refresh_token"].(string), "")
			want = maps(fullContext)
			want["token_type"], want["expires_in"], want["scope"] = "Bearer", float64(3600), scope
			wantExactly(t, "full refresh after a narrowed one", m, want, "access_token", "refresh_token", "id_token")
		})
	}
}

// fhirContext appears only when there is some; intent and tenant alone work.
func TestEHRLaunchWithoutFHIRContext(t *testing.T) {
	e := newEnv(t, "jwt")
	launch := e.newLaunch(t, `{"client_id":"public-app","patient":"pt2","user":"doc","intent":"order-review","fhirContext":[]}`)
	cfg := e.oauth("public-app", "launch", "patient/*.rs")
	tok := e.token(t, cfg, &flow{}, oauth2.SetAuthURLParam("launch", launch))
	if tok.Extra("fhirContext") != nil || tok.Extra("tenant") != nil || tok.Extra("encounter") != nil || tok.Extra("intent") != "order-review" ||
		tok.Extra("patient") != "pt2" || tok.Extra("need_patient_banner") != false {
		t.Fatalf("token: fhirContext=%v tenant=%v intent=%v patient=%v", tok.Extra("fhirContext"), tok.Extra("tenant"), tok.Extra("intent"), tok.Extra("patient"))
	}
	at, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := at.Claims(e.srv.accessKey.public(), &claims); err != nil {
		t.Fatal(err)
	}
	if _, ok := claims["fhirContext"]; ok || claims["patient"] != "pt2" {
		t.Fatalf("JWT claims %v", claims)
	}
	// Without the launch scope the app gets no EHR context at all (the user is still the
	// launch's: no login page).
	launch = e.newLaunch(t, fullLaunch)
	f := &flow{}
	tok = e.token(t, e.oauth("public-app", "openid", "fhirUser", "user/*.rs"), f, oauth2.SetAuthURLParam("launch", launch))
	for _, k := range []string{"patient", "encounter", "fhirContext", "intent", "tenant"} {
		if tok.Extra(k) != nil {
			t.Errorf("no launch scope, yet %s = %v", k, tok.Extra(k))
		}
	}
	if f.sawLogin || tok.Extra("need_patient_banner") != false {
		t.Fatalf("login=%v banner=%v", f.sawLogin, tok.Extra("need_patient_banner"))
	}
}

// The launch's user wins over another user's browser session, for that authorization
// only; a launch without a user still asks for a login; a launch without a patient
// still shows the picker, and then the app shows the banner.
func TestEHRLaunchUser(t *testing.T) {
	e := newEnv(t, "jwt")
	c := browser(t)
	standalone := e.oauth("public-app", "openid", "fhirUser", "launch/patient", "patient/*.rs")
	verifier := oauth2.GenerateVerifier()
	resp, err := c.Get(e.authorizeURL(standalone, "st-1", verifier))
	if err != nil {
		t.Fatal(err)
	}
	f := &flow{user: "pat", pass: "patpass"}
	if q := f.run(t, c, resp).Query(); q.Get("code") == "" || !f.sawLogin {
		t.Fatalf("standalone login: %v login=%v", q, f.sawLogin)
	}

	// The browser is pat's; the EHR launches for doc.
	launch := e.newLaunch(t, `{"client_id":"public-app","patient":"pt5","user":"doc"}`)
	ehr := e.oauth("public-app", "launch", "openid", "fhirUser", "patient/*.rs")
	verifier = oauth2.GenerateVerifier()
	resp, err = noFollow(c).Get(e.authorizeURL(ehr, "st-2", verifier, oauth2.SetAuthURLParam("launch", launch)))
	if err != nil {
		t.Fatal(err)
	}
	e.wantStep(t, resp, "consent")
	consentURL := resp.Header.Get("Location")
	// The login page of a launch-authenticated request moves on instead of asking.
	resp, err = noFollow(c).Get(strings.Replace(consentURL, "/auth/consent?", "/auth/login?", 1))
	if err != nil {
		t.Fatal(err)
	}
	e.wantStep(t, resp, "consent")
	resp, err = c.Get(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	f = &flow{}
	q := f.run(t, c, resp).Query()
	if f.sawLogin || q.Get("code") == "" {
		t.Fatalf("EHR launch: login=%v %v", f.sawLogin, q)
	}
	tok, err := ehr.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if sub, fhirUser := idTokenSubject(t, e, tok); sub != "doc" || fhirUser != e.fhir+"/Practitioner/p1" || tok.Extra("patient") != "pt5" {
		t.Fatalf("EHR launch token: sub %s fhirUser %s patient %v", sub, fhirUser, tok.Extra("patient"))
	}

	// The browser session is still pat's: a standalone request goes straight to consent
	// as pat, and gets pat's patient.
	verifier = oauth2.GenerateVerifier()
	resp, err = noFollow(c).Get(e.authorizeURL(standalone, "st-3", verifier))
	if err != nil {
		t.Fatal(err)
	}
	e.wantStep(t, resp, "consent")
	resp, _ = c.Get(resp.Header.Get("Location"))
	f = &flow{}
	q = f.run(t, c, resp).Query()
	tok, err = standalone.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if sub, _ := idTokenSubject(t, e, tok); sub != "pat" || tok.Extra("patient") != "pt3" || f.sawLogin {
		t.Fatalf("after the launch: sub %s patient %v login=%v", sub, tok.Extra("patient"), f.sawLogin)
	}

	// No user in the launch: the login page, as before.
	launch = e.newLaunch(t, `{"client_id":"public-app","patient":"pt5"}`)
	resp, err = noFollow(browser(t)).Get(e.authorizeURL(ehr, "st-4", oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("launch", launch)))
	if err != nil {
		t.Fatal(err)
	}
	e.wantStep(t, resp, "login")

	// A user but no patient: the picker, no login; the EHR does not show the picked
	// patient, so the app should show a banner.
	launch = e.newLaunch(t, `{"client_id":"public-app","user":"doc"}`)
	f = &flow{patient: "pt7"}
	tok = e.token(t, e.oauth("public-app", "launch", "launch/patient", "patient/*.rs"), f, oauth2.SetAuthURLParam("launch", launch))
	if f.sawLogin || !f.sawPicker || tok.Extra("patient") != "pt7" || tok.Extra("need_patient_banner") != true {
		t.Fatalf("picker launch: login=%v picker=%v patient=%v banner=%v", f.sawLogin, f.sawPicker, tok.Extra("patient"), tok.Extra("need_patient_banner"))
	}
	// need_patient_banner from the EHR: it shows no banner of its own.
	launch = e.newLaunch(t, `{"client_id":"public-app","user":"doc","patient":"pt4","need_patient_banner":true}`)
	tok = e.token(t, e.oauth("public-app", "launch", "patient/*.rs"), &flow{}, oauth2.SetAuthURLParam("launch", launch))
	if tok.Extra("patient") != "pt4" || tok.Extra("need_patient_banner") != true {
		t.Fatalf("EHR without banner: %v %v", tok.Extra("patient"), tok.Extra("need_patient_banner"))
	}
	// A launch bound to another client is refused, user or not.
	launch = e.newLaunch(t, `{"client_id":"other-app","user":"doc"}`)
	resp, err = noFollow(browser(t)).Get(e.authorizeURL(ehr, "st-5", oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("launch", launch)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "st-5" || loc.Query().Get("code") != "" {
		t.Fatalf("other client's launch: %d %s", resp.StatusCode, loc)
	}
}

func idTokenSubject(t *testing.T, e *env, tok *oauth2.Token) (string, string) {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("id_token: %v", err)
	}
	var c idTokenClaims
	if err := parsed.Claims(e.srv.idKey.public(), &c); err != nil {
		t.Fatal(err)
	}
	return c.Subject, c.FHIRUser
}

func countLaunches(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.srv.db.QueryRow(`SELECT COUNT(*) FROM auth_launches`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Bad launch requests get a 400 invalid_request that says what is wrong, and store nothing.
func TestLaunchValidation(t *testing.T) {
	e := newEnv(t, "jwt")
	fc := func(item string) string { return `{"client_id":"public-app","fhirContext":[` + item + `]}` }
	many := strings.TrimSuffix(strings.Repeat(`{"reference":"Observation/1"},`, 21), ",")
	for _, tc := range []struct{ name, body, desc string }{
		{"absolute reference", fc(`{"reference":"https://ehr.example/fhir/Observation/1"}`),
			`fhirContext[0]: reference "https://ehr.example/fhir/Observation/1" must be relative (Type/id), not absolute`},
		{"urn reference", fc(`{"reference":"urn:uuid:0b8a6b1c-2f4d-4e55-9d3a-1c2b3d4e5f60"}`),
			`fhirContext[0]: reference "urn:uuid:0b8a6b1c-2f4d-4e55-9d3a-1c2b3d4e5f60" must be relative (Type/id), not absolute`},
		{"empty role", fc(`{"reference":"Observation/1","role":""}`), `fhirContext[0]: role must not be "" (leave it out for the launch role)`},
		{"relative role", fc(`{"reference":"Observation/1","role":"source"}`), `fhirContext[0]: role "source" must be an absolute URI (or launch)`},
		{"unknown type in reference", `{"fhirContext":[{"reference":"Observation/1"},{"reference":"Observervation/1"}]}`,
			`fhirContext[1]: reference "Observervation/1" names "Observervation", which is not an R4 resource type`},
		{"unknown type", fc(`{"canonical":"http://example.org/Questionnaire/q","type":"Questionaire"}`),
			`fhirContext[0]: type "Questionaire" is not an R4 resource type`},
		{"abstract type", fc(`{"identifier":{"value":"1"},"type":"DomainResource"}`), `fhirContext[0]: type "DomainResource" is not an R4 resource type`},
		{"type mismatch", fc(`{"reference":"Observation/1","type":"Condition"}`), `fhirContext[0]: type "Condition" does not match reference "Observation/1"`},
		{"bad id", fc(`{"reference":"Observation/a_b"}`), `fhirContext[0]: reference "Observation/a_b" must be Type/id with an id of up to 64 of [A-Za-z0-9-.]`},
		{"long id", fc(`{"reference":"Observation/` + strings.Repeat("1", 65) + `"}`),
			`fhirContext[0]: reference "Observation/` + strings.Repeat("1", 65) + `" must be Type/id with an id of up to 64 of [A-Za-z0-9-.]`},
		{"no target", fc(`{"type":"Observation"}`), `fhirContext[0]: needs at least one of reference, canonical or identifier`},
		{"empty object", fc(`{}`), `fhirContext[0]: needs at least one of reference, canonical or identifier`},
		{"empty reference", fc(`{"reference":""}`), `fhirContext[0]: reference must not be empty`},
		{"string item", fc(`"Observation/1"`), `fhirContext[0]: must be an object`},
		{"null item", fc(`null`), `fhirContext[0]: must be an object`},
		{"number reference", fc(`{"reference":12}`), `fhirContext[0]: reference must be a string`},
		{"unknown member", fc(`{"reference":"Observation/1","refrence":"x"}`), `fhirContext[0]: unknown field "refrence"`},
		{"relative canonical", fc(`{"canonical":"Questionnaire/q1"}`),
			`fhirContext[0]: canonical "Questionnaire/q1" must be an absolute http(s) URL, optionally with |version`},
		{"empty version", fc(`{"canonical":"http://example.org/Questionnaire/q1|"}`),
			`fhirContext[0]: canonical "http://example.org/Questionnaire/q1|" must be an absolute http(s) URL, optionally with |version`},
		{"string identifier", fc(`{"identifier":"doc-77"}`), `fhirContext[0]: identifier must be an Identifier object with a system or value`},
		{"empty identifier", fc(`{"identifier":{"use":"official"}}`), `fhirContext[0]: identifier must be an Identifier object with a system or value`},
		{"number identifier value", fc(`{"identifier":{"value":77}}`), `fhirContext[0]: identifier.value must be a string`},
		{"patient in launch role", fc(`{"reference":"Patient/pt1"}`),
			`fhirContext[0]: Patient in the launch role belongs in the patient parameter, not fhirContext; or give the item another role`},
		{"encounter in explicit launch role", fc(`{"identifier":{"value":"v1"},"type":"Encounter","role":"launch"}`),
			`fhirContext[0]: Encounter in the launch role belongs in the encounter parameter, not fhirContext; or give the item another role`},
		{"too many items", `{"fhirContext":[` + many + `]}`, `fhirContext has 21 items; at most 20 are allowed`},
		{"too large", `{"intent":"` + strings.Repeat("x", 4100) + `"}`,
			`fhirContext, intent and tenant take 4113 bytes of JSON; at most 4096 fit in an access token`},
		{"fhirContext object", `{"fhirContext":{"reference":"Observation/1"}}`, `fhirContext must be an array, not a JSON object`},
		{"intent number", `{"intent":5}`, `intent must be a string, not a JSON number`},
		{"tenant array", `{"tenant":["a"]}`, `tenant must be a string, not a JSON array`},
		{"banner string", `{"need_patient_banner":"yes"}`, `need_patient_banner must be a boolean, not a JSON string`},
		{"unknown user", `{"client_id":"public-app","user":"nobody"}`, `unknown user`},
		{"unknown patient", `{"client_id":"public-app","patient":"pt999"}`, `unknown patient`},
		{"unknown client", `{"client_id":"nope"}`, `unknown client_id`},
		{"not JSON", `{"patient":`, `malformed JSON`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := countLaunches(t, e)
			resp, m := e.postLaunch(t, tc.body)
			wantOAuthError(t, resp, m, http.StatusBadRequest, "invalid_request")
			if m["error_description"] != tc.desc || len(m) != 2 {
				t.Errorf("error_description %q\n                 want %q (%v)", m["error_description"], tc.desc, m)
			}
			if after := countLaunches(t, e); after != before {
				t.Errorf("a rejected launch was stored: %d launches, had %d", after, before)
			}
		})
	}
	// Valid edge cases: a versioned reference, a Patient in another role, an explicit
	// launch role, 20 items.
	twenty := strings.TrimSuffix(strings.Repeat(`{"reference":"Observation/1"},`, 20), ",")
	for _, body := range []string{
		fc(`{"reference":"Observation/o-1.2/_history/3"},{"reference":"Patient/pt1","role":"https://example.org/roles/mother"}`),
		fc(`{"reference":"ImagingStudy/1","type":"ImagingStudy","role":"launch"},{"canonical":"https://example.org/PlanDefinition/p"}`),
		`{"fhirContext":[` + twenty + `]}`,
	} {
		if resp, m := e.postLaunch(t, body); resp.StatusCode != http.StatusCreated || len(m["launch"].(string)) != 32 {
			t.Errorf("%s: %d %v", body, resp.StatusCode, m)
		}
	}
}

// Databases created before launch context columns existed are migrated in place; their
// launches, codes and tokens keep working.
func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE auth_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		migrations[0],
		`INSERT INTO auth_migrations(version, applied_at) VALUES (1, 0)`,
		`INSERT INTO auth_launches(id, client_id, patient, encounter, user, expires_at) VALUES ('old-launch', '', 'pt1', 'enc1', '', 4102444800)`,
		`INSERT INTO auth_tokens(id, hash, grant_id, client_id, patient, scope, issued_at, expires_at) VALUES ('t1', 'h', 'g', 'c', 'pt1', 'patient/*.rs', 0, 4102444800)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	srv, err := New(context.Background(), Config{DB: db, FHIRBaseURL: "http://x/fhir", AuthBaseURL: "http://x/auth"})
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := db.QueryRow(`SELECT MAX(version) FROM auth_migrations`).Scan(&version); err != nil || version != len(migrations) || version != 2 {
		t.Fatalf("migrated to %d (%v)", version, err)
	}
	lc, err := srv.loadLaunch(context.Background(), "old-launch")
	if err != nil || lc.Patient != "pt1" || lc.Encounter != "enc1" || !lc.Extra.empty() || lc.NeedBanner {
		t.Fatalf("old launch: %v %+v", err, lc)
	}
	tr, err := scanToken(db.QueryRow(`SELECT ` + tokenCols + ` FROM auth_tokens WHERE id = 't1'`))
	if err != nil || tr.ctx.patient != "pt1" || !tr.ctx.extra.empty() {
		t.Fatalf("old token: %v %+v", err, tr)
	}
	// A second start finds nothing to do.
	if _, err := New(context.Background(), Config{DB: db, FHIRBaseURL: "http://x/fhir", AuthBaseURL: "http://x/auth"}); err != nil {
		t.Fatal(err)
	}
}

func corsRequest(t *testing.T, method, u, origin, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if method == http.MethodOptions {
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// The token, introspection and revocation endpoints allow the origins of registered
// redirect URIs only; discovery, JWKS and registration stay open to any origin.
func TestTokenEndpointCORS(t *testing.T) {
	e := newEnv(t, "jwt")
	ctx := context.Background()
	if err := e.srv.CreateClient(ctx, Client{ID: "spa", Public: true, RedirectURIs: []string{"https://App.Example:443/callback?x=1", "com.example.app:/cb"}}); err != nil {
		t.Fatal(err)
	}
	appOrigin := e.base // origin of e.redirect, registered by public-app and others
	wantAllowed := func(what string, resp *http.Response, origin string, status int) {
		t.Helper()
		h := resp.Header
		if resp.StatusCode != status || h.Get("Access-Control-Allow-Origin") != origin || h.Get("Vary") != "Origin" ||
			h.Get("Access-Control-Expose-Headers") != "WWW-Authenticate" {
			t.Errorf("%s: %d, Allow-Origin %q, Vary %q, Expose %q; want %d and %s", what, resp.StatusCode,
				h.Get("Access-Control-Allow-Origin"), h.Get("Vary"), h.Get("Access-Control-Expose-Headers"), status, origin)
		}
	}
	wantRefused := func(what string, resp *http.Response, status int) {
		t.Helper()
		h := resp.Header
		if resp.StatusCode != status || h.Values("Access-Control-Allow-Origin") != nil || h.Values("Access-Control-Allow-Methods") != nil ||
			h.Values("Access-Control-Expose-Headers") != nil || h.Get("Vary") != "Origin" {
			t.Errorf("%s: %d, CORS headers %v; want %d and none", what, resp.StatusCode, h, status)
		}
	}

	// A real code exchange from the app's origin: the response is readable.
	code, v := e.codeFor(t, "public-app", "patient/*.rs")
	resp := corsRequest(t, http.MethodPost, e.base+"/auth/token", appOrigin, e.exchangeForm(code, v, "public-app").Encode())
	wantAllowed("token from the app origin", resp, appOrigin, 200)
	// Errors too, whatever the client: an app must read invalid_client.
	bad := url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "client_id": {"nobody"}}.Encode()
	wantAllowed("token error", corsRequest(t, http.MethodPost, e.base+"/auth/token", appOrigin, bad), appOrigin, 401)
	// Default port, upper case in the registration: same origin.
	wantAllowed("normalised origin", corsRequest(t, http.MethodPost, e.base+"/auth/token", "https://app.example", bad), "https://app.example", 401)
	// Preflight from a registered origin.
	resp = corsRequest(t, http.MethodOptions, e.base+"/auth/token", appOrigin, "")
	wantAllowed("preflight", resp, appOrigin, 204)
	if resp.Header.Get("Access-Control-Allow-Methods") != "POST, OPTIONS" || resp.Header.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, Accept" ||
		resp.Header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight headers %v", resp.Header)
	}
	// Foreign origins: no Allow-Origin, the request itself is still answered.
	for _, origin := range []string{"https://evil.example", "null", appOrigin + "/cb", "http://app.example", "https://app.example:8443", "com.example.app:"} {
		wantRefused("token from "+origin, corsRequest(t, http.MethodPost, e.base+"/auth/token", origin, bad), 401)
		wantRefused("preflight from "+origin, corsRequest(t, http.MethodOptions, e.base+"/auth/token", origin, ""), 204)
	}
	wantRefused("no Origin", corsRequest(t, http.MethodPost, e.base+"/auth/token", "", bad), 401)
	// A client registered while the server runs counts at once.
	if err := e.srv.CreateClient(ctx, Client{ID: "late", Public: true, RedirectURIs: []string{"http://late.example:3000/cb"}}); err != nil {
		t.Fatal(err)
	}
	wantAllowed("new client's origin", corsRequest(t, http.MethodOptions, e.base+"/auth/token", "http://late.example:3000", ""), "http://late.example:3000", 204)

	// Introspection and revocation share the rule.
	tok, err := e.srv.MintToken(ctx, "public-app", "doc", "", "user/*.rs")
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"token": {tok["access_token"].(string)}, "client_id": {"public-app"}}.Encode()
	introspect := url.Values{"token": {tok["access_token"].(string)}}.Encode()
	wantAllowed("introspect preflight", corsRequest(t, http.MethodOptions, e.base+"/auth/introspect", appOrigin, ""), appOrigin, 204)
	wantRefused("introspect foreign", corsRequest(t, http.MethodPost, e.base+"/auth/introspect", "https://evil.example", introspect), 401)
	wantAllowed("introspect", corsRequest(t, http.MethodPost, e.base+"/auth/introspect", appOrigin, introspect), appOrigin, 401)
	wantRefused("revoke foreign", corsRequest(t, http.MethodPost, e.base+"/auth/revoke", "https://evil.example", form), 200)
	wantAllowed("revoke", corsRequest(t, http.MethodPost, e.base+"/auth/revoke", appOrigin, form), appOrigin, 200)

	// Discovery, JWKS and registration answer any origin with *.
	for _, u := range []string{e.fhir + "/.well-known/smart-configuration", e.fhir + "/.well-known/openid-configuration", e.base + "/auth/jwks"} {
		if resp := corsRequest(t, http.MethodGet, u, "https://evil.example", ""); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: %d Allow-Origin %q", u, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	if resp := corsRequest(t, http.MethodOptions, e.base+"/auth/register", "https://new-app.example", ""); resp.StatusCode != 204 ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("register preflight: %d %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestOriginOf(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example/cb":          "https://app.example",
		"HTTPS://App.Example:443/cb?x#y":  "https://app.example",
		"http://app.example:80/":          "http://app.example",
		"http://app.example:8080":         "http://app.example:8080",
		"https://app.example:80/cb":       "https://app.example:80",
		"http://[::1]:3000/cb":            "http://[::1]:3000",
		"com.example.app:/oauth/callback": "",
		"https://user:pw@app.example/cb":  "",
		"/relative/cb":                    "",
		"null":                            "",
		"ftp://files.example/cb":          "",
	} {
		got, ok := originOf(in)
		if got != want || ok != (want != "") {
			t.Errorf("originOf(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func ExampleFHIRContextItem() {
	items, err := parseFHIRContext([]json.RawMessage{
		json.RawMessage(`{"reference":"Observation/123"}`),
		json.RawMessage(`{"canonical":"http://example.org/Questionnaire/q|1","type":"Questionnaire"}`),
	})
	b, _ := json.Marshal(items)
	fmt.Println(string(b), err)
	// Output: [{"reference":"Observation/123"},{"canonical":"http://example.org/Questionnaire/q|1","type":"Questionnaire"}] <nil>
}

// TestLaunchUserOnlyFromThisMachine: a launch naming a user skips that user's password, so
// over HTTP only a loopback caller may create one; a launch without a user stays open.
func TestLaunchUserOnlyFromThisMachine(t *testing.T) {
	e := newEnv(t, "jwt")
	for _, c := range []struct {
		remote, body string
		want         int
	}{
		{"203.0.113.7:5000", `{"client_id":"public-app","patient":"pt5","user":"doc"}`, http.StatusForbidden},
		{"[2001:db8::1]:5000", `{"client_id":"public-app","user":"doc"}`, http.StatusForbidden},
		{"203.0.113.7:5000", `{"client_id":"public-app","patient":"pt5"}`, http.StatusCreated},
		{"127.0.0.1:5000", `{"client_id":"public-app","patient":"pt5","user":"doc"}`, http.StatusCreated},
		{"[::1]:5000", `{"client_id":"public-app","user":"doc"}`, http.StatusCreated},
	} {
		req := httptest.NewRequest("POST", "/auth/launch", strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = c.remote
		rec := httptest.NewRecorder()
		e.srv.handleLaunch(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.remote, c.body, rec.Code, rec.Body, c.want)
		}
		if c.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), `"error":"access_denied"`) {
			t.Errorf("%s: body %s, want access_denied", c.remote, rec.Body)
		}
	}
}
