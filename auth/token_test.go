package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// codeFor runs the browser part of the flow and returns a fresh code and its verifier.
func (e *env) codeFor(t *testing.T, clientID string, scopes ...string) (string, string) {
	t.Helper()
	q, v := e.codeFlow(t, e.oauth(clientID, scopes...), &flow{user: "pat", pass: "patpass"})
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	return q.Get("code"), v
}

func (e *env) exchangeForm(code, verifier, clientID string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect},
		"code_verifier": {verifier}, "client_id": {clientID}}
}

func TestTokenCodeGrant(t *testing.T) {
	for _, format := range []string{"jwt", "opaque"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, format)
			ctx := context.Background()
			scopes := []string{"openid", "fhirUser", "launch/patient", "patient/*.rs", "offline_access"}

			// T1/T2 happy path, headers.
			code, v := e.codeFor(t, "public-app", scopes...)
			resp, m := e.post(t, "/auth/token", e.exchangeForm(code, v, "public-app"), "")
			if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
				t.Fatalf("T1: %d %v", resp.StatusCode, resp.Header)
			}
			if m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) || m["scope"] != strings.Join(scopes, " ") ||
				m["patient"] != "pt3" || m["refresh_token"] == nil || m["id_token"] == nil || m["need_patient_banner"] != true ||
				m["smart_style_url"] == nil {
				t.Fatalf("T2: %v", m)
			}
			access := m["access_token"].(string)
			if format == "opaque" && strings.Count(access, ".") != 0 {
				t.Fatalf("opaque token looks like a JWT")
			}
			g, err := e.srv.ResolveToken(ctx, access)
			if err != nil || g.Patient != "pt3" || g.User != "Patient/pt3" || g.ClientID != "public-app" || len(g.Scopes) != 1 ||
				g.Scopes[0].Interactions != "rs" || g.Audience != e.fhir {
				t.Fatalf("ResolveToken: %v %+v", err, g)
			}

			// T3: code reuse fails and revokes the tokens issued from it.
			resp, m = e.post(t, "/auth/token", e.exchangeForm(code, v, "public-app"), "")
			wantOAuthError(t, resp, m, 400, "invalid_grant")
			if _, err := e.srv.ResolveToken(ctx, access); err != ErrInvalidToken {
				t.Fatalf("T3: token still valid after code reuse: %v", err)
			}

			// T5 redirect mismatch, T6 verifier, T7 other client: each on a fresh code.
			cases := map[string]func(url.Values){
				"T5 redirect":       func(f url.Values) { f.Set("redirect_uri", e.redirect+"x") },
				"T5 no redirect":    func(f url.Values) { f.Del("redirect_uri") },
				"T6 wrong verifier": func(f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) },
				"T6 blank verifier": func(f url.Values) { f.Set("code_verifier", "") },
				"T6 no verifier":    func(f url.Values) { f.Del("code_verifier") },
				"T7 other client":   func(f url.Values) { f.Set("client_id", "other-app") },
				"unknown code":      func(f url.Values) { f.Set("code", "nope") },
			}
			for name, mod := range cases {
				code, v := e.codeFor(t, "public-app", "patient/*.rs")
				f := e.exchangeForm(code, v, "public-app")
				mod(f)
				resp, m := e.post(t, "/auth/token", f, "")
				if resp.StatusCode != 400 || m["error"] != "invalid_grant" {
					t.Errorf("%s: %d %v", name, resp.StatusCode, m)
				}
			}
			// T6: verifier equal to the challenge.
			q, _ := e.codeFlow(t, e.oauth("public-app", "patient/*.rs"), &flow{user: "pat", pass: "patpass"},
				oauth2.SetAuthURLParam("code_challenge", strings.Repeat("A", 43)))
			resp, m = e.post(t, "/auth/token", e.exchangeForm(q.Get("code"), strings.Repeat("A", 43), "public-app"), "")
			wantOAuthError(t, resp, m, 400, "invalid_grant")

			// T4: expired code.
			code, v = e.codeFor(t, "public-app", "patient/*.rs")
			e.setNow(time.Now().Add(61 * time.Second))
			resp, m = e.post(t, "/auth/token", e.exchangeForm(code, v, "public-app"), "")
			e.setNow(time.Time{})
			wantOAuthError(t, resp, m, 400, "invalid_grant")
		})
	}
}

