package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// assertion builds a client assertion; mod may change headers and claims.
func (e *env) assertion(t testing.TB, clientID string, alg jose.SignatureAlgorithm, mod func(h map[jose.HeaderKey]any, c map[string]any)) string {
	t.Helper()
	h := map[jose.HeaderKey]any{"kid": "rsa1"}
	var key any = e.rsaKey
	if strings.HasPrefix(string(alg), "ES") {
		h["kid"], key = "ec1", e.ecKey
	}
	now := time.Now()
	c := map[string]any{"iss": clientID, "sub": clientID, "aud": e.base + "/auth/token",
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": uuid.NewString()}
	if mod != nil {
		mod(h, c)
	}
	if k, ok := h["key"]; ok {
		key = k
		delete(h, "key")
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range h {
		if v != nil {
			opts.WithHeader(k, v)
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := obj.CompactSerialize()
	return out
}

func ccForm(assertion, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {jwtBearer}, "client_assertion": {assertion}}
}

func TestBackendServices(t *testing.T) {
	e := newEnv(t, "jwt")
	ctx := context.Background()
	// J1/B1: RS384 and ES384 (inline JWKS), and RS384 via jwks_uri.
	for _, tc := range []struct {
		client string
		alg    jose.SignatureAlgorithm
	}{{"backend", jose.RS384}, {"backend", jose.ES384}, {"backend", jose.RS256}, {"backend", jose.ES256}, {"backend-url", jose.RS384}, {"backend-url", jose.ES384}} {
		a := e.assertion(t, tc.client, tc.alg, func(h map[jose.HeaderKey]any, c map[string]any) {
			if tc.alg == jose.ES256 {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				h["key"] = k
			}
		})
		if tc.alg == jose.ES256 { // not registered: P-256 key signing under kid ec1 fails
			resp, m := e.post(t, "/auth/token", ccForm(a, "system/Observation.rs"), "")
			wantOAuthError(t, resp, m, 401, "invalid_client")
			continue
		}
		resp, m := e.post(t, "/auth/token", ccForm(a, "system/Observation.rs"), "")
		if resp.StatusCode != 200 || m["token_type"] != "Bearer" || m["expires_in"] != float64(300) || m["scope"] != "system/Observation.rs" ||
			m["refresh_token"] != nil || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
			t.Fatalf("B1 %s %s: %d %v", tc.client, tc.alg, resp.StatusCode, m)
		}
		g, err := e.srv.ResolveToken(ctx, m["access_token"].(string))
		if err != nil || g.ClientID != tc.client || g.Scopes[0].Level != "system" || g.User != "" {
			t.Fatalf("resolve backend token: %v %+v", err, g)
		}
	}
	if e.jwksHits != 1 {
		t.Fatalf("J3: jwks_uri fetched %d times, want 1 (cached by max-age)", e.jwksHits)
	}
	// B2: scope outside the pre-authorization.
	for _, sc := range []string{"system/Patient.cruds system/Observation.c", "system/Observation.cruds", "user/*.rs", "openid", ""} {
		resp, m := e.post(t, "/auth/token", ccForm(e.assertion(t, "backend", jose.RS384, nil), sc), "")
		wantOAuthError(t, resp, m, 400, "invalid_scope")
	}
	resp, m := e.post(t, "/auth/token", ccForm(e.assertion(t, "backend", jose.RS384, nil), "system/Patient.cruds system/Observation.rs"), "")
	if resp.StatusCode != 200 || m["scope"] != "system/Patient.cruds system/Observation.rs" {
		t.Fatalf("B1 multi: %v", m)
	}
	// B4 bad assertion type; B5 secret auth for backend.
	f := ccForm(e.assertion(t, "backend", jose.RS384, nil), "system/*.rs")
	f.Set("client_assertion_type", "urn:bogus")
	resp, m = e.post(t, "/auth/token", f, "")
	wantOAuthError(t, resp, m, 401, "invalid_client")
	resp, m = e.post(t, "/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}}, "conf-app:s3cret")
	wantOAuthError(t, resp, m, 401, "invalid_client")
}

func TestAssertionFailures(t *testing.T) {
	e := newEnv(t, "jwt")
	other, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	reused := e.assertion(t, "backend", jose.RS384, nil)
	if resp, m := e.post(t, "/auth/token", ccForm(reused, "system/*.rs"), ""); resp.StatusCode != 200 {
		t.Fatalf("first use: %v", m)
	}
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": "backend", "sub": "backend", "aud": e.base + "/auth/token",
		"exp": now.Add(time.Minute).Unix(), "jti": uuid.NewString()})
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "rsa1"))
	hsObj, _ := hs.Sign(claims)
	hsJWT, _ := hsObj.CompactSerialize()

	cases := map[string]string{
		"bad signature": e.assertion(t, "backend", jose.ES384, func(h map[jose.HeaderKey]any, c map[string]any) { h["key"] = other }),
		"alg none":      enc([]byte(`{"alg":"none","typ":"JWT","kid":"rsa1"}`)) + "." + enc(claims) + ".",
		"HS256":         hsJWT,
		"unknown kid":   e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { h["kid"] = "nope" }),
		"no kid":        e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { h["kid"] = nil }),
		"kty vs alg":    e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { h["kid"] = "ec1" }),
		"iss != sub":    e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { c["sub"] = "other" }),
		"iss unknown":   e.assertion(t, "nobody", jose.RS384, nil),
		"aud wrong":     e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { c["aud"] = "https://evil.example/token" }),
		"no aud":        e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { delete(c, "aud") }),
		"exp past":      e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }),
		"exp > 5 min":   e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { c["exp"] = now.Add(6 * time.Minute).Unix() }),
		"no exp":        e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { delete(c, "exp") }),
		"no jti":        e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { delete(c, "jti") }),
		"reused jti":    reused,
		"typ not JWT":   e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { h["typ"] = "at+jwt" }),
		"jku not allow-listed": e.assertion(t, "backend-url", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) {
			h["jku"] = "https://evil.example/jwks"
		}),
		"jku on inline client": e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) {
			h["jku"] = e.base + "/client-jwks"
		}),
		"garbage": "not.a.jwt",
	}
	for name, a := range cases {
		resp, m := e.post(t, "/auth/token", ccForm(a, "system/*.rs"), "")
		if resp.StatusCode != 401 || m["error"] != "invalid_client" {
			t.Errorf("%s: %d %v", name, resp.StatusCode, m)
		}
	}
	// The registered jku is accepted.
	a := e.assertion(t, "backend-url", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { h["jku"] = e.base + "/client-jwks" })
	if resp, m := e.post(t, "/auth/token", ccForm(a, "system/*.rs"), ""); resp.StatusCode != 200 {
		t.Fatalf("registered jku: %v", m)
	}
	// aud = issuer is accepted too.
	a = e.assertion(t, "backend", jose.RS384, func(h map[jose.HeaderKey]any, c map[string]any) { c["aud"] = e.fhir })
	if resp, m := e.post(t, "/auth/token", ccForm(a, "system/*.rs"), ""); resp.StatusCode != 200 {
		t.Fatalf("aud issuer: %v", m)
	}
}

