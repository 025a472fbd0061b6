package auth

import (
	"net/http"
	"strings"
)

// handleIntrospect serves POST /auth/introspect (RFC 7662). Callers authenticate as a
// confidential client or with a valid bearer token.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !s.corsClients(w, r) {
		return
	}
	if terr := parseFormPost(w, r); terr != nil {
		terr.write(w)
		return
	}
	ctx := r.Context()
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if _, err := s.ResolveShared(ctx, strings.TrimSpace(bearer)); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			oauthError(w, http.StatusUnauthorized, "invalid_token", "the bearer token is not valid")
			return
		}
	} else {
		_, method, terr := s.authenticateClient(r)
		if terr == nil && method == "none" {
			terr = invalidClient("introspection requires client authentication or a bearer token", true)
		}
		if terr != nil {
			terr.write(w)
			return
		}
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	t, err := s.activeToken(ctx, tok)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	sub := t.username
	if sub == "" {
		sub = t.clientID
	}
	// The launch context exactly as the token response gave it (SMART token-introspection:
	// every launch-context parameter SHALL be included).
	out := s.contextParams(t.username, t.ctx)
	for k, v := range map[string]any{
		"active": true, "scope": t.scope, "client_id": t.clientID, "exp": t.expires, "iat": t.issued,
		"sub": sub, "iss": s.cfg.FHIRBaseURL, "aud": s.cfg.FHIRBaseURL, "token_type": "Bearer",
	} {
		out[k] = v
	}
	if t.username != "" {
		out["username"] = t.username
	}
	if t.fhirUser != "" {
		out["fhirUser"] = s.absoluteFHIRUser(t.fhirUser)
	}
	writeJSON(w, http.StatusOK, out)
}
