package auth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// issueParams describes the tokens to issue for one grant.
type issueParams struct {
	clientID, username, fhirUser string
	ctx                          tokenContext  // launch context of the access token
	refreshCtx                   *tokenContext // context of a new refresh token; nil means ctx
	scopes                       []string
	refreshScopes                []string // scopes of a new refresh token; nil means scopes
	grantID                      string   // code hash, refresh family, or token id
	nonce                        string
	ttl                          time.Duration
	allowRefresh                 bool
}

// tokenRow is a stored access token.
type tokenRow struct {
	id, grantID, clientID, username, fhirUser, scope string
	ctx                                              tokenContext
	idToken                                          bool
	issued, expires                                  int64
	revoked                                          bool
}

type idTokenClaims struct {
	jwt.Claims
	Nonce    string `json:"nonce,omitempty"`
	FHIRUser string `json:"fhirUser,omitempty"`
	Name     string `json:"name,omitempty"`
}

// issue mints an access token (and optionally a refresh token and id_token) and
// returns the token response.
func (s *Server) issue(ctx context.Context, p issueParams) (map[string]any, error) {
	now := s.now().Truncate(time.Second)
	exp := now.Add(p.ttl)
	scope := strings.Join(p.scopes, " ")
	id := uuid.NewString()
	sub := p.username
	if sub == "" {
		sub = p.clientID
	}
	if p.grantID == "" {
		p.grantID = id
	}
	wantID := hasScope(p.scopes, "openid") && hasScope(p.scopes, "fhirUser") && p.fhirUser != "" && p.username != ""

	var access string
	var hash any
	if s.cfg.TokenFormat == "opaque" {
		access = randomToken(32)
		hash = sha256b64(access)
	} else {
		c := accessClaims{
			Claims: jwt.Claims{Issuer: s.cfg.FHIRBaseURL, Audience: jwt.Audience{s.cfg.FHIRBaseURL}, Subject: sub,
				Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(now), ID: id},
			ClientID: p.clientID, Scope: scope, Patient: p.ctx.patient, Encounter: p.ctx.encounter,
			FHIRContext: p.ctx.extra.FHIRContext, FHIRUser: p.fhirUser,
		}
		var err error
		if access, err = s.accessKey.sign(c); err != nil {
			return nil, err
		}
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_tokens(id, hash, grant_id, client_id, username, fhir_user, patient, encounter, need_banner, context, scope, id_token, issued_at, expires_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, id, hash, p.grantID, p.clientID, p.username, p.fhirUser, p.ctx.patient, p.ctx.encounter,
		b2i(p.ctx.needBanner), p.ctx.extra.encode(), scope, b2i(wantID), now.Unix(), exp.Unix()); err != nil {
		return nil, err
	}
	resp := s.contextParams(p.username, p.ctx)
	resp["access_token"], resp["token_type"], resp["expires_in"], resp["scope"] = access, "Bearer", int(p.ttl/time.Second), scope
	if wantID {
		c := idTokenClaims{
			Claims: jwt.Claims{Issuer: s.cfg.FHIRBaseURL, Subject: sub, Audience: jwt.Audience{p.clientID},
				Expiry: jwt.NewNumericDate(now.Add(userTokenTTL)), IssuedAt: jwt.NewNumericDate(now)},
			Nonce: p.nonce, FHIRUser: s.absoluteFHIRUser(p.fhirUser),
		}
		if hasScope(p.scopes, "profile") {
			if u, err := s.getUser(ctx, p.username); err == nil {
				c.Name = u.Name
			}
		}
		idt, err := s.idKey.sign(c)
		if err != nil {
			return nil, err
		}
		resp["id_token"] = idt
	}
	rscopes := p.refreshScopes
	if rscopes == nil {
		rscopes = p.scopes
	}
	offline, online := hasScope(rscopes, "offline_access"), hasScope(rscopes, "online_access")
	if p.allowRefresh && (offline || online) {
		ttl := refreshTTL
		if !offline {
			ttl = sessionTTL
		}
		rctx := p.ctx
		if p.refreshCtx != nil {
			rctx = *p.refreshCtx
		}
		rt := randomToken(32)
		if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_refresh(hash, grant_id, client_id, username, fhir_user, patient, encounter, scope, need_banner, context, issued_at, expires_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, sha256b64(rt), p.grantID, p.clientID, p.username, p.fhirUser, rctx.patient, rctx.encounter, strings.Join(rscopes, " "),
			b2i(rctx.needBanner), rctx.extra.encode(), now.Unix(), now.Add(ttl).Unix()); err != nil {
			return nil, err
		}
		resp["refresh_token"] = rt
	}
	return resp, nil
}

// absoluteFHIRUser turns a relative fhirUser (Practitioner/1) into an absolute URL.
func (s *Server) absoluteFHIRUser(ref string) string {
	if ref == "" || strings.Contains(ref, "://") {
		return ref
	}
	return s.cfg.FHIRBaseURL + "/" + ref
}

const tokenCols = `id, grant_id, client_id, username, fhir_user, patient, encounter, need_banner, context, scope, id_token, issued_at, expires_at, revoked`

func scanToken(row *sql.Row) (*tokenRow, error) {
	var t tokenRow
	var banner, idt, rev int
	var extra string
	if err := row.Scan(&t.id, &t.grantID, &t.clientID, &t.username, &t.fhirUser, &t.ctx.patient, &t.ctx.encounter, &banner, &extra,
		&t.scope, &idt, &t.issued, &t.expires, &rev); err != nil {
		return nil, err
	}
	t.ctx.needBanner, t.idToken, t.revoked = banner != 0, idt != 0, rev != 0
	var err error
	if t.ctx.extra, err = decodeExtra(extra); err != nil {
		return nil, err
	}
	return &t, nil
}

// lookupToken finds the stored row of a bearer token (JWT or opaque) without
// checking revocation or expiry.
func (s *Server) lookupToken(ctx context.Context, bearer string) (*tokenRow, error) {
	if bearer == "" || len(bearer) > 8192 {
		return nil, ErrInvalidToken
	}
	var row *sql.Row
	if strings.Count(bearer, ".") == 2 {
		c, err := s.verifyAccessJWT(bearer)
		if err != nil {
			return nil, err
		}
		row = s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM auth_tokens WHERE id = ?`, c.ID)
	} else {
		row = s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM auth_tokens WHERE hash = ?`, sha256b64(bearer))
	}
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInvalidToken
	}
	return t, err
}

