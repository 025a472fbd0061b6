package auth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func getJSON(t *testing.T, u, accept string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: not JSON: %v", u, err)
	}
	return resp, m
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t, "jwt")
	for _, accept := range []string{"", "application/json", "text/html"} {
		resp, m := getJSON(t, e.fhir+"/.well-known/smart-configuration", accept)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("smart-configuration: %d %v", resp.StatusCode, resp.Header)
		}
		if m["issuer"] != e.fhir || m["jwks_uri"] != e.base+"/auth/jwks" || m["authorization_endpoint"] != e.base+"/auth/authorize" ||
			m["token_endpoint"] != e.base+"/auth/token" || m["introspection_endpoint"] != e.base+"/auth/introspect" ||
			m["revocation_endpoint"] != e.base+"/auth/revoke" || m["registration_endpoint"] != e.base+"/auth/register" {
			t.Fatalf("endpoints: %v", m)
		}
		if got := strings.Join(strs(m["code_challenge_methods_supported"]), ","); got != "S256" {
			t.Fatalf("code_challenge_methods_supported = %s", got)
		}
		if got := strings.Join(strs(m["grant_types_supported"]), ","); got != "authorization_code,client_credentials,refresh_token" {
			t.Fatalf("grant types %s", got)
		}
		if got := strings.Join(strs(m["token_endpoint_auth_signing_alg_values_supported"]), ","); got != "RS384,ES384,RS256,ES256" {
			t.Fatalf("algs %s", got)
		}
		caps := strs(m["capabilities"])
		for _, c := range []string{"launch-ehr", "launch-standalone", "authorize-post", "client-public", "client-confidential-symmetric",
			"client-confidential-asymmetric", "sso-openid-connect", "context-banner", "context-style", "context-ehr-patient",
			"context-standalone-patient", "permission-offline", "permission-patient", "permission-user", "permission-v1", "permission-v2"} {
			if !hasScope(caps, c) {
				t.Errorf("capability %s missing", c)
			}
		}
	}
	resp, m := getJSON(t, e.fhir+"/.well-known/openid-configuration", "text/html")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || m["issuer"] != e.fhir ||
		m["jwks_uri"] != e.base+"/auth/jwks" || strs(m["id_token_signing_alg_values_supported"])[0] != "RS256" ||
		strs(m["subject_types_supported"])[0] != "public" || strs(m["response_types_supported"])[0] != "code" {
		t.Fatalf("openid-configuration: %v", m)
	}
	// CORS preflight
	req, _ := http.NewRequest(http.MethodOptions, e.fhir+"/.well-known/smart-configuration", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	pre, _ := http.DefaultClient.Do(req)
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight %d", pre.StatusCode)
	}
	// smart_style_url document
	if resp, m := getJSON(t, e.base+"/auth/smart-style.json", ""); resp.StatusCode != 200 || m["color_background"] == nil {
		t.Fatalf("smart style %v", m)
	}
	// JWKS
	resp, m = getJSON(t, e.base+"/auth/jwks", "")
	// Both public keys: RSA for id_tokens, P-256 for access tokens.
	keys, _ := m["keys"].([]any)
	if resp.StatusCode != 200 || len(keys) != 2 {
		t.Fatalf("jwks %v", m)
	}
	k, ec := keys[0].(map[string]any), keys[1].(map[string]any)
	if k["kty"] != "RSA" || k["kid"] != e.srv.idKey.kid || k["alg"] != "RS256" || k["use"] != "sig" || k["n"] == nil || k["e"] == nil || k["d"] != nil {
		t.Fatalf("jwks RSA key %v", k)
	}
	if ec["kty"] != "EC" || ec["crv"] != "P-256" || ec["kid"] != e.srv.accessKey.kid || ec["alg"] != "ES256" || ec["use"] != "sig" ||
		ec["x"] == nil || ec["y"] == nil || ec["d"] != nil || ec["kid"] == k["kid"] {
		t.Fatalf("jwks EC key %v", ec)
	}
}

