// Command fhirbox is a FHIR R4 server and SMART on FHIR authorization server in one binary,
// on an embedded SQLite file: an offline EHR sandbox.
package main

import (
	"context"
	"fhirbox/auth"
	"fhirbox/seed"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

func main() {
	// FHIRBOX_CPUPROFILE=file writes a CPU profile of the whole command (for measuring
	// loads and imports, which are commands rather than benchmarks).
	if path := os.Getenv("FHIRBOX_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fhirbox:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

const usage = `fhirbox — a FHIR R4 server and SMART on FHIR sandbox in one binary

Usage:
  fhirbox [serve] [flags]        start the server (default)
  fhirbox import [flags] PATH... load transaction/batch Bundles and NDJSON files or folders
  fhirbox export [--type T,...] DIR  write one NDJSON file per resource type
  fhirbox seed [--patients N] [--seed S]  add a synthetic population (deterministic)
  fhirbox reset                  delete the database and load the default demo population
  fhirbox reindex                rebuild every search index from the stored resources
  fhirbox token [--client C] [--user U] [--patient P] --scope "..."  mint an access token
  fhirbox launch --client C --patient P [--user U] [--encounter E] [--intent I] [--tenant T]
                 [--fhir-context Type/id|JSON]...  print an EHR launch URL
  fhirbox users [add --username U --password P --fhir-user Practitioner/X]
  fhirbox clients [add --id C --redirect-uri U [--secret S] --scope "..." | key CLIENT]

Flags (each has a FHIRBOX_* environment equivalent, e.g. FHIRBOX_ADDR):
`

// globalFlags are shared by every command.
type globalFlags struct {
	addr, db, baseURL, logFormat string
	memory, noSeed, open, tls    bool
	tokenFormat                  string
	practitionerAccess           string
	maxBody                      int64
}

func newFlagSet(name string, g *globalFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.addr, "addr", env("ADDR", ":8080"), "listen address")
	fs.StringVar(&g.db, "db", env("DB", "fhirbox.db"), "SQLite database file")
	fs.StringVar(&g.baseURL, "base-url", env("BASE_URL", ""), "public FHIR base URL (default http://localhost:PORT/fhir)")
	fs.BoolVar(&g.memory, "memory", envBool("MEMORY"), "use a throwaway store, deleted on exit")
	fs.BoolVar(&g.open, "open", envBool("OPEN"), "serve the FHIR API without access tokens (full access)")
	fs.StringVar(&g.tokenFormat, "token-format", env("TOKEN_FORMAT", "jwt"), "access token format: jwt or opaque")
	fs.BoolVar(&g.tls, "tls-self-signed", envBool("TLS_SELF_SIGNED"), "serve HTTPS (TLS ≥ 1.2) with a throwaway self-signed certificate")
	fs.StringVar(&g.practitionerAccess, "practitioner-access", env("PRACTITIONER_ACCESS", "all"),
		"what a practitioner's user/ scopes reach: all patients, or their panel (patients whose generalPractitioner they are)")
	fs.BoolVar(&g.noSeed, "no-seed", envBool("NO_SEED"), "start with an empty store instead of the demo population")
	fs.StringVar(&g.logFormat, "log-format", env("LOG_FORMAT", ""), "log format: text or json (default text on a terminal, json otherwise)")
	fs.Int64Var(&g.maxBody, "max-body", envInt("MAX_BODY", 16<<20), "largest accepted request body in bytes")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

func env(name, def string) string {
	if v, ok := os.LookupEnv("FHIRBOX_" + name); ok {
		return v
	}
	return def
}

func envBool(name string) bool { b, _ := strconv.ParseBool(env(name, "false")); return b }

func envInt(name string, def int64) int64 {
	n, err := strconv.ParseInt(env(name, strconv.FormatInt(def, 10)), 10, 64)
	if err != nil {
		return def
	}
	return n
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var g globalFlags
	fs := newFlagSet(cmd, &g, stderr)
	switch cmd {
	case "serve":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return serve(ctx, g, stdout, stderr)
	case "import":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return importCmd(ctx, g, fs.Args(), stdout, stderr)
	case "export":
		types := fs.String("type", "", "comma-separated resource types to export (default all)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return exportCmd(ctx, g, splitTypes(*types), fs.Arg(0), stdout, stderr)
	case "seed":
		patients := fs.Int("patients", 50, "number of patients to generate")
		seedNum := fs.Int64("seed", 1, "random seed: the same seed gives the same data")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return seedCmd(ctx, g, *patients, *seedNum, stdout, stderr)
	case "reset":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return resetCmd(ctx, g, stdout, stderr)
	case "reindex":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return reindexCmd(ctx, g, stdout, stderr)
	case "token":
		client := fs.String("client", seed.SampleAppClientID, "client the token is issued to")
		user := fs.String("user", "", "username the token acts for (e.g. dr.smith)")
		patient := fs.String("patient", "", "patient in context (e.g. pat-000001)")
		scope := fs.String("scope", "user/*.rs", "scopes to grant")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return tokenCmd(ctx, g, *client, *user, *patient, *scope, stdout, stderr)
	case "launch":
		o := addLaunchFlags(fs)
		if err := fs.Parse(args); err != nil {
			return err
		}
		return launchWith(ctx, g, o, stdout, stderr)
	case "users":
		var u auth.User
		fs.StringVar(&u.Username, "username", "", "username (users add)")
		fs.StringVar(&u.Password, "password", "", "password (users add)")
		fs.StringVar(&u.FHIRUser, "fhir-user", "", "FHIR user, e.g. Practitioner/prac-0001 (users add)")
		fs.StringVar(&u.Name, "name", "", "display name (users add)")
		sub, rest := subcommand(args)
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return usersCmd(ctx, g, sub, u, stdout, stderr)
	case "clients":
		var c auth.Client
		var redirect, grants string
		fs.StringVar(&c.ID, "id", "", "client id (clients add)")
		fs.StringVar(&c.Secret, "secret", "", "client secret: a confidential client (clients add)")
		fs.StringVar(&redirect, "redirect-uri", "", "comma-separated redirect URIs (clients add)")
		fs.StringVar(&c.Scope, "scope", "", "scopes the client may be granted (clients add)")
		fs.StringVar(&grants, "grant-types", "authorization_code,refresh_token", "grant types (clients add)")
		sub, rest := subcommand(args)
		if err := fs.Parse(rest); err != nil {
			return err
		}
		c.RedirectURIs, c.GrantTypes = splitTypes(redirect), splitTypes(grants)
		c.Public, c.AuthMethod = c.Secret == "", "none"
		if c.Secret != "" {
			c.AuthMethod = "client_secret_basic"
		}
		return clientsCmd(ctx, g, sub, c, stdout, stderr)
	case "help", "-h", "--help":
		fs.Usage()
		return nil
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", cmd)
}

func serve(ctx context.Context, g globalFlags, stdout, stderr io.Writer) error {
	log := newLogger(g.logFormat, stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &App{Config: Config{Addr: g.addr, DB: g.db, Memory: g.memory, BaseURL: g.baseURL, MaxBodyBytes: g.maxBody, Logger: log, NoSeed: g.noSeed,
		Open: g.open, TokenFormat: g.tokenFormat, TLSSelfSigned: g.tls,
		PractitionerAccess: g.practitionerAccess}}
	if err := app.Start(ctx); err != nil {
		return err
	}
	printBanner(ctx, app, g, stdout)
	<-ctx.Done()
	stop() // a second signal now kills the process instead of waiting for a slow shutdown
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return app.Close(sctx)
}

// subcommand splits leading words (add, key C) from the flags that follow.
func subcommand(args []string) (sub, rest []string) {
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			return args[:i], args[i:]
		}
	}
	return args, nil
}
