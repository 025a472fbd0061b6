package auth

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// corsAny lets browser apps from any origin call an endpoint (dynamic registration,
// which apps call before they have a registered origin); it answers preflights. It
// reports whether the request still needs handling.
func corsAny(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

// corsClients is CORS for the token, introspection and revocation endpoints, which SMART
// says SHALL allow the client's registered origin(s): the request's Origin is reflected
// when it is the origin of a redirect URI of some registered client, and other origins
// get no Access-Control-Allow-Origin. Any client's origin counts, not only the
// requesting one's: a preflight names no client, and an app must be able to read the
// invalid_client error of a request whose client authentication failed. It answers
// preflights and reports whether the request still needs handling.
func (s *Server) corsClients(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" && s.registeredOrigin(r.Context(), origin) {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			h.Set("Access-Control-Max-Age", "600")
		}
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

// registeredOrigin reports whether origin (an Origin header) is the origin of a redirect
// URI of a registered client. Clients are read on each call, not cached: the CLI adds
// clients to the database of a running server.
func (s *Server) registeredOrigin(ctx context.Context, origin string) bool {
	want, ok := originOf(origin)
	if !ok || !strings.EqualFold(want, origin) {
		return false // not a bare scheme://host[:port], e.g. "null"
	}
	u, _ := url.Parse(want)
	// Narrow the rows down in SQL by host; compare origins exactly below.
	rows, err := s.db.QueryContext(ctx, `SELECT redirect_uris FROM auth_clients WHERE instr(lower(redirect_uris), ?) > 0`, u.Hostname())
	if err != nil {
		s.log.Error("cors: list clients", "err", err)
		return false
	}
	defer rows.Close()
	for rows.Next() {
		var raw string
		var uris []string
		if rows.Scan(&raw) != nil || json.Unmarshal([]byte(raw), &uris) != nil {
			continue
		}
		for _, ru := range uris {
			if o, ok := originOf(ru); ok && o == want {
				return true
			}
		}
	}
	if err := rows.Err(); err != nil {
		s.log.Error("cors: list clients", "err", err)
	}
	return false
}

// originOf returns the origin (RFC 6454 serialization: lowercase scheme and host, no
// default port) of an absolute http(s) URL.
func originOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil {
		return "", false
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// parseFormPost checks for a POST with an application/x-www-form-urlencoded body and
// parses it.
func parseFormPost(w http.ResponseWriter, r *http.Request) *tokenError {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		return badRequest("invalid_request", "use POST with application/x-www-form-urlencoded")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return badRequest("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return badRequest("invalid_request", "malformed form body")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "scope" {
			return badRequest("invalid_request", "parameter "+k+" is repeated")
		}
	}
	return nil
}

// handleToken serves POST /auth/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !s.corsClients(w, r) {
		return
	}
	if terr := parseFormPost(w, r); terr != nil {
		terr.write(w)
		return
	}
	var resp map[string]any
	var terr *tokenError
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		resp, terr = s.grantAuthorizationCode(r)
	case "refresh_token":
		resp, terr = s.grantRefreshToken(r)
	case "client_credentials":
		resp, terr = s.grantClientCredentials(r)
	case "":
		terr = badRequest("invalid_request", "grant_type is required")
	default:
		terr = badRequest("unsupported_grant_type", "unsupported grant_type "+gt)
	}
	if terr != nil {
		terr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func serverError(s *Server, what string, err error) *tokenError {
	s.log.Error(what, "err", err)
	return &tokenError{status: http.StatusInternalServerError, code: "server_error", desc: "internal error"}
}
