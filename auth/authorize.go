package auth

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"fhirbox/ui"
)

var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// errorPage shows an error to the user without redirecting (unknown client, bad redirect_uri).
func (s *Server) errorPage(w http.ResponseWriter, status int, title, detail string) {
	s.pages.Render(w, status, "error", ui.Page{Title: title, CSSURL: s.url("/static/style.css"), Data: detail})
}

// authzError redirects an authorization error to the client (RFC 6749 section 4.1.2.1).
func authzError(w http.ResponseWriter, r *http.Request, redirectURI, state, code, desc string) {
	redirectWith(w, r, redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
}

// sameAudience compares aud with the FHIR base, ignoring one trailing slash.
func (s *Server) sameAudience(aud string) bool {
	return aud != "" && strings.TrimSuffix(aud, "/") == s.cfg.FHIRBaseURL
}

// handleAuthorize serves GET and POST /auth/authorize.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "Invalid request", "The authorization request could not be parsed.")
		return
	}
	f := r.Form
	ctx := r.Context()
	client, err := s.getClient(ctx, f.Get("client_id"))
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			s.log.Error("authorize: client lookup", "err", err)
		}
		s.errorPage(w, http.StatusBadRequest, "Unknown application", "The client_id is missing or not registered.")
		return
	}
	redirectURI := f.Get("redirect_uri")
	if redirectURI == "" || !client.hasRedirect(redirectURI) {
		s.errorPage(w, http.StatusBadRequest, "Invalid redirect URI", "The redirect_uri is missing or not registered for this application.")
		return
	}
	state := f.Get("state")
	fail := func(code, desc string) { authzError(w, r, redirectURI, state, code, desc) }

	switch rt := f.Get("response_type"); {
	case rt == "":
		fail("invalid_request", "response_type is required")
		return
	case rt != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	}
	if !client.allowsGrant("authorization_code") {
		fail("unauthorized_client", "the client may not use the authorization code grant")
		return
	}
	if state == "" {
		fail("invalid_request", "state is required")
		return
	}
	aud := f.Get("aud")
	if aud == "" {
		aud = f.Get("resource")
	}
	if !s.sameAudience(aud) {
		fail("invalid_request", "aud must be the FHIR base URL "+s.cfg.FHIRBaseURL)
		return
	}
	if m := f.Get("code_challenge_method"); m != "S256" {
		fail("invalid_request", "code_challenge_method must be S256")
		return
	}
	challenge := f.Get("code_challenge")
	if !pkceChallenge.MatchString(challenge) {
		fail("invalid_request", "code_challenge is missing or malformed")
		return
	}
	scopes := grantScopes(f.Get("scope"), client.Scope)
	p := &pendingAuth{
		clientID: client.ID, clientName: client.Name, redirectURI: redirectURI, state: state,
		nonce: f.Get("nonce"), challenge: challenge,
	}
	if p.clientName == "" {
		p.clientName = client.ID
	}
	if launch := f.Get("launch"); launch != "" {
		lc, err := s.loadLaunch(ctx, launch)
		if err != nil && !errors.Is(err, errUnknownLaunch) {
			s.log.Error("authorize: load launch", "err", err)
			fail("server_error", "could not load the launch")
			return
		}
		if err != nil || (lc.ClientID != "" && lc.ClientID != client.ID) {
			fail("invalid_request", "unknown or expired launch")
			return
		}
		if lc.User != "" {
			// The EHR authenticated this user: no login page, whoever the browser's
			// session belongs to.
			if _, err := s.getUser(ctx, lc.User); err != nil {
				fail("invalid_request", "the launch's user no longer exists")
				return
			}
			p.user = lc.User
		}
		if hasScope(scopes, "launch") {
			p.patient, p.encounter, p.extra = lc.Patient, lc.Encounter, lc.Extra
			p.ehrBanner = lc.Patient != "" && !lc.NeedBanner
		}
	} else if hasScope(scopes, "launch") {
		// EHR launch scope without a launch: no EHR context to share.
		scopes = removeScope(scopes, "launch")
	}
	if len(scopes) == 0 {
		fail("invalid_scope", "none of the requested scopes can be granted")
		return
	}
	p.scopes = scopes
	sess := s.ensureSession(w, r)
	p.sessionID = sess.id
	s.addPending(p)
	s.advance(w, r, sess, p)
}

func removeScope(scopes []string, drop string) []string {
	out := scopes[:0:0]
	for _, s := range scopes {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// advance sends the browser to the next step: login, patient picker, or consent.
func (s *Server) advance(w http.ResponseWriter, r *http.Request, sess *session, p *pendingAuth) {
	q := "?req=" + url.QueryEscape(p.id)
	user := userFor(sess, p)
	if user == "" {
		http.Redirect(w, r, s.url("/login")+q, http.StatusFound)
		return
	}
	if p.patient == "" && needsPatient(p.scopes) {
		if u, err := s.getUser(r.Context(), user); err == nil {
			if id, ok := strings.CutPrefix(u.FHIRUser, "Patient/"); ok && id != "" {
				p.patient = id
				s.updatePending(p)
			}
		}
	}
	if p.patient == "" && needsPatient(p.scopes) {
		http.Redirect(w, r, s.url("/picker")+q, http.StatusFound)
		return
	}
	http.Redirect(w, r, s.url("/consent")+q, http.StatusFound)
}

// finishAuthorization issues the code for the consented scopes and redirects to the client.
func (s *Server) finishAuthorization(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *session, p *pendingAuth, granted []string) {
	u, err := s.getUser(ctx, userFor(sess, p))
	if err != nil {
		authzError(w, r, p.redirectURI, p.state, "server_error", "user not found")
		return
	}
	tc := tokenContext{patient: p.patient, encounter: p.encounter, extra: p.extra}.scoped(granted)
	// The app shows a banner unless the EHR shows one for this very patient (a patient
	// picked here, not by the EHR, is not on the EHR's screen).
	tc.needBanner = tc.patient != "" && !p.ehrBanner
	code, err := s.createCode(ctx, authCode{
		clientID: p.clientID, redirectURI: p.redirectURI, username: u.Username, fhirUser: u.FHIRUser,
		ctx: tc, scope: strings.Join(granted, " "), nonce: p.nonce, challenge: p.challenge,
	})
	if err != nil {
		s.log.Error("authorize: create code", "err", err)
		authzError(w, r, p.redirectURI, p.state, "server_error", "could not issue a code")
		return
	}
	redirectWith(w, r, p.redirectURI, url.Values{"code": {code}, "state": {p.state}})
}
