package seed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// BackendKeyAlg is the JWS algorithm of the backend-service client's key: ES384 is one
// of the two algorithms SMART Backend Services requires servers to support (with RS384),
// and an EC key is generated in microseconds rather than the tens of milliseconds of RSA.
const BackendKeyAlg = "ES384"

// ecJWK is an EC JSON Web Key (RFC 7517/7518). D is set only in the private form.
type ecJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	D      string   `json:"d,omitempty"`
}

// NewBackendKey generates a fresh P-384 key pair for the backend-service client with
// crypto/rand (never from the seed: a key anyone can regenerate is no key). It returns
// the private key as a JWK, for the user who signs client assertions (through the CLI),
// and the public key as a JWK Set, for the server to register as the client's JWKS. The
// kid is the key's RFC 7638 thumbprint, so both documents name the same key.
func NewBackendKey() (privateJWK, publicJWKS []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("seed: generating backend key: %w", err)
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y, fixed-size coordinates
	if err != nil {
		return nil, nil, fmt.Errorf("seed: encoding backend key: %w", err)
	}
	d, err := key.Bytes() // fixed-size scalar
	if err != nil {
		return nil, nil, fmt.Errorf("seed: encoding backend key: %w", err)
	}
	size := (len(pub) - 1) / 2
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := b64(pub[1:1+size]), b64(pub[1+size:])

	// RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
	thumb := sha256.Sum256([]byte(`{"crv":"P-384","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	k := ecJWK{Kty: "EC", Kid: b64(thumb[:]), Alg: BackendKeyAlg, Crv: "P-384", X: x, Y: y}

	// key_ops rather than use, as in the SMART Backend Services examples (RFC 7517 says
	// not to send both).
	public := k
	public.KeyOps = []string{"verify"}
	if publicJWKS, err = json.Marshal(struct {
		Keys []ecJWK `json:"keys"`
	}{[]ecJWK{public}}); err != nil {
		return nil, nil, err
	}
	private := k
	private.KeyOps = []string{"sign"}
	private.D = b64(d)
	if privateJWK, err = json.Marshal(private); err != nil {
		return nil, nil, err
	}
	return privateJWK, publicJWKS, nil
}
