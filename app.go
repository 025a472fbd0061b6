package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"fhirbox/auth"
	"fhirbox/fhirstore"
	"fhirbox/seed"
	"fhirbox/server"
)

// Config is everything `fhirbox serve` can be told, from flags or FHIRBOX_* variables.
type Config struct {
	Addr         string // listen address, e.g. :8080 or 127.0.0.1:0
	DB           string // SQLite file
	Memory       bool   // throwaway store
	BaseURL      string // public FHIR base; derived from the listener when empty
	MaxBodyBytes int64
	Logger       *slog.Logger
	// NoSeed starts with an empty store instead of the demo population.
	NoSeed bool
	// SeedPatients is the size of the demo population loaded into an empty store.
	SeedPatients int
	// Open serves the FHIR API without access tokens (full access).
	Open bool
	// TokenFormat is jwt (default) or opaque.
	TokenFormat string
	// TLSSelfSigned serves HTTPS with a throwaway self-signed certificate.
	TLSSelfSigned bool
	// PractitionerAccess is "all" (default: a practitioner's user/ scopes reach every
	// patient) or "panel" (only the patients whose generalPractitioner they are).
	PractitionerAccess string
}

// App is the whole program: store, HTTP server and listener. Tests start it on :0 with a
// temporary database exactly as `fhirbox serve` does.
type App struct {
	Config  Config
	Store   *fhirstore.Store
	Server  *server.Server
	Auth    *auth.Server
	BaseURL string
	// Origin is scheme://host:port of the server, AuthURL its authorization server.
	Origin, AuthURL string

	ln   net.Listener
	http *http.Server
	done chan error
}

// Start opens the store, listens and serves in the background.
func (a *App) Start(ctx context.Context) error {
	c := &a.Config
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch c.PractitionerAccess {
	case "", "all", "panel":
	default:
		return fmt.Errorf("--practitioner-access must be all or panel, not %q", c.PractitionerAccess)
	}
	var err error
	a.Store, err = fhirstore.Open(ctx, fhirstore.Options{Path: c.DB, Memory: c.Memory, Logger: c.Logger})
	if err != nil {
		return err
	}
	if a.ln, err = net.Listen("tcp", c.Addr); err != nil {
		a.Store.Close()
		return err
	}
	scheme := "http"
	if c.TLSSelfSigned {
		cfg, err := selfSignedTLS()
		if err != nil {
			a.ln.Close()
			a.Store.Close()
			return err
		}
		a.ln, scheme = tls.NewListener(a.ln, cfg), "https"
	}
	a.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if a.BaseURL == "" {
		a.BaseURL = scheme + "://" + publicHost(a.ln.Addr()) + "/fhir"
	}
	u, _ := url.Parse(a.BaseURL)
	a.Origin = u.Scheme + "://" + u.Host
	a.AuthURL = a.Origin + "/auth"
	writer, _ := a.Store.DB()
	a.Auth, err = auth.New(ctx, auth.Config{
		DB: writer, FHIRBaseURL: a.BaseURL, AuthBaseURL: a.AuthURL, TokenFormat: c.TokenFormat,
		Logger: c.Logger, Patients: patientDirectory{a.Store},
	})
	if err == nil {
		// Hashing the demo passwords and loading the demo population are independent:
		// doing them at once keeps the first start short.
		seeded := make(chan error, 1)
		go func() {
			if c.NoSeed {
				seeded <- nil
				return
			}
			seeded <- a.seedIfEmpty(ctx)
		}()
		err = errors.Join(a.ensureDemoAccounts(ctx), <-seeded)
	}
	if err != nil {
		a.ln.Close()
		a.Store.Close()
		return err
	}
	scfg := server.Config{
		BaseURL:      a.BaseURL,
		Store:        a.Store,
		Logger:       c.Logger,
		MaxBodyBytes: c.MaxBodyBytes,
		Security:     smartSecurity(a.AuthURL),
		Mounts: []server.Mount{
			{Path: "/auth/", Prefix: true, Handler: a.Auth.Handler()},
			{Path: u.Path + "/.well-known/smart-configuration", Handler: http.HandlerFunc(a.Auth.SmartConfiguration)},
			{Path: u.Path + "/.well-known/openid-configuration", Handler: http.HandlerFunc(a.Auth.OpenIDConfiguration)},
			{Path: "/app/", Prefix: true, Handler: http.StripPrefix("/app/", http.FileServerFS(seed.SampleApp))},
		},
	}
	home := &server.HomeInfo{Open: c.Open}
	for _, u := range seed.DemoUsers() {
		home.Logins = append(home.Logins, server.HomeLogin{Username: u.Username, Password: u.Password, FHIRUser: u.FHIRUser})
	}
	for _, cl := range seed.DemoClients() {
		home.Clients = append(home.Clients, server.HomeClient{ID: cl.ID, Kind: clientKind(cl)})
	}
	scfg.Home = home
	if !c.Open {
		scfg.Tokens = grantResolver{a.Auth}
		scfg.PractitionerPanel = c.PractitionerAccess == "panel"
	} else {
		c.Logger.Warn("the FHIR API is open: no access token is needed and every request has full access (--open)")
	}
	a.Server, err = server.New(scfg)
	if err != nil {
		a.ln.Close()
		a.Store.Close()
		return err
	}
	a.http = &http.Server{
		Handler:           a.Server.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(c.Logger.Handler(), slog.LevelWarn),
	}
	a.done = make(chan error, 1)
	go func() { a.done <- a.http.Serve(a.ln) }()
	return nil
}