func TestTokenClientAuthAndRequestErrors(t *testing.T) {
	e := newEnv(t, "jwt")
	// T8: symmetric client with a wrong secret or no auth.
	code, v := e.codeFor(t, "conf-app", "patient/*.rs")
	f := e.exchangeForm(code, v, "")
	f.Del("client_id")
	resp, m := e.post(t, "/auth/token", f, "conf-app:wrong")
	wantOAuthError(t, resp, m, 401, "invalid_client")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("T8: WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
	f.Set("client_id", "conf-app")
	resp, m = e.post(t, "/auth/token", f, "")
	wantOAuthError(t, resp, m, 401, "invalid_client")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatal("T8: no Basic challenge without credentials")
	}
	f.Set("client_secret", "wrong")
	resp, m = e.post(t, "/auth/token", f, "")
	wantOAuthError(t, resp, m, 401, "invalid_client")
	// The code is still good: the right secret (post) works.
	f.Set("client_secret", "s3cret")
	resp, m = e.post(t, "/auth/token", f, "")
	if resp.StatusCode != 200 || m["access_token"] == nil {
		t.Fatalf("client_secret_post: %d %v", resp.StatusCode, m)
	}
	// Basic works through x/oauth2.
	cfg := e.oauth("conf-app", "patient/*.rs")
	cfg.ClientSecret, cfg.Endpoint.AuthStyle = "s3cret", oauth2.AuthStyleInHeader
	if tok := e.token(t, cfg, &flow{user: "pat", pass: "patpass"}); tok.AccessToken == "" {
		t.Fatal("basic")
	}
	// T9: unknown grant type; T10: wrong content type or method.
	resp, m = e.post(t, "/auth/token", url.Values{"grant_type": {"password"}, "client_id": {"public-app"}}, "")
	wantOAuthError(t, resp, m, 400, "unsupported_grant_type")
	resp, m = e.post(t, "/auth/token", url.Values{"client_id": {"public-app"}}, "")
	wantOAuthError(t, resp, m, 400, "invalid_request")
	req, _ := http.NewRequest(http.MethodPost, e.base+"/auth/token", strings.NewReader(`{"grant_type":"authorization_code"}`))
	req.Header.Set("Content-Type", "application/json")
	r2, _ := http.DefaultClient.Do(req)
	var body map[string]any
	decodeBody(r2, &body)
	wantOAuthError(t, r2, body, 400, "invalid_request")
	r3, _ := http.Get(e.base + "/auth/token?grant_type=client_credentials")
	decodeBody(r3, &body)
	wantOAuthError(t, r3, body, 400, "invalid_request")
}

