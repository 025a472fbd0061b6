package auth

import (
	"net/http"
	"net/url"
	"strconv"

	"fhirbox/ui"
)

const pickerPageSize = 10

func (s *Server) page(title string, sess *session, p *pendingAuth, action string) ui.Page {
	pg := ui.Page{Title: title, CSSURL: s.url("/static/style.css"), Action: s.url(action)}
	if sess != nil {
		pg.CSRF = sess.csrf
	}
	if p != nil {
		pg.Request = p.id
	}
	return pg
}

func (s *Server) expired(w http.ResponseWriter) {
	s.errorPage(w, http.StatusBadRequest, "Request expired", "This sign-in request has expired or is not yours. Start again from the application.")
}

// handleLoginPage serves GET /auth/login?req=.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	sess := s.session(r)
	p := s.pendingFor(sess, r.URL.Query().Get("req"))
	if p == nil {
		s.expired(w)
		return
	}
	if p.user != "" { // the EHR launch authenticated the user already
		s.advance(w, r, sess, p)
		return
	}
	pg := s.page("Sign in", sess, p, "/login")
	pg.Data = map[string]string{"ClientName": p.clientName}
	s.pages.Render(w, http.StatusOK, "login", pg)
}

// handleLoginPost serves POST /auth/login.
func (s *Server) handleLoginPost(w http.ResponseWriter, r *http.Request) {
	sess := s.session(r)
	if !csrfOK(sess, r) {
		s.errorPage(w, http.StatusForbidden, "Invalid form", "The form has expired; start again from the application.")
		return
	}
	p := s.pendingFor(sess, r.PostFormValue("req"))
	if p == nil {
		s.expired(w)
		return
	}
	u, ok := s.authenticateUser(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"))
	if !ok {
		pg := s.page("Sign in", sess, p, "/login")
		pg.Error = "Unknown username or wrong password."
		pg.Data = map[string]string{"ClientName": p.clientName}
		s.pages.Render(w, http.StatusUnauthorized, "login", pg)
		return
	}
	sess = s.login(w, sess, u.Username)
	p.sessionID = sess.id
	s.advance(w, r, sess, p)
}

type pickerData struct {
	ClientName, Name, BirthDate string
	Patients                    []PatientSummary
	From, To, Total             int
	PrevURL, NextURL            string
}

// handlePickerPage serves GET /auth/picker?req=&name=&birthdate=&offset=.
func (s *Server) handlePickerPage(w http.ResponseWriter, r *http.Request) {
	sess := s.session(r)
	q := r.URL.Query()
	p := s.pendingFor(sess, q.Get("req"))
	if p == nil || userFor(sess, p) == "" {
		s.expired(w)
		return
	}
	if s.cfg.Patients == nil {
		s.errorPage(w, http.StatusInternalServerError, "No patient directory", "This server cannot search patients.")
		return
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(offset, 0)
	d := pickerData{ClientName: p.clientName, Name: q.Get("name"), BirthDate: q.Get("birthdate")}
	list, total, err := s.cfg.Patients.SearchPatients(r.Context(), d.Name, d.BirthDate, offset, pickerPageSize)
	if err != nil {
		s.log.Error("picker: search", "err", err)
		s.errorPage(w, http.StatusInternalServerError, "Search failed", "The patient search failed.")
		return
	}
	d.Patients, d.Total = list, total
	if len(list) > 0 {
		d.From, d.To = offset+1, offset+len(list)
	}
	link := func(off int) string {
		v := url.Values{"req": {p.id}, "offset": {strconv.Itoa(off)}}
		if d.Name != "" {
			v.Set("name", d.Name)
		}
		if d.BirthDate != "" {
			v.Set("birthdate", d.BirthDate)
		}
		return s.url("/picker") + "?" + v.Encode()
	}
	if offset > 0 {
		d.PrevURL = link(max(offset-pickerPageSize, 0))
	}
	if offset+len(list) < total {
		d.NextURL = link(offset + pickerPageSize)
	}
	pg := s.page("Select a patient", sess, p, "/picker")
	pg.Data = d
	s.pages.Render(w, http.StatusOK, "picker", pg)
}

// handlePickerPost serves POST /auth/picker.
func (s *Server) handlePickerPost(w http.ResponseWriter, r *http.Request) {
	sess := s.session(r)
	if !csrfOK(sess, r) {
		s.errorPage(w, http.StatusForbidden, "Invalid form", "The form has expired; start again from the application.")
		return
	}
	p := s.pendingFor(sess, r.PostFormValue("req"))
	if p == nil || userFor(sess, p) == "" || s.cfg.Patients == nil {
		s.expired(w)
		return
	}
	id := r.PostFormValue("patient")
	if id == "" {
		http.Redirect(w, r, s.url("/picker")+"?req="+url.QueryEscape(p.id), http.StatusSeeOther)
		return
	}
	pt, err := s.cfg.Patients.Patient(r.Context(), id)
	if err != nil || pt == nil {
		s.errorPage(w, http.StatusBadRequest, "Unknown patient", "The selected patient does not exist.")
		return
	}
	p.patient = pt.ID
	s.updatePending(p)
	http.Redirect(w, r, s.url("/consent")+"?req="+url.QueryEscape(p.id), http.StatusSeeOther)
}

type consentScope struct{ Raw, Text string }

// handleConsentPage serves GET /auth/consent?req=.
func (s *Server) handleConsentPage(w http.ResponseWriter, r *http.Request) {
	sess := s.session(r)
	p := s.pendingFor(sess, r.URL.Query().Get("req"))
	if p == nil || userFor(sess, p) == "" {
		s.expired(w)
		return
	}
	if p.patient == "" && needsPatient(p.scopes) {
		s.advance(w, r, sess, p)
		return
	}
	var list []consentScope
	for _, sc := range p.scopes {
		list = append(list, consentScope{Raw: sc, Text: describeScope(sc)})
	}
	patient := p.patient
	if patient != "" && s.cfg.Patients != nil {
		if pt, err := s.cfg.Patients.Patient(r.Context(), patient); err == nil && pt != nil && pt.Name != "" {
			patient = pt.Name + " (" + pt.ID + ")"
		}
	}
	pg := s.page("Allow access?", sess, p, "/consent")
	pg.Data = map[string]any{"ClientName": p.clientName, "Scopes": list, "Patient": patient, "User": userFor(sess, p)}
	s.pages.Render(w, http.StatusOK, "consent", pg)
}

// handleConsentPost serves POST /auth/consent.
func (s *Server) handleConsentPost(w http.ResponseWriter, r *http.Request) {
	sess := s.session(r)
	if !csrfOK(sess, r) {
		s.errorPage(w, http.StatusForbidden, "Invalid form", "The form has expired; start again from the application.")
		return
	}
	req := r.PostFormValue("req")
	if p := s.pendingFor(sess, req); p == nil || userFor(sess, p) == "" {
		s.expired(w)
		return
	}
	p := s.takePending(sess, req)
	if p == nil {
		s.expired(w)
		return
	}
	if p.patient == "" && needsPatient(p.scopes) {
		authzError(w, r, p.redirectURI, p.state, "access_denied", "no patient selected")
		return
	}
	if r.PostFormValue("decision") != "allow" {
		authzError(w, r, p.redirectURI, p.state, "access_denied", "the user denied the request")
		return
	}
	checked := r.PostForm["scope"]
	var granted []string
	for _, sc := range p.scopes {
		if hasScope(checked, sc) {
			granted = append(granted, sc)
		}
	}
	if len(granted) == 0 {
		authzError(w, r, p.redirectURI, p.state, "access_denied", "no scope was approved")
		return
	}
	s.finishAuthorization(r.Context(), w, r, sess, p, granted)
}

// handleLogout serves /auth/logout: it ends the browser session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.logout(w, r)
	s.pages.Render(w, http.StatusOK, "error", ui.Page{Title: "Signed out", CSSURL: s.url("/static/style.css"), Data: "You have been signed out."})
}
