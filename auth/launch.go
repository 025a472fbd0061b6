package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"
)

const launchTTL = 10 * time.Minute

type launchContext struct {
	ClientID  string `json:"client_id"`
	Patient   string `json:"patient"`
	Encounter string `json:"encounter"`
	User      string `json:"user"`
}

// handleLaunch serves POST /auth/launch: it creates an EHR launch context (valid 10
// minutes) and returns {launch, launch_url}. launch_url, given when client_id is known,
// is {origin of the client's first redirect URI}/launch?iss=...&launch=....
func (s *Server) handleLaunch(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "expected application/json")
		return
	}
	var lc launchContext
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&lc); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed JSON")
		return
	}
	launchURL := ""
	if lc.ClientID != "" {
		c, err := s.getClient(r.Context(), lc.ClientID)
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "unknown client_id")
			return
		}
		if len(c.RedirectURIs) > 0 {
			if u, err := url.Parse(c.RedirectURIs[0]); err == nil {
				launchURL = u.Scheme + "://" + u.Host + "/launch"
			}
		}
	}
	if lc.Patient != "" && s.cfg.Patients != nil {
		if pt, err := s.cfg.Patients.Patient(r.Context(), lc.Patient); err != nil || pt == nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "unknown patient")
			return
		}
	}
	id := randomToken(24)
	if _, err := s.db.ExecContext(r.Context(), `INSERT INTO auth_launches(id, client_id, patient, encounter, user, expires_at) VALUES (?,?,?,?,?,?)`,
		id, lc.ClientID, lc.Patient, lc.Encounter, lc.User, s.now().Add(launchTTL).Unix()); err != nil {
		s.log.Error("launch: insert", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	out := map[string]string{"launch": id}
	if launchURL != "" {
		out["launch_url"] = launchURL + "?" + url.Values{"iss": {s.cfg.FHIRBaseURL}, "launch": {id}}.Encode()
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) loadLaunch(ctx context.Context, id string) (*launchContext, error) {
	var lc launchContext
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT client_id, patient, encounter, user, expires_at FROM auth_launches WHERE id = ?`, id).
		Scan(&lc.ClientID, &lc.Patient, &lc.Encounter, &lc.User, &exp)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && s.now().Unix() > exp) {
		return nil, errors.New("unknown or expired launch")
	}
	if err != nil {
		return nil, err
	}
	return &lc, nil
}
