package auth

import (
	"net/http"
	"strings"
)

// grantClientCredentials serves SMART Backend Services (client_credentials with
// private_key_jwt). Tokens live 300 s and come without a refresh token.
func (s *Server) grantClientCredentials(r *http.Request) (map[string]any, *tokenError) {
	client, method, terr := s.authenticateClient(r)
	if terr != nil {
		return nil, terr
	}
	if method != "private_key_jwt" {
		return nil, invalidClient("client_credentials requires private_key_jwt client authentication", false)
	}
	if !client.allowsGrant("client_credentials") {
		return nil, badRequest("unauthorized_client", "the client may not use client_credentials")
	}
	requested := dedupe(strings.Fields(r.PostForm.Get("scope")))
	if len(requested) == 0 {
		return nil, badRequest("invalid_scope", "scope is required")
	}
	registered := parseScopes(client.Scope)
	for _, q := range requested {
		sc, ok := ParseScope(q)
		if !ok || sc.Level != "system" {
			return nil, badRequest("invalid_scope", "only system/ resource scopes are available: "+q)
		}
		if !anyCovers(registered, sc) {
			return nil, badRequest("invalid_scope", "scope not authorized for this client: "+q)
		}
	}
	resp, err := s.issue(r.Context(), issueParams{clientID: client.ID, scopes: requested, ttl: systemTokenTTL})
	if err != nil {
		return nil, serverError(s, "issue tokens", err)
	}
	return resp, nil
}