// noRedirect returns the first response without following redirects.
func noRedirect() *http.Client {
	c := browser(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func TestAuthorizeErrors(t *testing.T) {
	e := newEnv(t, "jwt")
	ch := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	base := func() url.Values {
		return url.Values{"response_type": {"code"}, "client_id": {"public-app"}, "redirect_uri": {e.redirect},
			"scope": {"launch/patient patient/*.rs"}, "state": {"a b+c/=%~é"}, "aud": {e.fhir},
			"code_challenge": {ch}, "code_challenge_method": {"S256"}}
	}
	c := noRedirect()
	get := func(v url.Values) *http.Response {
		resp, err := c.Get(e.base + "/auth/authorize?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// A2: bad client or redirect: 400 page, no redirect.
	for name, mod := range map[string]func(url.Values){
		"unknown client": func(v url.Values) { v.Set("client_id", "nope") },
		"no client":      func(v url.Values) { v.Del("client_id") },
		"bad redirect":   func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") },
		"no redirect":    func(v url.Values) { v.Del("redirect_uri") },
	} {
		v := base()
		mod(v)
		resp := get(v)
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %v", name, resp.StatusCode, resp.Header)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: security headers %v", name, resp.Header)
		}
	}
	// Redirected errors carry error and the exact state.
	for name, tc := range map[string]struct {
		mod  func(url.Values)
		code string
	}{
		"response_type token": {func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
		"no aud":              {func(v url.Values) { v.Del("aud") }, "invalid_request"},
		"wrong aud":           {func(v url.Values) { v.Set("aud", "https://other.example/fhir") }, "invalid_request"},
		"aud two slashes":     {func(v url.Values) { v.Set("aud", e.fhir+"//") }, "invalid_request"},
		"plain pkce":          {func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		"no pkce method":      {func(v url.Values) { v.Del("code_challenge_method") }, "invalid_request"},
		"no pkce":             {func(v url.Values) { v.Del("code_challenge") }, "invalid_request"},
		"bad launch":          {func(v url.Values) { v.Set("launch", "nope"); v.Set("scope", "launch patient/*.rs") }, "invalid_request"},
		"only unknown scopes": {func(v url.Values) { v.Set("scope", "patient/Observation.dus") }, "invalid_scope"},
	} {
		v := base()
		tc.mod(v)
		resp := get(v)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || loc == nil || !strings.HasPrefix(loc.String(), e.redirect+"?") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Header.Get("Location"))
			continue
		}
		if q := loc.Query(); q.Get("error") != tc.code || q.Get("state") != "a b+c/=%~é" || q.Get("code") != "" || q.Get("error_description") == "" {
			t.Errorf("%s: %v", name, q)
		}
	}
	// Trailing slash and resource= are accepted: login page follows.
	for name, mod := range map[string]func(url.Values){
		"trailing slash": func(v url.Values) { v.Set("aud", e.fhir+"/") },
		"resource":       func(v url.Values) { v.Del("aud"); v.Set("resource", e.fhir) },
	} {
		v := base()
		mod(v)
		resp := get(v)
		if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), e.base+"/auth/login?req=") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A1: POST works too.
	resp, err := noRedirect().PostForm(e.base+"/auth/authorize", base())
	if err != nil || resp.StatusCode != 302 || !strings.Contains(resp.Header.Get("Location"), "/auth/login?req=") {
		t.Fatalf("POST authorize: %v %v", err, resp.Header)
	}
	setCookie := resp.Header.Get("Set-Cookie")
	if !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "SameSite=Lax") {
		t.Fatalf("cookie %s", setCookie)
	}
}

func TestDenyAndStateEcho(t *testing.T) {
	e := newEnv(t, "jwt")
	cfg := e.oauth("public-app", "openid", "fhirUser", "launch/patient", "patient/*.rs")
	q, _ := e.codeFlow(t, cfg, &flow{user: "doc", pass: "docpass", deny: true})
	if q.Get("error") != "access_denied" || q.Get("code") != "" || !strings.HasPrefix(q.Get("state"), "st-") {
		t.Fatalf("deny: %v", q)
	}
	// state echoed byte-exact on success.
	state := "x y&z=1/ü+%2F"
	verifier := oauth2.GenerateVerifier()
	c := browser(t)
	resp, err := c.Get(cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", e.fhir)))
	if err != nil {
		t.Fatal(err)
	}
	u := (&flow{user: "pat", pass: "patpass"}).run(t, c, resp)
	if u.Query().Get("state") != state || u.Query().Get("code") == "" {
		t.Fatalf("state %q", u.Query().Get("state"))
	}
}

func TestLoginWrongPasswordAndCSRF(t *testing.T) {
	e := newEnv(t, "jwt")
	cfg := e.oauth("public-app", "patient/*.rs")
	c := browser(t)
	resp, err := c.Get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("aud", e.fhir)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formRE.FindStringSubmatch(string(body))
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
		form.Set(h[1], h[2])
	}
	form.Set("username", "doc")
	form.Set("password", "wrong")
	resp, _ = c.PostForm(e.base+"/auth/login", form)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	form.Set("password", "docpass")
	form.Set("csrf", "forged")
	resp, _ = c.PostForm(e.base+"/auth/login", form)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("bad csrf: %d", resp.StatusCode)
	}
}

