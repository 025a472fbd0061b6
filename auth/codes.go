package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// authCode is an issued authorization code.
type authCode struct {
	hash, clientID, redirectURI, username, fhirUser, scope, nonce, challenge string
	ctx                                                                      tokenContext
	expiresAt                                                                int64
	used                                                                     bool
}

func sha256b64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// createCode stores a new code (only its hash) and returns it.
func (s *Server) createCode(ctx context.Context, c authCode) (string, error) {
	code := randomToken(32)
	c.hash = sha256b64(code)
	_, err := s.db.ExecContext(ctx, `INSERT INTO auth_codes(hash, client_id, redirect_uri, username, fhir_user, patient, encounter, scope, nonce, challenge, need_banner, context, expires_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.hash, c.clientID, c.redirectURI, c.username, c.fhirUser, c.ctx.patient, c.ctx.encounter, c.scope, c.nonce, c.challenge, b2i(c.ctx.needBanner),
		c.ctx.extra.encode(), s.now().Add(codeTTL).Unix())
	return code, err
}

var errCodeReused = errors.New("code reused")

// redeemCode marks a code used and returns it. A second redemption returns the code
// and errCodeReused.
func (s *Server) redeemCode(ctx context.Context, code string) (*authCode, error) {
	h := sha256b64(code)
	var c authCode
	var banner, used int
	var extra string
	err := s.db.QueryRowContext(ctx, `SELECT hash, client_id, redirect_uri, username, fhir_user, patient, encounter, scope, nonce, challenge, need_banner, context, expires_at, used
		FROM auth_codes WHERE hash = ?`, h).Scan(&c.hash, &c.clientID, &c.redirectURI, &c.username, &c.fhirUser, &c.ctx.patient, &c.ctx.encounter,
		&c.scope, &c.nonce, &c.challenge, &banner, &extra, &c.expiresAt, &used)
	if err != nil {
		return nil, err
	}
	c.ctx.needBanner, c.used = banner != 0, used != 0
	if c.ctx.extra, err = decodeExtra(extra); err != nil {
		return nil, err
	}
	if c.used {
		return &c, errCodeReused
	}
	res, err := s.db.ExecContext(ctx, `UPDATE auth_codes SET used = 1 WHERE hash = ? AND used = 0`, h)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &c, errCodeReused
	}
	return &c, nil
}

// revokeGrant revokes every access and refresh token issued from one grant (a code or
// a refresh token family).
func (s *Server) revokeGrant(ctx context.Context, grantID string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE auth_tokens SET revoked = 1 WHERE grant_id = ?`, grantID); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE auth_refresh SET status = 'revoked' WHERE grant_id = ?`, grantID); err != nil {
		return err
	}
	s.cache.Range(func(k, v any) bool {
		if e := v.(*cacheEntry); e.grantID == grantID {
			s.cache.Delete(k)
		}
		return true
	})
	return nil
}
