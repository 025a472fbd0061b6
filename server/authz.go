package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"fhirbox/fhirstore"
)

// Grant is what the server needs to know of an access token: who it was issued to and the
// permissions it carries. The authorization server produces it; server turns it into a
// fhirstore.Access that the store applies inside every query.
type Grant struct {
	ClientID string
	User     string // fhirUser, e.g. Practitioner/123 or Patient/456
	Patient  string // patient in context
	Audience string
	Scopes   []GrantScope

	// derived holds the access filter and scope list built from the grant, once per panel
	// setting: a resolver that returns the same *Grant for a cached token saves the
	// conversion on every request. A Grant must not change once it has been resolved.
	derived [2]struct {
		once   sync.Once
		access *fhirstore.Access
		scopes string
	}
}

// derive returns the grant's access filter and its scopes as one string.
func (g *Grant) derive(panel bool) (*fhirstore.Access, string) {
	d := &g.derived[0]
	if panel {
		d = &g.derived[1]
	}
	d.once.Do(func() {
		d.access = accessFor(g, panel)
		raw := make([]string, len(g.Scopes))
		for i, sc := range g.Scopes {
			raw[i] = sc.Raw
		}
		d.scopes = strings.Join(raw, " ")
	})
	return d.access, d.scopes
}

// GrantScope is one resource scope of a Grant, with v1 scopes already mapped to letters.
type GrantScope struct {
	Raw          string
	Level        string // patient, user or system
	ResourceType string // a type or "*"
	Interactions string // subset of "cruds"
	Query        map[string][]string
}

// TokenResolver turns a bearer token into its Grant. It returns ErrInvalidToken for a
// token that is unknown, malformed, expired or revoked.
type TokenResolver interface {
	ResolveGrant(ctx context.Context, bearer string) (*Grant, error)
}

// ErrInvalidToken is returned by a TokenResolver for any token that must not be honoured.
var ErrInvalidToken = errors.New("invalid token")

// accessFor builds the store's access filter from a grant. Patient-level scopes, and
// user-level scopes of a patient user, are confined to that patient's compartment; a
// patient scope without a patient in context grants nothing. With panel, user-level scopes
// of a practitioner are confined to the compartments of that practitioner's patients.
func accessFor(g *Grant, panel bool) *fhirstore.Access {
	a := &fhirstore.Access{Patient: g.Patient}
	userPatient, userPractitioner := "", ""
	if id, ok := strings.CutPrefix(g.User, "Patient/"); ok {
		userPatient = id
	} else if id, ok := strings.CutPrefix(g.User, "Practitioner/"); ok && panel {
		userPractitioner = id
	}
	for _, sc := range g.Scopes {
		rule := fhirstore.AccessRule{Scope: sc.Raw, Type: sc.ResourceType, Interactions: sc.Interactions, Constraints: sc.Query}
		switch sc.Level {
		case "patient":
			if g.Patient == "" {
				continue
			}
			rule.Patient = g.Patient
		case "user":
			rule.Patient, rule.Practitioner = userPatient, userPractitioner
		case "system":
		default:
			continue
		}
		if a.Level == "" || sc.Level == "patient" {
			a.Level = sc.Level
		}
		a.Rules = append(a.Rules, rule)
	}
	return a
}

// withGrant resolves the bearer token of FHIR requests into an access filter in the
// request context. metadata stays public. Without a resolver (--open) requests are
// unrestricted.
func (s *Server) withGrant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Tokens == nil || r.Method == http.MethodOptions || strings.HasSuffix(r.URL.Path, "/metadata") {
			next.ServeHTTP(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		bearer, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			bearer, ok = strings.CutPrefix(h, "bearer ")
		}
		if !ok || strings.TrimSpace(bearer) == "" {
			s.unauthorized(w, r, "", "this FHIR server needs an access token: send Authorization: Bearer <token>")
			return
		}
		g, err := s.cfg.Tokens.ResolveGrant(r.Context(), strings.TrimSpace(bearer))
		if err != nil {
			if errors.Is(err, ErrInvalidToken) {
				s.unauthorized(w, r, "invalid_token", "the access token is invalid, expired or revoked")
				return
			}
			s.writeError(w, r, err)
			return
		}
		if g.Audience != "" && strings.TrimRight(g.Audience, "/") != s.BaseURL() {
			s.unauthorized(w, r, "invalid_token", "the access token was issued for "+g.Audience+", not for "+s.BaseURL())
			return
		}
		access, scopes := g.derive(s.cfg.PractitionerPanel)
		// The writer and the record share one allocation: both live exactly as long as the request.
		st := &struct {
			sw  statusWriter
			rec decisionRecord
		}{sw: statusWriter{ResponseWriter: w}}
		sw, rec := &st.sw, &st.rec
		ctx := context.WithValue(fhirstore.WithAccess(r.Context(), access), decisionKey{}, rec)
		next.ServeHTTP(sw, r.WithContext(ctx))
		d := fhirstore.Decision{At: time.Now(), Method: r.Method, Path: r.URL.RequestURI(), Client: g.ClientID, User: g.User,
			Patient: g.Patient, Scopes: scopes, Decision: "allow", Status: sw.status, Reason: "allowed by the token's scopes"}
		if rec.denied {
			d.Decision, d.Reason = "deny", rec.reason
		} else if sw.status >= 400 {
			d.Reason = rec.reason
		}
		s.store.LogDecision(d)
	})
}

// decisionRecord carries the reason a request failed from the error funnel to the
// decision log, so the log and the OperationOutcome say the same thing.
type decisionRecord struct {
	reason string
	denied bool
}

type decisionKey struct{}

func noteReason(ctx context.Context, reason, denial string) {
	if rec, ok := ctx.Value(decisionKey{}).(*decisionRecord); ok {
		rec.reason = reason
		if denial != "" {
			rec.reason, rec.denied = denial, true
		}
	}
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, code, msg string) {
	s.store.LogDecision(fhirstore.Decision{At: time.Now(), Method: r.Method, Path: r.URL.RequestURI(),
		Decision: "deny", Status: http.StatusUnauthorized, Reason: msg})
	v := `Bearer realm="fhirbox"`
	if code != "" {
		v += `, error="` + code + `", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	s.writeJSON(w, r, http.StatusUnauthorized, operationOutcome(map[string]any{
		"severity": "error", "code": "login", "diagnostics": msg,
	}))
}
