package seed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
)

// TestNewBackendKey checks that the private JWK signs what the public JWKS verifies, that
// the kid is the RFC 7638 thumbprint, and that every call makes a new key.
func TestNewBackendKey(t *testing.T) {
	priv, jwks, err := NewBackendKey()
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Kty, Kid, Alg, Crv, X, Y, D string
		KeyOps                      []string `json:"key_ops"`
	}
	if err := json.Unmarshal(priv, &k); err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys", len(set.Keys))
	}
	pk := set.Keys[0]
	if _, ok := pk["d"]; ok {
		t.Fatal("public JWKS leaks the private scalar d")
	}
	if k.Kty != "EC" || k.Crv != "P-384" || k.Alg != "ES384" || k.D == "" || !slices.Equal(k.KeyOps, []string{"sign"}) {
		t.Fatalf("private JWK %s", priv)
	}
	if pk["kid"] != k.Kid || pk["x"] != k.X || pk["y"] != k.Y || pk["alg"] != "ES384" || pk["kty"] != "EC" || pk["crv"] != "P-384" {
		t.Fatalf("public JWK %v does not match private %s", pk, priv)
	}
	thumb := sha256.Sum256([]byte(`{"crv":"P-384","kty":"EC","x":"` + k.X + `","y":"` + k.Y + `"}`))
	if k.Kid != base64.RawURLEncoding.EncodeToString(thumb[:]) {
		t.Errorf("kid %s is not the RFC 7638 thumbprint", k.Kid)
	}

	// Rebuild both keys from their JWKs and sign/verify a message.
	b64 := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return b
	}
	d := b64(k.D)
	if len(d) != 48 || len(b64(k.X)) != 48 || len(b64(k.Y)) != 48 {
		t.Fatal("P-384 members must be 48 bytes")
	}
	sk, err := ecdsa.ParseRawPrivateKey(elliptic.P384(), d)
	if err != nil {
		t.Fatal(err)
	}
	vk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), append(append([]byte{4}, b64(k.X)...), b64(k.Y)...))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha512.Sum384([]byte("client assertion"))
	sig, err := ecdsa.SignASN1(rand.Reader, sk, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(vk, digest[:], sig) {
		t.Fatal("signature by the private JWK does not verify with the public JWKS")
	}

	priv2, _, err := NewBackendKey()
	if err != nil {
		t.Fatal(err)
	}
	if string(priv2) == string(priv) {
		t.Fatal("two calls returned the same key")
	}
}
