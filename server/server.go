// Package server is fhirbox's HTTP layer: the FHIR REST API on top of fhirstore, the SMART
// endpoints of auth mounted beside it, and the UI. gorilla/mux stays inside this package.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"fhirbox/fhirstore"
)

// Config wires a Server.
type Config struct {
	// BaseURL is the public FHIR base, e.g. http://localhost:8080/fhir.
	BaseURL string
	Store   *fhirstore.Store
	Logger  *slog.Logger
	// MaxBodyBytes caps request bodies (default 16 MiB).
	MaxBodyBytes int64
	// Mounts are non-FHIR handlers (authorization server, discovery, sample app, home
	// page) routed before the FHIR API.
	Mounts []Mount
	// Version is fhirbox's version for the CapabilityStatement.
	Version string
	// Security is the CapabilityStatement rest.security element (SMART's oauth-uris and
	// service coding) when an authorization server guards the API.
	Security map[string]any
	// Tokens resolves bearer tokens; nil serves the API open (--open).
	Tokens TokenResolver
	// PractitionerPanel confines user/ scopes of a Practitioner user to the patients whose
	// generalPractitioner is that practitioner (and their compartments). Off, a
	// practitioner sees every patient, the sandbox default.
	PractitionerPanel bool
	// Home is what the home page at / lists.
	Home *HomeInfo
}

// Mount routes Path (or, with Prefix, everything under it) to Handler.
type Mount struct {
	Path    string
	Prefix  bool
	Handler http.Handler
}

// Server serves the FHIR REST API.
type Server struct {
	cfg      Config
	store    *fhirstore.Store
	log      *slog.Logger
	base     *url.URL
	baseURL  string // base.String(), which every enforced request compares a token's aud with
	basePath string
	router   *mux.Router
	started  time.Time
	// capability is the CapabilityStatement, encoded once at start.
	capability []byte
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("base URL %q must be absolute", cfg.BaseURL)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == "" {
		cfg.Version = "0.1.0"
	}
	s := &Server{cfg: cfg, store: cfg.Store, log: cfg.Logger, base: base, baseURL: base.String(), basePath: base.Path, started: time.Now()}
	if s.basePath == "" {
		s.basePath = "/"
	}
	s.routes()
	if s.capability, err = encode(s.capabilityStatement()); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the root handler with the middleware chain applied.
func (s *Server) Handler() http.Handler {
	return s.withRequestID(s.withLogging(s.withRecover(s.router)))
}

// BaseURL is the FHIR base without a trailing slash.
func (s *Server) BaseURL() string { return s.baseURL }

func (s *Server) routes() {
	r := mux.NewRouter()
	r.StrictSlash(false)
	r.SkipClean(true)
	for _, m := range s.cfg.Mounts {
		if m.Prefix {
			r.PathPrefix(m.Path).Handler(m.Handler)
		} else {
			r.Path(m.Path).Handler(m.Handler)
		}
	}
	r.Path("/").Methods(http.MethodGet, http.MethodHead).HandlerFunc(s.handleHome)
	r.Path("/decisions").Methods(http.MethodGet, http.MethodHead).HandlerFunc(s.handleDecisions)
	p := strings.TrimRight(s.base.Path, "/")
	f := r.PathPrefix(p).Subrouter()
	f.Use(s.withCORS, s.withNegotiation, s.withGrant)
	f.Methods(http.MethodOptions).HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

	const typ = "{type:[A-Z][A-Za-z]+}"
	const id = "{id:[^/$_][^/]*}"
	f.HandleFunc("/metadata", s.handleMetadata).Methods(http.MethodGet, http.MethodHead)
	f.HandleFunc("", s.handleBundle).Methods(http.MethodPost)
	f.HandleFunc("/", s.handleBundle).Methods(http.MethodPost)
	f.HandleFunc("/_history", s.handleHistory).Methods(http.MethodGet)
	f.HandleFunc("", s.handleSearch).Methods(http.MethodGet)
	f.HandleFunc("/", s.handleSearch).Methods(http.MethodGet)
	f.HandleFunc("/_search", s.handleSearch).Methods(http.MethodPost)
	f.HandleFunc("/"+typ+"/_history", s.handleHistory).Methods(http.MethodGet)
	f.HandleFunc("/"+typ+"/_search", s.handleSearch).Methods(http.MethodPost, http.MethodGet)
	f.HandleFunc("/Patient/$everything", s.handleEverything).Methods(http.MethodGet)
	f.HandleFunc("/Patient/"+id+"/$everything", s.handleEverything).Methods(http.MethodGet)
	f.HandleFunc("/"+typ, s.handleSearch).Methods(http.MethodGet, http.MethodHead)
	f.HandleFunc("/"+typ, s.handleCreate).Methods(http.MethodPost)
	f.HandleFunc("/"+typ, s.handleConditionalUpdate).Methods(http.MethodPut)
	f.HandleFunc("/"+typ, s.handleConditionalDelete).Methods(http.MethodDelete)
	f.HandleFunc("/"+typ, s.handleConditionalPatch).Methods(http.MethodPatch)
	f.HandleFunc("/"+typ+"/"+id+"/_history", s.handleHistory).Methods(http.MethodGet)
	f.HandleFunc("/"+typ+"/"+id+"/_history/{vid}", s.handleVRead).Methods(http.MethodGet, http.MethodHead)
	f.HandleFunc("/"+typ+"/"+id, s.handleRead).Methods(http.MethodGet, http.MethodHead)
	f.HandleFunc("/"+typ+"/"+id, s.handleUpdate).Methods(http.MethodPut)
	f.HandleFunc("/"+typ+"/"+id, s.handlePatch).Methods(http.MethodPatch)
	f.HandleFunc("/"+typ+"/"+id, s.handleDelete).Methods(http.MethodDelete)
	f.HandleFunc("/{ctype:[A-Z][A-Za-z]+}/"+id+"/{type:[A-Z][A-Za-z]+|\\*}", s.handleCompartmentSearch).Methods(http.MethodGet)
	// The router's fallbacks bypass subrouter middleware, so they get CORS themselves.
	f.NotFoundHandler = s.withCORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// gorilla/mux reports a method mismatch under a path prefix as "not found"; find
		// the methods the path does accept to answer 405 with Allow instead.
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			var match mux.RouteMatch
			if r2 := r.Clone(r.Context()); true {
				r2.Method = m
				if s.router.Match(r2, &match) && match.MatchErr == nil && match.Route != nil {
					allow = append(allow, m)
				}
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			_, oo := s.outcome(r.Context(), fhirstore.Errorf(fhirstore.ENotSupported, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
			s.writeJSON(w, r, http.StatusMethodNotAllowed, oo)
			return
		}
		s.fail(w, r, fhirstore.ENotFound, "no FHIR interaction at %s %s", r.Method, r.URL.Path)
	}))
	f.MethodNotAllowedHandler = s.withCORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, oo := s.outcome(r.Context(), fhirstore.Errorf(fhirstore.ENotSupported, "%s is not allowed on %s", r.Method, r.URL.Path))
		s.writeJSON(w, r, http.StatusMethodNotAllowed, oo)
	}))
	s.router = r
}

type ctxKey int

const requestIDKey ctxKey = iota

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) withLogging(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)), slog.String("request_id", requestID(r.Context())))
	})
}

func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withCORS lets browser apps on any origin call the FHIR API with a bearer token. The
// origin is reflected rather than "*" so that credentialed requests work too.
func (s *Server) withCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "ETag, Location, Last-Modified, Content-Location, X-Request-Id, WWW-Authenticate")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer, X-Request-Id")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