// publicHost names the listener the way a user would type it: localhost for wildcard and
// loopback addresses.
func publicHost(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := "localhost"
	if !tcp.IP.IsUnspecified() && !tcp.IP.IsLoopback() {
		host = tcp.IP.String()
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// Close stops accepting requests, lets running ones finish (bounded by ctx) and closes the
// store.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.http != nil {
		errs = append(errs, a.http.Shutdown(ctx))
		if err := <-a.done; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// seedIfEmpty loads the demo population into a store that has never held a resource, so
// `go run .` opens onto a believable EHR.
func (a *App) seedIfEmpty(ctx context.Context) error {
	counts, err := a.Store.Counts(ctx)
	if err != nil || len(counts) > 0 {
		return err
	}
	n := a.Config.SeedPatients
	if n <= 0 {
		n = seed.DefaultPatients
	}
	start := time.Now()
	total, err := loadSeed(ctx, a.Store, n, 1, nil)
	if err == nil {
		err = a.Store.Optimize(ctx)
	}
	if err != nil {
		return fmt.Errorf("seeding the demo population: %w", err)
	}
	a.Config.Logger.Info("seeded the demo population", "patients", n, "resources", total, "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// ensureDemoAccounts creates the demo users and clients that do not exist yet. The
// backend-services client gets a fresh key pair on first start; its private key stays in
// the database for `fhirbox clients key`.
func (a *App) ensureDemoAccounts(ctx context.Context) error {
	users, err := a.Auth.ListUsers(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, u := range users {
		have[u.Username] = true
	}
	for _, u := range seed.DemoUsers() {
		if have[u.Username] {
			continue
		}
		if err := a.Auth.CreateUser(ctx, auth.User{Username: u.Username, Password: u.Password, Name: u.Name, FHIRUser: u.FHIRUser}); err != nil {
			return err
		}
	}
	clients, err := a.Auth.ListClients(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, c := range clients {
		known[c.ID] = true
	}
	for _, c := range seed.DemoClients() {
		cl := auth.Client{ID: c.ID, Name: c.Name, Secret: c.Secret, Public: c.Public, RedirectURIs: c.RedirectURIs(a.Origin),
			Scope: c.Scope, GrantTypes: c.GrantTypes, AuthMethod: c.AuthMethod}
		if c.AuthMethod == "private_key_jwt" {
			if known[c.ID] {
				continue // keep its registered key
			}
			priv, pub, err := seed.NewBackendKey()
			if err != nil {
				return err
			}
			if err := a.Store.SetMeta(ctx, "backend_key:"+c.ID, priv); err != nil {
				return err
			}
			cl.JWKS = pub
		}
		if err := a.Auth.CreateClient(ctx, cl); err != nil {
			return err
		}
	}
	return nil
}
