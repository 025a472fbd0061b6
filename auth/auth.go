// Package auth is fhirbox's SMART on FHIR (App Launch 2.2 / Backend Services)
// authorization server: discovery, authorize, token, introspection, revocation,
// dynamic registration and the login / patient picker / consent pages.
package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fhirbox/ui"
)

// Config configures the authorization server.
type Config struct {
	DB          *sql.DB // SQLite writer (MaxOpenConns 1)
	FHIRBaseURL string  // issuer and the only accepted aud
	AuthBaseURL string  // where Handler's routes live
	TokenFormat string  // "jwt" (default) or "opaque"
	Now         func() time.Time
	Logger      *slog.Logger
	Patients    PatientDirectory
}

// PatientDirectory lets the patient picker find patients.
type PatientDirectory interface {
	SearchPatients(ctx context.Context, name, birthDate string, offset, limit int) ([]PatientSummary, int, error)
	Patient(ctx context.Context, id string) (*PatientSummary, error)
}

// PatientSummary is one row of the patient picker.
type PatientSummary struct{ ID, Name, Gender, BirthDate, MRN string }

// Grant is what an access token stands for.
type Grant struct {
	TokenID, ClientID, User, Patient, Encounter string
	FHIRContext                                 []FHIRContextItem // SMART fhirContext of an EHR launch
	Scope                                       string
	Scopes                                      []Scope
	Audience                                    string
	IssuedAt, ExpiresAt                         time.Time

	// memo is shared by every copy ResolveToken returns for one cached token.
	memo *grantMemo
}

type grantMemo struct {
	once sync.Once
	v    any
}

// Memo returns what build derives from this grant, computing it once per cached token:
// the FHIR server keeps its access filter here, so a request with a known token does not
// convert scopes again. build must depend only on the grant. A Grant not returned by
// ResolveToken has no memo and builds every time.
func (g *Grant) Memo(build func() any) any {
	if g.memo == nil {
		return build()
	}
	g.memo.once.Do(func() { g.memo.v = build() })
	return g.memo.v
}

// ErrInvalidToken is returned by ResolveToken for bad, expired or revoked tokens.
var ErrInvalidToken = errors.New("invalid token")

const (
	userTokenTTL   = time.Hour
	systemTokenTTL = 300 * time.Second
	codeTTL        = 60 * time.Second
	refreshTTL     = 30 * 24 * time.Hour
	assertionMax   = 300 * time.Second
	clockSkew      = 30 * time.Second
	pendingTTL     = 10 * time.Minute
	sessionTTL     = 8 * time.Hour
)

// Server is the authorization server.
type Server struct {
	cfg   Config
	db    *sql.DB
	log   *slog.Logger
	now   func() time.Time
	pages *ui.Pages

	idKey     signingKey // RSA, RS256: id_tokens (and access tokens issued before ES256)
	accessKey signingKey // P-256, ES256: access tokens

	cache    sync.Map // bearer string -> *cacheEntry
	jwks     jwksCache
	mu       sync.Mutex
	sessions map[string]*session
	pending  map[string]*pendingAuth
	lastGC   time.Time
	jtiCount atomic.Int64
}

// New opens the authorization server: it migrates its tables and loads or creates
// its signing keys.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("auth: Config.DB is required")
	}
	if cfg.FHIRBaseURL == "" || cfg.AuthBaseURL == "" {
		return nil, errors.New("auth: FHIRBaseURL and AuthBaseURL are required")
	}
	cfg.FHIRBaseURL = strings.TrimRight(cfg.FHIRBaseURL, "/")
	cfg.AuthBaseURL = strings.TrimRight(cfg.AuthBaseURL, "/")
	switch cfg.TokenFormat {
	case "":
		cfg.TokenFormat = "jwt"
	case "jwt", "opaque":
	default:
		return nil, fmt.Errorf("auth: unknown token format %q", cfg.TokenFormat)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pages, err := ui.Load()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, db: cfg.DB, log: cfg.Logger, now: cfg.Now, pages: pages,
		sessions: map[string]*session{}, pending: map[string]*pendingAuth{},
		jwks: jwksCache{now: cfg.Now, client: &http.Client{Timeout: 10 * time.Second}},
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("auth: migrate: %w", err)
	}
	if err := s.loadKeys(ctx); err != nil {
		return nil, fmt.Errorf("auth: signing keys: %w", err)
	}
	return s, nil
}

func (s *Server) url(path string) string { return s.cfg.AuthBaseURL + path }

// prefix is the path part of AuthBaseURL, e.g. "/auth".
func (s *Server) prefix() string {
	p := s.cfg.AuthBaseURL
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			return strings.TrimRight(p[j:], "/")
		}
		return ""
	}
	return strings.TrimRight(p, "/")
}

// Handler serves every route under the auth base path.
func (s *Server) Handler() http.Handler {
	p := s.prefix()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p+"/authorize", s.handleAuthorize)
	mux.HandleFunc("POST "+p+"/authorize", s.handleAuthorize)
	mux.HandleFunc(p+"/token", s.handleToken)
	mux.HandleFunc(p+"/introspect", s.handleIntrospect)
	mux.HandleFunc(p+"/revoke", s.handleRevoke)
	mux.HandleFunc(p+"/register", s.handleRegister)
	mux.HandleFunc(p+"/jwks", s.handleJWKS)
	mux.HandleFunc("POST "+p+"/launch", s.handleLaunch)
	mux.HandleFunc("GET "+p+"/login", s.handleLoginPage)
	mux.HandleFunc("POST "+p+"/login", s.handleLoginPost)
	mux.HandleFunc("GET "+p+"/picker", s.handlePickerPage)
	mux.HandleFunc("POST "+p+"/picker", s.handlePickerPost)
	mux.HandleFunc("GET "+p+"/consent", s.handleConsentPage)
	mux.HandleFunc("POST "+p+"/consent", s.handleConsentPost)
	mux.HandleFunc(p+"/logout", s.handleLogout)
	mux.HandleFunc("GET "+p+"/static/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(ui.CSS)
	})
	mux.HandleFunc("GET "+p+"/smart-style.json", s.handleSmartStyle)
	return securityHeaders(mux)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// oauthError writes an RFC 6749 section 5.2 error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, status, body)
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// handleSmartStyle serves the smart_style_url document (SMART App Launch styling).
func (s *Server) handleSmartStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, map[string]any{
		"color_background": "#f4f6f8", "color_error": "#8a1c12", "color_highlight": "#14507a",
		"color_modal_backdrop": "", "color_success": "#1e7b34", "color_text": "#1d2733",
		"dim_border_radius": "8px", "dim_font_size": "16px", "dim_spacing_size": "16px",
		"font_family_body": "system-ui, sans-serif", "font_family_heading": "system-ui, sans-serif",
	})
}