// activeToken returns the row of a live (known, unexpired, unrevoked) token.
func (s *Server) activeToken(ctx context.Context, bearer string) (*tokenRow, error) {
	t, err := s.lookupToken(ctx, bearer)
	if err != nil {
		return nil, err
	}
	if t.revoked || s.now().Unix() >= t.expires {
		return nil, ErrInvalidToken
	}
	return t, nil
}

type cacheEntry struct {
	grant   *Grant
	tokenID string
	grantID string
	until   time.Time
}

const cacheTTL = 5 * time.Minute

var cacheInserts atomic.Int64

// ResolveToken turns a bearer token into its Grant. Results are cached until the token
// expires (at most cacheTTL); revocation evicts them. The Grant is the caller's own copy.
func (s *Server) ResolveToken(ctx context.Context, bearer string) (*Grant, error) {
	g, err := s.ResolveShared(ctx, bearer)
	if err != nil {
		return nil, err
	}
	cp := *g
	cp.FHIRContext = cloneFHIRContext(g.FHIRContext)
	return &cp, nil
}

// ResolveShared is ResolveToken without the copy: the Grant it returns is the cache's,
// shared by every request that carries the token, and must not be modified. The FHIR
// server resolves a token on every request and only reads the Grant (and its Memo).
func (s *Server) ResolveShared(ctx context.Context, bearer string) (*Grant, error) {
	now := s.now()
	// The token itself is the key: an exact match, hashed by the map, with no digest to
	// compute on every request.
	key := bearer
	if v, ok := s.cache.Load(key); ok {
		e := v.(*cacheEntry)
		if now.Before(e.until) {
			return e.grant, nil
		}
		s.cache.Delete(key)
	}
	t, err := s.activeToken(ctx, bearer)
	if err != nil {
		if !errors.Is(err, ErrInvalidToken) {
			s.log.Error("resolve token", "err", err)
		}
		return nil, ErrInvalidToken
	}
	g := &Grant{
		TokenID: t.id, ClientID: t.clientID, User: t.fhirUser, Patient: t.ctx.patient, Encounter: t.ctx.encounter,
		FHIRContext: t.ctx.extra.FHIRContext, Scope: t.scope, Scopes: parseScopes(t.scope), Audience: s.cfg.FHIRBaseURL,
		IssuedAt: time.Unix(t.issued, 0), ExpiresAt: time.Unix(t.expires, 0), memo: &grantMemo{},
	}
	until := now.Add(cacheTTL)
	if g.ExpiresAt.Before(until) {
		until = g.ExpiresAt
	}
	s.cache.Store(key, &cacheEntry{grant: g, tokenID: t.id, grantID: t.grantID, until: until})
	if cacheInserts.Add(1)%1024 == 0 {
		s.cache.Range(func(k, v any) bool {
			if !now.Before(v.(*cacheEntry).until) {
				s.cache.Delete(k)
			}
			return true
		})
	}
	return g, nil
}

// revokeAccessToken revokes one access token by id.
func (s *Server) revokeAccessToken(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE auth_tokens SET revoked = 1 WHERE id = ?`, id); err != nil {
		return err
	}
	s.cache.Range(func(k, v any) bool {
		if v.(*cacheEntry).tokenID == id {
			s.cache.Delete(k)
		}
		return true
	})
	return nil
}

// MintToken issues an access token directly (CLI, startup banner). user is a username
// (empty for a system token); scope is filtered like a requested scope.
func (s *Server) MintToken(ctx context.Context, clientID, user, patient, scope string) (map[string]any, error) {
	if _, err := s.getClient(ctx, clientID); err != nil {
		return nil, errors.New("auth: unknown client " + clientID)
	}
	p := issueParams{clientID: clientID, ctx: tokenContext{patient: patient}, scopes: grantScopes(scope, ""), ttl: userTokenTTL}
	if user != "" {
		u, err := s.getUser(ctx, user)
		if err != nil {
			return nil, errors.New("auth: unknown user " + user)
		}
		p.username, p.fhirUser = u.Username, u.FHIRUser
	}
	if len(p.scopes) == 0 {
		return nil, errors.New("auth: no valid scope")
	}
	return s.issue(ctx, p)
}
