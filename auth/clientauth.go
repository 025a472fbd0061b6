package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

var assertionAlgs = []jose.SignatureAlgorithm{jose.RS384, jose.ES384, jose.RS256, jose.ES256}

// tokenError is an RFC 6749 section 5.2 error.
type tokenError struct {
	status         int
	code, desc     string
	basicChallenge bool
}

func (e *tokenError) Error() string { return e.code + ": " + e.desc }

func badRequest(code, desc string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: code, desc: desc}
}

func invalidClient(desc string, basic bool) *tokenError {
	return &tokenError{status: http.StatusUnauthorized, code: "invalid_client", desc: desc, basicChallenge: basic}
}

func (e *tokenError) write(w http.ResponseWriter) {
	if e.basicChallenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="fhirbox", charset="UTF-8"`)
	}
	oauthError(w, e.status, e.code, e.desc)
}

// authenticateClient authenticates the client of a token, introspection or revocation
// request. method is the authentication used: none, client_secret_basic,
// client_secret_post or private_key_jwt.
func (s *Server) authenticateClient(r *http.Request) (c *Client, method string, terr *tokenError) {
	ctx := r.Context()
	f := r.PostForm
	if id, secret, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, "", invalidClient("malformed Basic credentials", true)
		}
		if fid := f.Get("client_id"); fid != "" && fid != id {
			return nil, "", invalidClient("client_id does not match the Basic credentials", true)
		}
		c, err := s.getClient(ctx, id)
		if err != nil || c.Public || c.secretHash == "" || !checkSecret(c.secretHash, secret) {
			return nil, "", invalidClient("client authentication failed", true)
		}
		return c, "client_secret_basic", nil
	}
	if at := f.Get("client_assertion_type"); at != "" || f.Get("client_assertion") != "" {
		if at != jwtBearer {
			return nil, "", invalidClient("unsupported client_assertion_type", false)
		}
		c, err := s.verifyAssertion(ctx, f.Get("client_assertion"), f.Get("client_id"))
		if err != nil {
			s.log.Info("client assertion rejected", "err", err)
			return nil, "", invalidClient("client assertion rejected: "+err.Error(), false)
		}
		return c, "private_key_jwt", nil
	}
	id := f.Get("client_id")
	c, err := s.getClient(ctx, id)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			s.log.Error("client lookup", "err", err)
		}
		return nil, "", invalidClient("unknown client", true)
	}
	if secret := f.Get("client_secret"); secret != "" {
		if c.Public || c.secretHash == "" || !checkSecret(c.secretHash, secret) {
			return nil, "", invalidClient("client authentication failed", true)
		}
		return c, "client_secret_post", nil
	}
	if !c.Public {
		return nil, "", invalidClient("client authentication required", c.AuthMethod != "private_key_jwt")
	}
	return c, "none", nil
}

// verifyAssertion validates a private_key_jwt client assertion (RFC 7523 section 3 and
// the SMART asymmetric profile) and returns its client.
func (s *Server) verifyAssertion(ctx context.Context, assertion, formClientID string) (*Client, error) {
	if assertion == "" {
		return nil, errors.New("client_assertion is missing")
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return nil, errors.New("unparseable JWT or unsupported alg")
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("exactly one signature expected")
	}
	h := tok.Headers[0]
	if h.KeyID == "" {
		return nil, errors.New("kid header is required")
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		return nil, errors.New("typ header must be JWT")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, errors.New("malformed claims")
	}
	if unverified.Issuer == "" || unverified.Issuer != unverified.Subject {
		return nil, errors.New("iss and sub must both be the client_id")
	}
	if formClientID != "" && formClientID != unverified.Issuer {
		return nil, errors.New("client_id does not match iss")
	}
	c, err := s.getClient(ctx, unverified.Issuer)
	if err != nil {
		return nil, errors.New("unknown client")
	}
	if c.AuthMethod != "private_key_jwt" {
		return nil, errors.New("client is not registered for private_key_jwt")
	}
	jku, _ := h.ExtraHeaders["jku"].(string)
	if _, present := h.ExtraHeaders["jku"]; present && (jku == "" || jku != c.JWKSURI) {
		return nil, errors.New("jku is not the registered jwks_uri")
	}
	key, err := s.clientKey(ctx, c, h.KeyID, jose.SignatureAlgorithm(h.Algorithm))
	if err != nil {
		return nil, err
	}
	var claims jwt.Claims
	if err := tok.Claims(key.Key, &claims); err != nil {
		return nil, errors.New("bad signature")
	}
	now := s.now()
	if claims.Expiry == nil {
		return nil, errors.New("exp is required")
	}
	exp := claims.Expiry.Time()
	if !now.Before(exp) {
		return nil, errors.New("assertion expired")
	}
	if exp.After(now.Add(assertionMax + clockSkew)) {
		return nil, errors.New("exp is more than 5 minutes in the future")
	}
	if claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(clockSkew)) {
		return nil, errors.New("assertion not yet valid")
	}
	if !claims.Audience.Contains(s.url("/token")) && !claims.Audience.Contains(s.cfg.FHIRBaseURL) {
		return nil, errors.New("aud must be the token endpoint")
	}
	if claims.ID == "" {
		return nil, errors.New("jti is required")
	}
	if err := s.useJTI(ctx, c.ID, claims.ID, exp); err != nil {
		return nil, err
	}
	return c, nil
}

// useJTI records a jti until its assertion expires; a replay fails.
func (s *Server) useJTI(ctx context.Context, iss, jti string, exp time.Time) error {
	now := s.now().Unix()
	if s.jtiCount.Add(1)%256 == 1 {
		s.db.ExecContext(ctx, `DELETE FROM auth_jti WHERE expires_at < ?`, now-int64(clockSkew/time.Second))
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO auth_jti(iss, jti, expires_at) VALUES (?,?,?) ON CONFLICT DO NOTHING`, iss, jti, exp.Unix())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errors.New("jti was already used")
	}
	return nil
}

// clientKey finds the single key of the client's JWKS with this kid and a kty matching alg.
func (s *Server) clientKey(ctx context.Context, c *Client, kid string, alg jose.SignatureAlgorithm) (*jose.JSONWebKey, error) {
	find := func(set *jose.JSONWebKeySet) (*jose.JSONWebKey, error) {
		want := "RSA"
		if strings.HasPrefix(string(alg), "ES") {
			want = "EC"
		}
		var found []jose.JSONWebKey
		for _, k := range set.Key(kid) {
			if keyType(k) == want && k.IsPublic() {
				found = append(found, k)
			}
		}
		switch len(found) {
		case 1:
			return &found[0], nil
		case 0:
			return nil, errors.New("no key with this kid and kty")
		default:
			return nil, errors.New("several keys match kid")
		}
	}
	if c.JWKSURI != "" {
		set, fresh, err := s.jwks.get(ctx, c.JWKSURI, false)
		if err != nil {
			return nil, err
		}
		k, err := find(set)
		if err != nil && !fresh { // keys may have rotated: fetch again once
			if set, _, err2 := s.jwks.get(ctx, c.JWKSURI, true); err2 == nil {
				return find(set)
			}
		}
		return k, err
	}
	if len(c.JWKS) == 0 {
		return nil, errors.New("client has no keys")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.JWKS, &set); err != nil {
		return nil, errors.New("registered JWKS is invalid")
	}
	return find(&set)
}