func TestAsymmetricCodeFlow(t *testing.T) {
	// T1 asymmetric: an app client authenticating with private_key_jwt at the code exchange.
	e := newEnv(t, "jwt")
	ctx := context.Background()
	jwks, _ := json.Marshal(map[string]any{"keys": []any{json.RawMessage(mustJSON(jose.JSONWebKey{Key: &e.ecKey.PublicKey, KeyID: "ec1"}))}})
	if err := e.srv.CreateClient(ctx, Client{ID: "asym-app", RedirectURIs: []string{e.redirect}, JWKS: jwks, AuthMethod: "private_key_jwt",
		GrantTypes: []string{"authorization_code", "refresh_token"}}); err != nil {
		t.Fatal(err)
	}
	code, v := e.codeFor(t, "asym-app", "launch/patient", "patient/*.rs", "offline_access")
	f := e.exchangeForm(code, v, "")
	f.Del("client_id")
	f.Set("client_assertion_type", jwtBearer)
	f.Set("client_assertion", e.assertion(t, "asym-app", jose.ES384, nil))
	resp, m := e.post(t, "/auth/token", f, "")
	if resp.StatusCode != 200 || m["refresh_token"] == nil {
		t.Fatalf("asymmetric exchange: %d %v", resp.StatusCode, m)
	}
	// Without the assertion the confidential client is refused.
	rf := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}, "client_id": {"asym-app"}}
	resp, m = e.post(t, "/auth/token", rf, "")
	wantOAuthError(t, resp, m, 401, "invalid_client")
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