func TestRefresh(t *testing.T) {
	e := newEnv(t, "jwt")
	ctx := context.Background()
	cfg := e.oauth("public-app", "launch/patient", "patient/Observation.rs", "patient/Patient.rs", "offline_access")
	tok := e.token(t, cfg, &flow{user: "pat", pass: "patpass"})
	rt1 := tok.RefreshToken
	refresh := func(rt, clientID, scope string) (*http.Response, map[string]any) {
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}}
		if scope != "" {
			f.Set("scope", scope)
		}
		return e.post(t, "/auth/token", f, "")
	}
	// R1 via x/oauth2 (no scope): same scope and context, rotated token.
	tok.Expiry = time.Now().Add(-time.Minute)
	tok2, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.Extra("scope") != "launch/patient patient/Observation.rs patient/Patient.rs offline_access" || tok2.Extra("patient") != "pt3" ||
		tok2.RefreshToken == "" || tok2.RefreshToken == rt1 || tok2.Extra("expires_in") == nil {
		t.Fatalf("R1: %v %v", tok2.Extra("scope"), tok2.Extra("patient"))
	}
	// R1 narrower scope.
	resp, m := refresh(tok2.RefreshToken, "public-app", "launch/patient patient/Observation.rs")
	if resp.StatusCode != 200 || m["scope"] != "launch/patient patient/Observation.rs" || m["expires_in"] != float64(3600) ||
		resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" || m["patient"] != "pt3" {
		t.Fatalf("R1 narrow: %d %v", resp.StatusCode, m)
	}
	rt3 := m["refresh_token"].(string)
	// R2 wider scope.
	resp, m = refresh(rt3, "public-app", "patient/Observation.rs patient/Condition.rs")
	wantOAuthError(t, resp, m, 400, "invalid_scope")
	// R3 other client.
	resp, m = refresh(rt3, "other-app", "")
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	// The narrowed refresh keeps the original grant: full scope is still available.
	resp, m = refresh(rt3, "public-app", "")
	if resp.StatusCode != 200 || m["scope"] != "launch/patient patient/Observation.rs patient/Patient.rs offline_access" {
		t.Fatalf("after narrow: %v", m)
	}
	rt4, access4 := m["refresh_token"].(string), m["access_token"].(string)
	// R4 unknown token.
	resp, m = refresh("garbage", "public-app", "")
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	// R5 reuse of a rotated token revokes the family.
	resp, m = refresh(rt1, "public-app", "")
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	resp, m = refresh(rt4, "public-app", "")
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	if _, err := e.srv.ResolveToken(ctx, access4); err != ErrInvalidToken {
		t.Fatalf("R5: access token of the revoked family still valid")
	}
	// R7: no offline_access, no refresh token.
	tok = e.token(t, e.oauth("public-app", "launch/patient", "patient/*.rs"), &flow{user: "pat", pass: "patpass"})
	if tok.RefreshToken != "" {
		t.Fatal("R7: refresh token without offline_access")
	}
}

func TestIDToken(t *testing.T) {
	e := newEnv(t, "jwt")
	cfg := e.oauth("public-app", "openid", "fhirUser", "profile", "user/*.rs")
	tok := e.token(t, cfg, &flow{user: "doc", pass: "docpass"}, oauth2.SetAuthURLParam("nonce", "n-0S6_WzA2Mj"))
	raw, _ := tok.Extra("id_token").(string)
	parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		jwt.Claims
		Nonce    string `json:"nonce"`
		FHIRUser string `json:"fhirUser"`
		Name     string `json:"name"`
	}
	if err := parsed.Claims(e.srv.idKey.public(), &c); err != nil {
		t.Fatal(err)
	}
	if parsed.Headers[0].KeyID != e.srv.idKey.kid || parsed.Headers[0].ExtraHeaders[jose.HeaderType] != "JWT" || c.Issuer != e.fhir || c.Subject != "doc" || len(c.Audience) != 1 || c.Audience[0] != "public-app" ||
		c.Nonce != "n-0S6_WzA2Mj" || c.FHIRUser != e.fhir+"/Practitioner/p1" || c.Expiry == nil || c.IssuedAt == nil || c.Name != "Dr Who" {
		t.Fatalf("O1: %+v", c)
	}
	// The JWT access token carries the documented claims.
	at, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var ac accessClaims
	if err := at.Claims(e.srv.accessKey.public(), &ac); err != nil || ac.Issuer != e.fhir || ac.Audience[0] != e.fhir || ac.ClientID != "public-app" ||
		ac.Scope != "openid fhirUser profile user/*.rs" || ac.FHIRUser != "Practitioner/p1" || ac.ID == "" || ac.Subject != "doc" {
		t.Fatalf("access claims %v %+v", err, ac)
	}
	// No openid → no id_token.
	tok = e.token(t, e.oauth("public-app", "fhirUser", "user/*.rs"), &flow{user: "doc", pass: "docpass"})
	if tok.Extra("id_token") != nil {
		t.Fatal("id_token without openid")
	}
}

