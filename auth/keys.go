package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// loadKey loads the newest RSA signing key, creating one on first start.
func (s *Server) loadKey(ctx context.Context) error {
	var kid, p string
	err := s.db.QueryRowContext(ctx, `SELECT kid, pem FROM auth_keys ORDER BY created_at DESC, kid LIMIT 1`).Scan(&kid, &p)
	if errors.Is(err, sql.ErrNoRows) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(x509.MarshalPKCS1PublicKey(&key.PublicKey))
		kid = base64.RawURLEncoding.EncodeToString(sum[:12])
		p = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_keys(kid, pem, created_at) VALUES (?,?,?)`, kid, p, s.now().Unix()); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return errors.New("bad PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return errors.New("signing key is not RSA")
	}
	s.key, s.kid = rk, kid
	return nil
}

func (s *Server) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: string(jose.RS256), Use: "sig"}
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
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{s.publicJWK()}})
}

// sign signs claims as an RS256 JWT.
func (s *Server) sign(claims any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
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

// verifyAccessJWT checks the signature, issuer and audience of one of our JWT access tokens.
func (s *Server) verifyAccessJWT(raw string) (*accessClaims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, ErrInvalidToken
	}
	var c accessClaims
	if err := tok.Claims(&s.key.PublicKey, &c); err != nil {
		return nil, ErrInvalidToken
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: s.cfg.FHIRBaseURL, AnyAudience: jwt.Audience{s.cfg.FHIRBaseURL}, Time: s.now()}, 0); err != nil {
		return nil, ErrInvalidToken
	}
	if c.ID == "" {
		return nil, ErrInvalidToken
	}
	return &c, nil
}