func TestPickerAndConsentUncheck(t *testing.T) {
	e := newEnv(t, "jwt")
	cfg := e.oauth("public-app", "openid", "fhirUser", "launch/patient", "patient/Observation.rs", "patient/Patient.r", "patient/Observation.dus")
	f := &flow{user: "doc", pass: "docpass", patient: "pt7", uncheck: map[string]bool{"patient/Patient.r": true}}
	tok := e.token(t, cfg, f)
	if !f.sawPicker {
		t.Fatal("practitioner did not see the picker")
	}
	if strings.Join(f.sawConsent, " ") != "openid fhirUser launch/patient patient/Observation.rs patient/Patient.r" {
		t.Fatalf("consent listed %v", f.sawConsent)
	}
	if tok.Extra("scope") != "openid fhirUser launch/patient patient/Observation.rs" || tok.Extra("patient") != "pt7" ||
		tok.Extra("need_patient_banner") != true {
		t.Fatalf("token %v %v %v", tok.Extra("scope"), tok.Extra("patient"), tok.Extra("need_patient_banner"))
	}
	// A patient user gets their own patient, no picker.
	f = &flow{user: "pat", pass: "patpass"}
	tok = e.token(t, cfg, f)
	if f.sawPicker || tok.Extra("patient") != "pt3" {
		t.Fatalf("patient user: picker=%v patient=%v", f.sawPicker, tok.Extra("patient"))
	}
	// Picker paging and search.
	c := browser(t)
	resp, _ := c.Get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("aud", e.fhir)))
	body, _ := io.ReadAll(resp.Body)
	m := formRE.FindStringSubmatch(string(body))
	form := url.Values{"username": {"doc"}, "password": {"docpass"}}
	for _, h := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
		form.Set(h[1], h[2])
	}
	resp, _ = c.PostForm(e.base+"/auth/login", form)
	body, _ = io.ReadAll(resp.Body)
	if !strings.Contains(resp.Request.URL.Path, "/picker") || !strings.Contains(string(body), "1–10 of 25") || !strings.Contains(string(body), "Next") {
		t.Fatalf("picker page 1: %s", body)
	}
	resp, _ = c.Get(e.base + "/auth/picker?req=" + url.QueryEscape(form.Get("req")) + "&name=number12")
	body, _ = io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "Patient Number12") || !strings.Contains(string(body), "1–1 of 1") {
		t.Fatalf("picker search: %s", body)
	}
}

func TestEHRLaunch(t *testing.T) {
	e := newEnv(t, "jwt")
	resp, err := http.Post(e.base+"/auth/launch", "application/json",
		strings.NewReader(`{"client_id":"public-app","patient":"pt5","encounter":"enc9","user":"doc"}`))
	if err != nil {
		t.Fatal(err)
	}
	var lr map[string]string
	json.NewDecoder(resp.Body).Decode(&lr)
	resp.Body.Close()
	if resp.StatusCode != 201 || lr["launch"] == "" || !strings.Contains(lr["launch_url"], "launch="+lr["launch"]) {
		t.Fatalf("launch: %d %v", resp.StatusCode, lr)
	}
	cfg := e.oauth("public-app", "launch", "openid", "fhirUser", "patient/*.rs")
	f := &flow{user: "doc", pass: "docpass"}
	tok := e.token(t, cfg, f, oauth2.SetAuthURLParam("launch", lr["launch"]))
	if f.sawPicker || tok.Extra("patient") != "pt5" || tok.Extra("encounter") != "enc9" || tok.Extra("need_patient_banner") != false {
		t.Fatalf("EHR launch context: %v %v %v", tok.Extra("patient"), tok.Extra("encounter"), tok.Extra("need_patient_banner"))
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t, "jwt")
	post := func(body string) (*http.Response, map[string]any) {
		resp, err := http.Post(e.base+"/auth/register", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	resp, m := post(`{"client_name":"Reg","redirect_uris":["` + e.redirect + `"],"grant_types":["authorization_code","refresh_token"],"scope":"openid fhirUser launch/patient patient/*.rs offline_access"}`)
	if resp.StatusCode != 201 || m["client_id"] == "" || m["client_secret"] == "" || m["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Fatalf("register: %d %v", resp.StatusCode, m)
	}
	// The registered symmetric client can complete the flow with Basic auth.
	cfg := e.oauth(m["client_id"].(string), "launch/patient", "patient/*.rs", "offline_access")
	cfg.ClientSecret = m["client_secret"].(string)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	tok := e.token(t, cfg, &flow{user: "pat", pass: "patpass"})
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	for body, code := range map[string]string{
		`{"redirect_uris":["http://evil.example/cb"]}`:                                          "invalid_redirect_uri",
		`{"redirect_uris":["https://a.example/cb#frag"]}`:                                       "invalid_redirect_uri",
		`{"grant_types":["authorization_code"]}`:                                                "invalid_redirect_uri",
		`{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"]}`: "invalid_client_metadata",
		`{"token_endpoint_auth_method":"client_secret_jwt","redirect_uris":["https://a/cb"]}`:   "invalid_client_metadata",
		`{"grant_types":["client_credentials"],"jwks_uri":"https://a/jwks"}`:                    "invalid_client_metadata",
		`not json`: "invalid_client_metadata",
	} {
		resp, m := post(body)
		if resp.StatusCode != 400 || m["error"] != code {
			t.Errorf("%s: %d %v", body, resp.StatusCode, m)
		}
	}
	resp, m = post(`{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks_uri":"` + e.base + `/client-jwks","scope":"system/*.rs"}`)
	if resp.StatusCode != 201 || m["client_secret"] != nil {
		t.Fatalf("register asymmetric: %d %v", resp.StatusCode, m)
	}
	_ = context.Background()
}