func TestIntrospectAndRevoke(t *testing.T) {
	for _, format := range []string{"jwt", "opaque"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, format)
			ctx := context.Background()
			tok := e.token(t, e.oauth("public-app", "openid", "fhirUser", "launch/patient", "patient/*.rs", "offline_access"), &flow{user: "pat", pass: "patpass"})
			resp, m := e.post(t, "/auth/introspect", url.Values{"token": {tok.AccessToken}}, "conf-app:s3cret")
			if resp.StatusCode != 200 || m["active"] != true || m["scope"] != "openid fhirUser launch/patient patient/*.rs offline_access" ||
				m["client_id"] != "public-app" || m["patient"] != "pt3" || m["iss"] != e.fhir || m["sub"] != "pat" ||
				m["fhirUser"] != e.fhir+"/Patient/pt3" || m["token_type"] != "Bearer" || m["exp"] == nil || m["iat"] == nil {
				t.Fatalf("I1: %d %v", resp.StatusCode, m)
			}
			exp := int64(m["exp"].(float64))
			if d := exp - time.Now().Unix(); d < 3590 || d > 3600 {
				t.Fatalf("exp inconsistent with expires_in: %d", d)
			}
			// Bearer-protected introspection works too; no auth fails.
			req, _ := http.NewRequest(http.MethodPost, e.base+"/auth/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			r2, _ := http.DefaultClient.Do(req)
			decodeBody(r2, &m)
			if r2.StatusCode != 200 || m["active"] != true {
				t.Fatalf("bearer introspection %d", r2.StatusCode)
			}
			resp, m = e.post(t, "/auth/introspect", url.Values{"token": {tok.AccessToken}}, "")
			wantOAuthError(t, resp, m, 401, "invalid_client")
			// I2 unknown.
			resp, m = e.post(t, "/auth/introspect", url.Values{"token": {"garbage"}}, "conf-app:s3cret")
			if resp.StatusCode != 200 || len(m) != 1 || m["active"] != false {
				t.Fatalf("I2: %v", m)
			}
			// Revoke the access token: ResolveToken (cached before) and introspection fail.
			if _, err := e.srv.ResolveToken(ctx, tok.AccessToken); err != nil {
				t.Fatal(err)
			}
			resp, _ = e.post(t, "/auth/revoke", url.Values{"token": {tok.AccessToken}, "client_id": {"public-app"}}, "")
			if resp.StatusCode != 200 {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if _, err := e.srv.ResolveToken(ctx, tok.AccessToken); err != ErrInvalidToken {
				t.Fatal("revoked token still resolves")
			}
			resp, m = e.post(t, "/auth/introspect", url.Values{"token": {tok.AccessToken}}, "conf-app:s3cret")
			if resp.StatusCode != 200 || len(m) != 1 || m["active"] != false {
				t.Fatalf("I2 revoked: %d %v", resp.StatusCode, m)
			}
			// Revoking a refresh token kills it; unknown tokens answer 200.
			resp, _ = e.post(t, "/auth/revoke", url.Values{"token": {tok.RefreshToken}, "client_id": {"public-app"}, "token_type_hint": {"refresh_token"}}, "")
			if resp.StatusCode != 200 {
				t.Fatal(resp.StatusCode)
			}
			resp, m = e.post(t, "/auth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"public-app"}}, "")
			wantOAuthError(t, resp, m, 400, "invalid_grant")
			resp, _ = e.post(t, "/auth/revoke", url.Values{"token": {"unknown"}, "client_id": {"public-app"}}, "")
			if resp.StatusCode != 200 {
				t.Fatal(resp.StatusCode)
			}
			// I2 expired.
			t2, err := e.srv.MintToken(ctx, "public-app", "doc", "", "user/*.rs")
			if err != nil {
				t.Fatal(err)
			}
			e.setNow(time.Now().Add(2 * time.Hour))
			resp, m = e.post(t, "/auth/introspect", url.Values{"token": {t2["access_token"].(string)}}, "conf-app:s3cret")
			e.setNow(time.Time{})
			if resp.StatusCode != 200 || len(m) != 1 || m["active"] != false {
				t.Fatalf("I2 expired: %d %v", resp.StatusCode, m)
			}
		})
	}
}
