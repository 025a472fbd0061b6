package auth

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"
)

// grantRefreshToken serves grant_type=refresh_token with rotation: each refresh token
// works once; presenting a used one revokes its whole family.
func (s *Server) grantRefreshToken(r *http.Request) (map[string]any, *tokenError) {
	ctx := r.Context()
	client, _, terr := s.authenticateClient(r)
	if terr != nil {
		return nil, terr
	}
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		return nil, badRequest("invalid_request", "refresh_token is required")
	}
	h := sha256b64(rt)
	var grantID, clientID, username, fhirUser, scope, status, extra string
	var tc tokenContext
	var banner int
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT grant_id, client_id, username, fhir_user, patient, encounter, scope, need_banner, context, expires_at, status
		FROM auth_refresh WHERE hash = ?`, h).Scan(&grantID, &clientID, &username, &fhirUser, &tc.patient, &tc.encounter, &scope, &banner, &extra, &exp, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, badRequest("invalid_grant", "unknown refresh token")
	}
	if err == nil {
		tc.needBanner = banner != 0
		tc.extra, err = decodeExtra(extra)
	}
	if err != nil {
		return nil, serverError(s, "load refresh token", err)
	}
	if clientID != client.ID {
		return nil, badRequest("invalid_grant", "refresh token was issued to another client")
	}
	switch {
	case status == "used":
		if err := s.revokeGrant(ctx, grantID); err != nil {
			s.log.Error("revoke refresh family", "err", err)
		}
		return nil, badRequest("invalid_grant", "refresh token was already used; the authorization is revoked")
	case status != "active":
		return nil, badRequest("invalid_grant", "refresh token is revoked")
	case s.now().Unix() >= exp:
		return nil, badRequest("invalid_grant", "refresh token expired")
	}
	original := strings.Fields(scope)
	scopes := original
	if req := r.PostForm.Get("scope"); strings.TrimSpace(req) != "" {
		scopes = dedupe(strings.Fields(req))
		if !subsetOf(scopes, original) {
			return nil, badRequest("invalid_scope", "the requested scope exceeds the original grant")
		}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE auth_refresh SET status = 'used' WHERE hash = ? AND status = 'active'`, h)
	if err != nil {
		return nil, serverError(s, "rotate refresh token", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		s.revokeGrant(ctx, grantID)
		return nil, badRequest("invalid_grant", "refresh token was already used")
	}
	// The access token gets the context its (maybe narrower) scopes cover; the new refresh
	// token keeps the original scopes and so the whole context.
	resp, err := s.issue(ctx, issueParams{
		clientID: client.ID, username: username, fhirUser: fhirUser, ctx: tc.scoped(scopes), refreshCtx: &tc,
		scopes: scopes, refreshScopes: original, grantID: grantID, ttl: userTokenTTL, allowRefresh: true,
	})
	if err != nil {
		return nil, serverError(s, "issue tokens", err)
	}
	return resp, nil
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !hasScope(out, s) {
			out = append(out, s)
		}
	}
	return out
}
