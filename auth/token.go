package auth

import (
	"mime"
	"net/http"
)

// corsAny lets browser apps call an OAuth endpoint; it answers preflights. It reports
// whether the request still needs handling.
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
	if !corsAny(w, r) {
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
