package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// A SMART patient app's access token is ES256 with typ at+jwt, a resource server can
// verify it with nothing but the published JWKS, and it is much shorter than the RS256
// token it replaces. The id_token stays RS256.
func TestAccessTokenFormat(t *testing.T) {
	e := newEnv(t, "jwt")
	cfg := e.oauth("public-app", "launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs")
	tok := e.token(t, cfg, &flow{user: "pat", pass: "patpass"})

	// What an outside resource server does: fetch the JWKS, pick the key by kid, verify.
	resp, err := browser(t).Get(e.base + "/auth/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("JWKS: %v %+v", err, set)
	}
	at, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := at.Headers[0]
	if h.Algorithm != "ES256" || h.ExtraHeaders[jose.HeaderType] != "at+jwt" || h.KeyID == "" || len(h.ExtraHeaders) != 1 {
		t.Fatalf("access token header %+v", h)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 || keys[0].Algorithm != "ES256" || keys[0].Use != "sig" {
		t.Fatalf("JWKS keys for kid %s: %+v", h.KeyID, keys)
	}
	var c accessClaims
	if err := at.Claims(keys[0].Key, &c); err != nil {
		t.Fatalf("verify with the JWKS key: %v", err)
	}
	if err := c.Validate(jwt.Expected{Issuer: e.fhir, AnyAudience: jwt.Audience{e.fhir}, Time: time.Now()}); err != nil ||
		c.Patient != "pt3" || c.ClientID != "public-app" || c.ID == "" {
		t.Fatalf("claims %v %+v", err, c)
	}

	idt, err := jwt.ParseSigned(tok.Extra("id_token").(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	ih := idt.Headers[0]
	ikeys := set.Key(ih.KeyID)
	if ih.ExtraHeaders[jose.HeaderType] != "JWT" || len(ikeys) != 1 || ikeys[0].Algorithm != "RS256" || ih.KeyID == h.KeyID {
		t.Fatalf("id_token header %+v, keys %+v", ih, ikeys)
	}
	if err := idt.Claims(ikeys[0].Key, &jwt.Claims{}); err != nil {
		t.Fatalf("verify id_token with the JWKS key: %v", err)
	}

	// The same claims as the RS256 token of before, for the size comparison.
	old, err := e.srv.idKey.sign(c)
	if err != nil {
		t.Fatal(err)
	}
	sig := tok.AccessToken[strings.LastIndexByte(tok.AccessToken, '.')+1:]
	t.Logf("patient access token: %d chars (signature %d); the same claims RS256: %d chars (signature %d)",
		len(tok.AccessToken), len(sig), len(old), len(old)-strings.LastIndexByte(old, '.')-1)
	if len(sig) != 86 || len(tok.AccessToken) >= 600 || len(old)-len(tok.AccessToken) < 250 {
		t.Fatalf("access token is %d chars, signature %d; RS256 was %d", len(tok.AccessToken), len(sig), len(old))
	}
	if g, err := e.srv.ResolveToken(context.Background(), tok.AccessToken); err != nil || g.Patient != "pt3" {
		t.Fatalf("resolve: %v %+v", err, g)
	}
}

// Only our own pairings of alg, kid and typ verify. Every forgery below reuses the
// claims of a real, stored token, so the header or signature is all that is wrong.
func TestAccessTokenRejections(t *testing.T) {
	e := newEnv(t, "jwt")
	ctx := context.Background()
	tok, err := e.srv.MintToken(ctx, "public-app", "pat", "pt3", "patient/*.rs launch/patient")
	if err != nil {
		t.Fatal(err)
	}
	good := tok["access_token"].(string)
	parsed, err := jwt.ParseSigned(good, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims accessClaims
	if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil {
		t.Fatal(err)
	}
	ecKID, rsaKID := e.srv.accessKey.kid, e.srv.idKey.kid
	otherP256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherP384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)

	sign := func(alg jose.SignatureAlgorithm, key any, kid, typ string, c any) string {
		t.Helper()
		opts := &jose.SignerOptions{}
		if kid != "" {
			opts = opts.WithHeader("kid", kid)
		}
		if typ != "" {
			opts = opts.WithType(jose.ContentType(typ))
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(signer).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b64 := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(claims)
	// hs256 signs with a public key as the HMAC secret: the classic alg confusion.
	hs256 := func(kid string, secret []byte) string {
		in := b64([]byte(`{"alg":"HS256","kid":"`+kid+`","typ":"at+jwt"}`)) + "." + b64(payload)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + b64(m.Sum(nil))
	}
	ecDER, _ := x509.MarshalPKIXPublicKey(e.srv.accessKey.public())
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})
	rsaDER, _ := x509.MarshalPKIXPublicKey(e.srv.idKey.public())
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaDER})

	ecPriv, rsaPriv := e.srv.accessKey.priv, e.srv.idKey.priv
	// An RS256 token issued after the P-256 key existed: only an id_token can be one now.
	e.setNow(e.srv.accessKey.created.Add(time.Minute))
	recent := claims
	recent.IssuedAt = jwt.NewNumericDate(e.srv.accessKey.created.Add(30 * time.Second))
	wrongAud := claims
	wrongAud.Audience = jwt.Audience{"public-app"}
	parts := strings.Split(good, ".")
	tampered := strings.Replace(string(payload), `"pt3"`, `"pt1"`, 1)

	idTok := e.token(t, e.oauth("public-app", "openid", "fhirUser", "user/*.rs"), &flow{user: "doc", pass: "docpass"}).Extra("id_token").(string)

	for name, raw := range map[string]string{
		"alg none":                    b64([]byte(`{"alg":"none","kid":"`+ecKID+`","typ":"at+jwt"}`)) + "." + b64(payload) + ".",
		"HS256, EC public key secret": hs256(ecKID, ecPEM),
		"HS256, EC DER secret":        hs256(ecKID, ecDER),
		"HS256, RSA public key":       hs256(rsaKID, rsaPEM),
		"other P-256 key, our kid":    sign(jose.ES256, otherP256, ecKID, "at+jwt", claims),
		"P-384 key, our kid":          sign(jose.ES384, otherP384, ecKID, "at+jwt", claims),
		"our EC key as ES256, no kid": sign(jose.ES256, ecPriv, "", "at+jwt", claims),
		"unknown kid":                 sign(jose.ES256, ecPriv, "nope", "at+jwt", claims),
		"ES256 with the RSA kid":      sign(jose.ES256, ecPriv, rsaKID, "at+jwt", claims),
		"RS256 with the EC kid":       sign(jose.RS256, rsaPriv, ecKID, "JWT", claims),
		"ES256, typ JWT":              sign(jose.ES256, ecPriv, ecKID, "JWT", claims),
		"ES256, no typ":               sign(jose.ES256, ecPriv, ecKID, "", claims),
		"RS256, typ at+jwt":           sign(jose.RS256, rsaPriv, rsaKID, "at+jwt", claims),
		"RS384 by our RSA key":        sign(jose.RS384, rsaPriv, rsaKID, "JWT", claims),
		"RS256 issued after ES256":    sign(jose.RS256, rsaPriv, rsaKID, "JWT", recent),
		"wrong audience":              sign(jose.ES256, ecPriv, ecKID, "at+jwt", wrongAud),
		"tampered payload":            parts[0] + "." + b64([]byte(tampered)) + "." + parts[2],
		"id_token":                    idTok,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.srv.verifyAccessJWT(raw); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("verifyAccessJWT: %v", err)
			}
			if g, err := e.srv.ResolveToken(ctx, raw); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("ResolveToken: %v %+v", err, g)
			}
		})
	}
	// The genuine token, and the same claims re-signed by our key, still pass.
	for name, raw := range map[string]string{"genuine": good, "re-signed": sign(jose.ES256, ecPriv, ecKID, "at+jwt", claims)} {
		if g, err := e.srv.ResolveToken(ctx, raw); err != nil || g.Patient != "pt3" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A database from before ES256 access tokens has only the RSA key. The next start adds a
// P-256 key and keeps the RSA one (same kid, still signing id_tokens); the RS256 access
// tokens issued before the upgrade stay valid until they expire.
func TestUpgradeAddsAccessKey(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "old.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	now := time.Now().Truncate(time.Second).Add(-10 * time.Minute)
	cfg := Config{DB: db, FHIRBaseURL: "http://x/fhir", AuthBaseURL: "http://x/auth", Now: func() time.Time { return now }}
	before, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Back to the old state: only the RSA key, and an access token as the old code signed it.
	if _, err := db.Exec(`DELETE FROM auth_keys WHERE kid = ?`, before.accessKey.kid); err != nil {
		t.Fatal(err)
	}
	if err := before.CreateClient(ctx, Client{ID: "app", Public: true, RedirectURIs: []string{"http://x/cb"}}); err != nil {
		t.Fatal(err)
	}
	tok, err := before.MintToken(ctx, "app", "", "pt1", "patient/*.rs")
	if err != nil {
		t.Fatal(err)
	}
	var claims accessClaims
	if p, err := jwt.ParseSigned(tok["access_token"].(string), accessAlgs); err != nil || p.UnsafeClaimsWithoutVerification(&claims) != nil {
		t.Fatal(err)
	}
	legacy, err := before.idKey.sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := jwt.ParseSigned(legacy, accessAlgs); p.Headers[0].Algorithm != "RS256" || p.Headers[0].KeyID != before.idKey.kid {
		t.Fatalf("legacy header %+v", p.Headers[0])
	}

	now = now.Add(5 * time.Minute) // the upgraded server starts
	after, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM auth_keys`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d keys (%v)", n, err)
	}
	if after.idKey.kid != before.idKey.kid || after.accessKey.kid == before.accessKey.kid || after.accessKey.kid == after.idKey.kid ||
		!after.accessKey.created.Equal(now) {
		t.Fatalf("keys after upgrade: RSA %s (was %s), EC %s", after.idKey.kid, before.idKey.kid, after.accessKey.kid)
	}
	if g, err := after.ResolveToken(ctx, legacy); err != nil || g.Patient != "pt1" {
		t.Fatalf("pre-upgrade RS256 token: %v", err)
	}
	fresh, err := after.MintToken(ctx, "app", "", "pt2", "patient/*.rs")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := jwt.ParseSigned(fresh["access_token"].(string), accessAlgs); p.Headers[0].Algorithm != "ES256" || p.Headers[0].KeyID != after.accessKey.kid {
		t.Fatalf("new access token header %+v", p.Headers[0])
	}
	if g, err := after.ResolveToken(ctx, fresh["access_token"].(string)); err != nil || g.Patient != "pt2" {
		t.Fatalf("new ES256 token: %v", err)
	}

	// A third start loads both keys and creates none; the legacy token expires as before.
	again, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again.idKey.kid != after.idKey.kid || again.accessKey.kid != after.accessKey.kid {
		t.Fatal("keys changed on restart")
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM auth_keys`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d keys (%v)", n, err)
	}
	now = now.Add(time.Hour)
	if _, err := again.ResolveToken(ctx, legacy); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired legacy token: %v", err)
	}
}
