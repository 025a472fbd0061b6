package auth

import (
	"net/http"
)

// handleRevoke serves POST /auth/revoke (RFC 7009). Revoking a refresh token revokes
// its whole grant; revoking an access token revokes that token. Unknown tokens, and
// tokens of other clients, are ignored: the answer is 200 either way.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !s.corsClients(w, r) {
		return
	}
	if terr := parseFormPost(w, r); terr != nil {
		terr.write(w)
		return
	}
	client, _, terr := s.authenticateClient(r)
	if terr != nil {
		terr.write(w)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	ctx := r.Context()
	hint := r.PostForm.Get("token_type_hint")
	tryAccess := func() bool {
		t, err := s.lookupToken(ctx, tok)
		if err != nil {
			return false
		}
		if t.clientID == client.ID {
			if err := s.revokeAccessToken(ctx, t.id); err != nil {
				s.log.Error("revoke access token", "err", err)
			}
		}
		return true
	}
	tryRefresh := func() bool {
		var grantID, clientID string
		if err := s.db.QueryRowContext(ctx, `SELECT grant_id, client_id FROM auth_refresh WHERE hash = ?`, sha256b64(tok)).Scan(&grantID, &clientID); err != nil {
			return false
		}
		if clientID == client.ID {
			if err := s.revokeGrant(ctx, grantID); err != nil {
				s.log.Error("revoke refresh token", "err", err)
			}
		}
		return true
	}
	if hint == "refresh_token" {
		_ = tryRefresh() || tryAccess()
	} else {
		_ = tryAccess() || tryRefresh()
	}
	w.WriteHeader(http.StatusOK)
}
