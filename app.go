package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

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
}

// App is the whole program: store, HTTP server and listener. Tests start it on :0 with a
// temporary database exactly as `fhirbox serve` does.
type App struct {
	Config  Config
	Store   *fhirstore.Store
	Server  *server.Server
	BaseURL string

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
	var err error
	a.Store, err = fhirstore.Open(ctx, fhirstore.Options{Path: c.DB, Memory: c.Memory, Logger: c.Logger})
	if err != nil {
		return err
	}
	if !c.NoSeed {
		if err := a.seedIfEmpty(ctx); err != nil {
			a.Store.Close()
			return err
		}
	}
	if a.ln, err = net.Listen("tcp", c.Addr); err != nil {
		a.Store.Close()
		return err
	}
	a.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if a.BaseURL == "" {
		a.BaseURL = "http://" + publicHost(a.ln.Addr()) + "/fhir"
	}
	a.Server, err = server.New(server.Config{
		BaseURL:      a.BaseURL,
		Store:        a.Store,
		Logger:       c.Logger,
		MaxBodyBytes: c.MaxBodyBytes,
	})
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
	if err != nil {
		return fmt.Errorf("seeding the demo population: %w", err)
	}
	a.Config.Logger.Info("seeded the demo population", "patients", n, "resources", total, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
