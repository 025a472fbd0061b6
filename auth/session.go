package auth

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const sessionCookie = "fhirbox_session"

// session is a browser session at the authorization server (kept in memory).
type session struct {
	id      string
	user    string // username once logged in
	csrf    string
	expires time.Time
}

// pendingAuth is a validated authorization request waiting for login, patient
// selection and consent.
type pendingAuth struct {
	id          string
	sessionID   string
	clientID    string
	clientName  string
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scopes      []string
	patient     string
	encounter   string
	extra       extraContext // fhirContext, intent, tenant of the EHR launch
	// user is the username an EHR launch authenticated; it wins over the session's.
	user string
	// ehrBanner: the EHR shows a banner for the launch's patient.
	ehrBanner bool
	expires   time.Time
}

// userFor is the user an authorization request acts for: the EHR launch's user, else
// the browser session's logged-in user ("" before login).
func userFor(sess *session, p *pendingAuth) string {
	if p != nil && p.user != "" {
		return p.user
	}
	if sess != nil {
		return sess.user
	}
	return ""
}

func (s *Server) gcLocked(now time.Time) {
	if now.Sub(s.lastGC) < time.Minute {
		return
	}
	s.lastGC = now
	for k, v := range s.sessions {
		if now.After(v.expires) {
			delete(s.sessions, k)
		}
	}
	for k, v := range s.pending {
		if now.After(v.expires) {
			delete(s.pending, k)
		}
	}
}

func (s *Server) setSessionCookie(w http.ResponseWriter, sess *session) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: sess.id, Path: s.prefix() + "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure:  strings.HasPrefix(s.cfg.AuthBaseURL, "https://"),
		Expires: sess.expires,
	})
}

// session returns the request's live session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[c.Value]
	if sess == nil || s.now().After(sess.expires) {
		return nil
	}
	cp := *sess
	return &cp
}

// ensureSession returns the request's session, starting an anonymous one if needed.
func (s *Server) ensureSession(w http.ResponseWriter, r *http.Request) *session {
	if sess := s.session(r); sess != nil {
		return sess
	}
	return s.newSession(w, "")
}

func (s *Server) newSession(w http.ResponseWriter, user string) *session {
	now := s.now()
	sess := &session{id: randomToken(32), user: user, csrf: randomToken(32), expires: now.Add(sessionTTL)}
	s.mu.Lock()
	s.gcLocked(now)
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	s.setSessionCookie(w, sess)
	cp := *sess
	return &cp
}

// login replaces the anonymous session by a fresh logged-in one (no fixation) and
// moves its pending requests over.
func (s *Server) login(w http.ResponseWriter, old *session, user string) *session {
	sess := s.newSession(w, user)
	s.mu.Lock()
	if old != nil {
		delete(s.sessions, old.id)
		for _, p := range s.pending {
			if p.sessionID == old.id {
				p.sessionID = sess.id
			}
		}
	}
	s.mu.Unlock()
	return sess
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: s.prefix() + "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (s *Server) addPending(p *pendingAuth) {
	now := s.now()
	p.id = randomToken(24)
	p.expires = now.Add(pendingTTL)
	s.mu.Lock()
	s.gcLocked(now)
	s.pending[p.id] = p
	s.mu.Unlock()
}

// pendingFor returns a copy of the pending request id when it belongs to sess.
func (s *Server) pendingFor(sess *session, id string) *pendingAuth {
	if sess == nil || id == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[id]
	if p == nil || p.sessionID != sess.id || s.now().After(p.expires) {
		return nil
	}
	cp := *p
	return &cp
}

func (s *Server) updatePending(p *pendingAuth) {
	s.mu.Lock()
	if _, ok := s.pending[p.id]; ok {
		cp := *p
		s.pending[p.id] = &cp
	}
	s.mu.Unlock()
}

// takePending removes and returns a pending request (single use).
func (s *Server) takePending(sess *session, id string) *pendingAuth {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[id]
	if p == nil || sess == nil || p.sessionID != sess.id || s.now().After(p.expires) {
		return nil
	}
	delete(s.pending, id)
	return p
}

func csrfOK(sess *session, r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return sess != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}

// redirectWith redirects to uri with extra query parameters, keeping its own query.
func redirectWith(w http.ResponseWriter, r *http.Request, uri string, params url.Values) {
	u, err := url.Parse(uri)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}
