package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// accessTokenType is the typ header of a JWT access token (RFC 9068 section 2.1); it
// tells an access token apart from an id_token or any other JWT signed by the same issuer.
const accessTokenType = "at+jwt"

// signingKey is one of the server's own keys, with the alg and typ of what it signs.
type signingKey struct {
	kid     string
	alg     jose.SignatureAlgorithm
	typ     string
	priv    crypto.Signer
	created time.Time // when it was stored in auth_keys
}

func (k *signingKey) public() crypto.PublicKey { return k.priv.Public() }

func (k *signingKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// sign serialises claims as a compact JWS with k's alg, kid and typ.
func (k *signingKey) sign(claims any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv},
		(&jose.SignerOptions{}).WithType(jose.ContentType(k.typ)).WithHeader("kid", k.kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// loadKeys loads the newest key of each kind from auth_keys and creates any that is
// missing: an RSA key signs id_tokens (OpenID Connect and SMART require RS256 there), a
// P-256 key signs access tokens, whose ES256 signature is a quarter of RS256's and rides
// on every FHIR request. Databases from before ES256 access tokens have only the RSA
// key; their P-256 key is created on the next start. The kind is read from the PEM, so
// the table needs no type column.
func (s *Server) loadKeys(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT kid, pem, created_at FROM auth_keys ORDER BY created_at DESC, kid`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() && (s.idKey.priv == nil || s.accessKey.priv == nil) {
		var kid, p string
		var created int64
		if err := rows.Scan(&kid, &p, &created); err != nil {
			return err
		}
		priv, err := parsePrivateKey(p)
		if err != nil {
			return fmt.Errorf("key %s: %w", kid, err)
		}
		k := signingKey{kid: kid, priv: priv, created: time.Unix(created, 0)}
		switch pk := priv.(type) {
		case *rsa.PrivateKey:
			if s.idKey.priv == nil {
				k.alg, k.typ = jose.RS256, "JWT"
				s.idKey = k
			}
		case *ecdsa.PrivateKey:
			if pk.Curve == elliptic.P256() && s.accessKey.priv == nil {
				k.alg, k.typ = jose.ES256, accessTokenType
				s.accessKey = k
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close() // before inserting: the writer has a single connection
	if s.idKey.priv == nil {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		if s.idKey, err = s.storeKey(ctx, priv); err != nil {
			return err
		}
		s.idKey.alg, s.idKey.typ = jose.RS256, "JWT"
	}
	if s.accessKey.priv == nil {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		if s.accessKey, err = s.storeKey(ctx, priv); err != nil {
			return err
		}
		s.accessKey.alg, s.accessKey.typ = jose.ES256, accessTokenType
	}
	return nil
}

// storeKey saves a new private key in auth_keys as PKCS#8 PEM.
func (s *Server) storeKey(ctx context.Context, priv crypto.Signer) (signingKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return signingKey{}, err
	}
	kid, err := keyID(priv.Public())
	if err != nil {
		return signingKey{}, err
	}
	now := s.now().Truncate(time.Second)
	p := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_keys(kid, pem, created_at) VALUES (?,?,?)`, kid, p, now.Unix()); err != nil {
		return signingKey{}, err
	}
	return signingKey{kid: kid, priv: priv, created: now}, nil
}

func parsePrivateKey(p string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("bad PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return signer, nil
}

// keyID names a public key by a hash of its DER form: PKCS#1 for RSA (how the RSA kids
// already stored were derived), PKIX for the others.
func keyID(pub crypto.PublicKey) (string, error) {
	var der []byte
	if k, ok := pub.(*rsa.PublicKey); ok {
		der = x509.MarshalPKCS1PublicKey(k)
	} else {
		var err error
		if der, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:12]), nil
}

// handleJWKS serves GET /auth/jwks.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	// The RSA key first: naive OpenID clients take the first key for the id_token.
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{s.idKey.jwk(), s.accessKey.jwk()}})
}

// accessClaims are the claims of a JWT access token.
type accessClaims struct {
	jwt.Claims
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope"`
	Patient   string `json:"patient,omitempty"`
	Encounter string `json:"encounter,omitempty"`
	// FHIRContext is the SMART fhirContext launch context, like patient and encounter.
	FHIRContext []FHIRContextItem `json:"fhirContext,omitempty"`
	FHIRUser    string            `json:"fhirUser,omitempty"`
}

// accessAlgs are what verifyAccessJWT parses: ES256 and, for access tokens issued while
// the RSA key signed them, RS256.
var accessAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// verifyAccessJWT checks the signature, type, issuer and audience of one of our JWT
// access tokens. The header picks the key, and only one pairing each is ours: ES256,
// at+jwt and the P-256 kid; or RS256, JWT and the RSA kid for a token issued before the
// P-256 key existed. The RSA key still signs id_tokens, so an RS256 token issued since
// is never an access token.
func (s *Server) verifyAccessJWT(raw string) (*accessClaims, error) {
	tok, err := jwt.ParseSigned(raw, accessAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, ErrInvalidToken
	}
	h := tok.Headers[0]
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	var key *signingKey
	switch k := s.accessKey; {
	case h.Algorithm == string(k.alg) && h.KeyID == k.kid && typ == k.typ:
		key = &s.accessKey
	case h.Algorithm == string(s.idKey.alg) && h.KeyID == s.idKey.kid && typ == s.idKey.typ:
		key = &s.idKey
	default:
		return nil, ErrInvalidToken
	}
	var c accessClaims
	if err := tok.Claims(key.public(), &c); err != nil {
		return nil, ErrInvalidToken
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: s.cfg.FHIRBaseURL, AnyAudience: jwt.Audience{s.cfg.FHIRBaseURL}, Time: s.now()}, 0); err != nil {
		return nil, ErrInvalidToken
	}
	if c.ID == "" {
		return nil, ErrInvalidToken
	}
	if key == &s.idKey && (c.IssuedAt == nil || c.IssuedAt.Time().After(s.accessKey.created)) {
		return nil, ErrInvalidToken
	}
	return &c, nil
}
