package auth

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

type registration struct {
	RedirectURIs            []string        `json:"redirect_uris"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	JWKS                    json.RawMessage `json:"jwks"`
	JWKSURI                 string          `json:"jwks_uri"`
	Scope                   string          `json:"scope"`
	ClientName              string          `json:"client_name"`
}

func regError(w http.ResponseWriter, code, desc string) {
	oauthError(w, http.StatusBadRequest, code, desc)
}

// validRedirect accepts https URLs, http on loopback hosts, and private-use
// (reverse-DNS) schemes of native apps; never fragments.
func validRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(raw, "#") {
		return false
	}
	switch u.Scheme {
	case "https":
		return u.Host != ""
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	case "javascript", "data", "file", "vbscript":
		return false
	}
	return strings.Contains(u.Scheme, ".")
}

// handleRegister serves POST /auth/register (RFC 7591 dynamic client registration).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !corsAny(w, r) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		regError(w, "invalid_client_metadata", "Content-Type must be application/json")
		return
	}
	var m registration
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&m); err != nil {
		regError(w, "invalid_client_metadata", "malformed JSON")
		return
	}
	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = "client_secret_basic"
	}
	switch m.TokenEndpointAuthMethod {
	case "none", "client_secret_basic", "client_secret_post", "private_key_jwt":
	default:
		regError(w, "invalid_client_metadata", "unsupported token_endpoint_auth_method")
		return
	}
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{"authorization_code"}
	}
	for _, g := range m.GrantTypes {
		switch g {
		case "authorization_code", "refresh_token":
		case "client_credentials":
			if m.TokenEndpointAuthMethod != "private_key_jwt" {
				regError(w, "invalid_client_metadata", "client_credentials requires private_key_jwt")
				return
			}
		default:
			regError(w, "invalid_client_metadata", "unsupported grant type "+g)
			return
		}
	}
	for _, rt := range m.ResponseTypes {
		if rt != "code" {
			regError(w, "invalid_client_metadata", "only the code response type is supported")
			return
		}
	}
	if hasScope(m.GrantTypes, "authorization_code") && len(m.RedirectURIs) == 0 {
		regError(w, "invalid_redirect_uri", "redirect_uris is required for authorization_code")
		return
	}
	for _, u := range m.RedirectURIs {
		if !validRedirect(u) {
			regError(w, "invalid_redirect_uri", "invalid redirect URI "+u)
			return
		}
	}
	hasJWKS := len(m.JWKS) > 0 && string(m.JWKS) != "null"
	if m.TokenEndpointAuthMethod == "private_key_jwt" {
		if hasJWKS == (m.JWKSURI != "") {
			regError(w, "invalid_client_metadata", "private_key_jwt needs exactly one of jwks and jwks_uri")
			return
		}
		if m.JWKSURI != "" {
			if u, err := url.Parse(m.JWKSURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				regError(w, "invalid_client_metadata", "jwks_uri must be an http(s) URL")
				return
			}
		}
		if hasJWKS {
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(m.JWKS, &set); err != nil || len(set.Keys) == 0 {
				regError(w, "invalid_client_metadata", "jwks is not a valid JWK set")
				return
			}
			for _, k := range set.Keys {
				if k.KeyID == "" || !k.IsPublic() || keyType(k) == "" {
					regError(w, "invalid_client_metadata", "every JWK needs a kid and a public RSA or EC key")
					return
				}
			}
		}
	} else if hasJWKS || m.JWKSURI != "" {
		regError(w, "invalid_client_metadata", "jwks and jwks_uri are only for private_key_jwt")
		return
	}
	var scope string
	if strings.TrimSpace(m.Scope) != "" {
		kept := grantScopes(m.Scope, "")
		if len(kept) != len(dedupe(strings.Fields(m.Scope))) {
			regError(w, "invalid_client_metadata", "scope contains unsupported scopes")
			return
		}
		scope = strings.Join(kept, " ")
	}
	c := Client{
		ID: uuid.NewString(), Name: m.ClientName, Public: m.TokenEndpointAuthMethod == "none",
		RedirectURIs: m.RedirectURIs, Scope: scope, GrantTypes: m.GrantTypes, AuthMethod: m.TokenEndpointAuthMethod,
		JWKSURI: m.JWKSURI,
	}
	if hasJWKS {
		c.JWKS = m.JWKS
	}
	if strings.HasPrefix(c.AuthMethod, "client_secret_") {
		c.Secret = randomToken(32)
	}
	if err := s.CreateClient(r.Context(), c); err != nil {
		s.log.Error("register client", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	out := map[string]any{
		"client_id": c.ID, "client_id_issued_at": s.now().Unix(),
		"redirect_uris": nonNil(c.RedirectURIs), "token_endpoint_auth_method": c.AuthMethod,
		"grant_types": c.GrantTypes, "response_types": []string{"code"},
	}
	if c.Name != "" {
		out["client_name"] = c.Name
	}
	if c.Scope != "" {
		out["scope"] = c.Scope
	}
	if c.Secret != "" {
		out["client_secret"] = c.Secret
		out["client_secret_expires_at"] = 0
	}
	if c.JWKSURI != "" {
		out["jwks_uri"] = c.JWKSURI
	}
	if hasJWKS {
		out["jwks"] = c.JWKS
	}
	writeJSON(w, http.StatusCreated, out)
}
