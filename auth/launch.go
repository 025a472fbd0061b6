package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"time"
)

const launchTTL = 10 * time.Minute

// launchContext is an EHR launch: the context the EHR shares with the app it launches.
type launchContext struct {
	ClientID  string
	Patient   string
	Encounter string
	// User is the username the EHR has already authenticated: the authorize flow of this
	// launch skips the login page and acts for this user.
	User string
	// NeedBanner is true when the EHR does not show a patient banner itself.
	NeedBanner bool
	Extra      extraContext
}

// launchRequest is the body of POST /auth/launch.
type launchRequest struct {
	ClientID          string            `json:"client_id"`
	Patient           string            `json:"patient"`
	Encounter         string            `json:"encounter"`
	User              string            `json:"user"`
	FHIRContext       []json.RawMessage `json:"fhirContext"`
	Intent            string            `json:"intent"`
	Tenant            string            `json:"tenant"`
	NeedPatientBanner bool              `json:"need_patient_banner"`
}

// handleLaunch serves POST /auth/launch: it creates an EHR launch context (valid 10
// minutes) and returns {launch, launch_url}. launch_url, given when client_id is known,
// is {origin of the client's first redirect URI}/launch?iss=...&launch=....
//
// The body may carry client_id, patient, encounter, user (a username the EHR has
// authenticated), fhirContext (SMART 2.2 items, validated), intent, tenant and
// need_patient_banner (default false: the EHR shows the banner). Bad input is a 400
// invalid_request naming the problem.
//
// A launch that names a user starts an authorization as that user without a password, as
// an EHR does for its logged-in clinician. So only this machine may ask for one (the CLI
// does it in process; over HTTP the caller must be on a loopback address): a sandbox
// reachable from the network must not hand out its users' sessions.
func (s *Server) handleLaunch(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "expected application/json")
		return
	}
	ctx := r.Context()
	var req launchRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		desc := "malformed JSON"
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field != "" {
			desc = fmt.Sprintf("%s must be %s, not a JSON %s", te.Field, jsonKind(te.Type), te.Value)
		}
		oauthError(w, http.StatusBadRequest, "invalid_request", desc)
		return
	}
	lc := launchContext{ClientID: req.ClientID, Patient: req.Patient, Encounter: req.Encounter, User: req.User,
		NeedBanner: req.NeedPatientBanner, Extra: extraContext{Intent: req.Intent, Tenant: req.Tenant}}
	items, err := parseFHIRContext(req.FHIRContext)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	lc.Extra.FHIRContext = items
	extra := lc.Extra.encode()
	if len(extra) > maxExtraJSON {
		oauthError(w, http.StatusBadRequest, "invalid_request",
			fmt.Sprintf("fhirContext, intent and tenant take %d bytes of JSON; at most %d fit in an access token", len(extra), maxExtraJSON))
		return
	}
	launchURL := ""
	if lc.ClientID != "" {
		c, err := s.getClient(ctx, lc.ClientID)
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
		if pt, err := s.cfg.Patients.Patient(ctx, lc.Patient); err != nil || pt == nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "unknown patient")
			return
		}
	}
	if lc.User != "" && !fromLoopback(r) {
		oauthError(w, http.StatusForbidden, "access_denied", "a launch that names a user can only be created from this machine (fhirbox launch, or HTTP from a loopback address)")
		return
	}
	if lc.User != "" {
		if _, err := s.getUser(ctx, lc.User); err != nil {
			if !errors.Is(err, sql.ErrNoRows) {
				s.log.Error("launch: user lookup", "err", err)
				oauthError(w, http.StatusInternalServerError, "server_error", "")
				return
			}
			oauthError(w, http.StatusBadRequest, "invalid_request", "unknown user")
			return
		}
	}
	id := randomToken(24)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_launches(id, client_id, patient, encounter, user, need_banner, context, expires_at) VALUES (?,?,?,?,?,?,?,?)`,
		id, lc.ClientID, lc.Patient, lc.Encounter, lc.User, b2i(lc.NeedBanner), extra, s.now().Add(launchTTL).Unix()); err != nil {
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

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array"
	}
	return "a " + t.String()
}

var errUnknownLaunch = errors.New("unknown or expired launch")

// loadLaunch returns a live launch, errUnknownLaunch, or a storage error.
func (s *Server) loadLaunch(ctx context.Context, id string) (*launchContext, error) {
	var lc launchContext
	var exp int64
	var banner int
	var extra string
	err := s.db.QueryRowContext(ctx, `SELECT client_id, patient, encounter, user, need_banner, context, expires_at FROM auth_launches WHERE id = ?`, id).
		Scan(&lc.ClientID, &lc.Patient, &lc.Encounter, &lc.User, &banner, &extra, &exp)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && s.now().Unix() > exp) {
		return nil, errUnknownLaunch
	}
	if err != nil {
		return nil, err
	}
	lc.NeedBanner = banner != 0
	if lc.Extra, err = decodeExtra(extra); err != nil {
		return nil, err
	}
	return &lc, nil
}

// fromLoopback reports whether r came from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
