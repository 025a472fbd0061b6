package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"strings"
)

var pkceVerifier = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// grantAuthorizationCode exchanges an authorization code (RFC 6749 4.1.3, PKCE RFC 7636).
func (s *Server) grantAuthorizationCode(r *http.Request) (map[string]any, *tokenError) {
	ctx := r.Context()
	client, _, terr := s.authenticateClient(r)
	if terr != nil {
		return nil, terr
	}
	f := r.PostForm
	code := f.Get("code")
	if code == "" {
		return nil, badRequest("invalid_request", "code is required")
	}
	c, err := s.redeemCode(ctx, code)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, badRequest("invalid_grant", "unknown code")
	case errors.Is(err, errCodeReused):
		if err := s.revokeGrant(ctx, c.hash); err != nil {
			s.log.Error("revoke reused code grant", "err", err)
		}
		return nil, badRequest("invalid_grant", "code was already used; tokens issued from it are revoked")
	case err != nil:
		return nil, serverError(s, "redeem code", err)
	}
	if c.clientID != client.ID {
		return nil, badRequest("invalid_grant", "code was issued to another client")
	}
	if s.now().Unix() > c.expiresAt {
		return nil, badRequest("invalid_grant", "code expired")
	}
	if f.Get("redirect_uri") != c.redirectURI {
		return nil, badRequest("invalid_grant", "redirect_uri does not match the authorization request")
	}
	v := f.Get("code_verifier")
	if !pkceVerifier.MatchString(v) {
		return nil, badRequest("invalid_grant", "code_verifier is missing or malformed")
	}
	sum := sha256.Sum256([]byte(v))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
		return nil, badRequest("invalid_grant", "code_verifier does not match code_challenge")
	}
	scopes := strings.Fields(c.scope)
	allowRefresh := client.allowsGrant("refresh_token")
	if !allowRefresh {
		scopes = removeScope(removeScope(scopes, "offline_access"), "online_access")
	}
	resp, err := s.issue(ctx, issueParams{
		clientID: client.ID, username: c.username, fhirUser: c.fhirUser, ctx: c.ctx,
		scopes: scopes, grantID: c.hash, nonce: c.nonce, ttl: userTokenTTL, allowRefresh: allowRefresh,
	})
	if err != nil {
		return nil, serverError(s, "issue tokens", err)
	}
	return resp, nil
}
