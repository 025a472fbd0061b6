package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"fhirbox/auth"
	"fhirbox/fhirstore"
	"fhirbox/seed"
)

// openAuth opens the store and the authorization server as `serve` would, without
// listening, for the token, users and clients commands.
func openAuth(ctx context.Context, g globalFlags, stderr io.Writer) (*fhirstore.Store, *auth.Server, error) {
	store, a, _, err := openAuthBase(ctx, g, stderr)
	return store, a, err
}

// openDB opens the database the global flags name, logging to stderr.
func openDB(ctx context.Context, g globalFlags, stderr io.Writer) (*fhirstore.Store, error) {
	return fhirstore.Open(ctx, fhirstore.Options{Path: g.db, Memory: g.memory, Logger: newLogger(g.logFormat, stderr)})
}

func openAuthBase(ctx context.Context, g globalFlags, stderr io.Writer) (*fhirstore.Store, *auth.Server, string, error) {
	store, err := openDB(ctx, g, stderr)
	if err != nil {
		return nil, nil, "", err
	}
	base := strings.TrimRight(g.baseURL, "/")
	if base == "" {
		_, port, err := net.SplitHostPort(g.addr)
		if err != nil || port == "" || port == "0" {
			port = "8080"
		}
		base = "http://localhost:" + port + "/fhir"
	}
	origin := strings.TrimSuffix(base, "/fhir")
	if i := strings.Index(base[len("http://"):], "/"); i >= 0 {
		origin = base[:len("http://")+i]
	}
	a, err := auth.New(ctx, auth.Config{DB: mustWriter(store), FHIRBaseURL: base, AuthBaseURL: origin + "/auth",
		TokenFormat: g.tokenFormat, Logger: newLogger(g.logFormat, stderr), Patients: patientDirectory{store}})
	if err != nil {
		store.Close()
		return nil, nil, "", err
	}
	return store, a, base, nil
}

func mustWriter(s *fhirstore.Store) *sql.DB { w, _ := s.DB(); return w }

// tokenCmd mints an access token for curl and prints the token response as JSON.
func tokenCmd(ctx context.Context, g globalFlags, client, user, patient, scope string, stdout, stderr io.Writer) error {
	store, a, err := openAuth(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	tok, err := a.MintToken(ctx, client, user, patient, scope)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(tok)
}

// usersCmd lists users or adds one: users add --username U --password P --fhir-user Practitioner/X.
func usersCmd(ctx context.Context, g globalFlags, args []string, user auth.User, stdout, stderr io.Writer) error {
	store, a, err := openAuth(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	if len(args) > 0 && args[0] == "add" {
		if err := a.CreateUser(ctx, user); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added user %s (%s)\n", user.Username, user.FHIRUser)
		return nil
	}
	users, err := a.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		fmt.Fprintf(stdout, "%-16s %-28s %s\n", u.Username, u.FHIRUser, u.Name)
	}
	return nil
}

// clientsCmd lists clients, adds one, or prints a backend client's private key:
// clients add --id C --redirect-uri U [--secret S] --scope "...", clients key C.
func clientsCmd(ctx context.Context, g globalFlags, args []string, c auth.Client, stdout, stderr io.Writer) error {
	store, a, err := openAuth(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	switch {
	case len(args) > 0 && args[0] == "add":
		if err := a.CreateClient(ctx, c); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added client %s\n", c.ID)
		return nil
	case len(args) > 1 && args[0] == "key":
		key, err := store.Meta(ctx, "backend_key:"+args[1])
		if err != nil {
			return err
		}
		if key == nil {
			return fmt.Errorf("no private key is kept for client %q (only the demo %s has one)", args[1], seed.BackendServiceClientID)
		}
		_, err = fmt.Fprintln(stdout, string(key))
		return err
	}
	clients, err := a.ListClients(ctx)
	if err != nil {
		return err
	}
	for _, c := range clients {
		fmt.Fprintf(stdout, "%-18s %-22s %s\n", c.ID, c.AuthMethod, c.Scope)
	}
	return nil
}

// launchOptions are the flags of `fhirbox launch`.
type launchOptions struct {
	client, patient, user, encounter, intent, tenant string
	fhirContext                                      fhirContextFlag
}

// addLaunchFlags defines the flags of `fhirbox launch` on fs.
func addLaunchFlags(fs *flag.FlagSet) *launchOptions {
	o := &launchOptions{}
	fs.StringVar(&o.client, "client", seed.SampleAppClientID, "client to launch")
	fs.StringVar(&o.patient, "patient", "", "patient in context")
	fs.StringVar(&o.user, "user", "", "user the EHR has authenticated (the app's authorization skips the login page)")
	fs.StringVar(&o.encounter, "encounter", "", "encounter in context")
	fs.StringVar(&o.intent, "intent", "", "SMART intent, e.g. reconcile-medications")
	fs.StringVar(&o.tenant, "tenant", "", "SMART tenant: an opaque organization id")
	fs.Var(&o.fhirContext, "fhir-context", "fhirContext item, repeatable: a relative reference (Observation/123), a JSON object "+
		`({"canonical":"http://…|1","type":"Questionnaire"}) or a JSON array of objects`)
	return o
}

// fhirContextFlag collects --fhir-context values as fhirContext items; the launch API
// validates them.
type fhirContextFlag []json.RawMessage

func (f *fhirContextFlag) String() string {
	if f == nil || len(*f) == 0 {
		return ""
	}
	b, _ := json.Marshal(*f)
	return string(b)
}

func (f *fhirContextFlag) Set(v string) error {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return fmt.Errorf("empty fhirContext item")
	case v[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			return fmt.Errorf("not a JSON array: %v", err)
		}
		*f = append(*f, items...)
	case v[0] == '{':
		if !json.Valid([]byte(v)) {
			return fmt.Errorf("not a JSON object: %s", v)
		}
		*f = append(*f, json.RawMessage(v))
	default:
		b, _ := json.Marshal(map[string]string{"reference": v})
		*f = append(*f, b)
	}
	return nil
}

// launchWith creates an EHR launch context and prints the app's launch URL with iss and
// launch, as an EHR would open it. It posts the options to the authorization server's
// launch API in process, as a caller on this machine.
func launchWith(ctx context.Context, g globalFlags, o *launchOptions, stdout, stderr io.Writer) error {
	store, a, base, err := openAuthBase(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	req := map[string]any{"client_id": o.client, "patient": o.patient, "user": o.user, "encounter": o.encounter,
		"intent": o.intent, "tenant": o.tenant}
	if len(o.fhirContext) > 0 {
		req["fhirContext"] = o.fhirContext
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	origin := strings.TrimSuffix(base, "/fhir")
	hreq := httptest.NewRequestWithContext(ctx, http.MethodPost, origin+"/auth/launch", bytes.NewReader(body))
	hreq.Header.Set("Content-Type", "application/json")
	hreq.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, hreq)
	var out map[string]string
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		var oe struct {
			Desc string `json:"error_description"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &oe) == nil && oe.Desc != "" {
			return fmt.Errorf("creating the launch: %s", oe.Desc)
		}
		return fmt.Errorf("creating the launch: %d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	launchURL := out["launch_url"]
	for _, c := range seed.DemoClients() {
		if c.ID == o.client && c.LaunchURL(origin) != "" {
			launchURL = c.LaunchURL(origin) + "?" + url.Values{"iss": {base}, "launch": {out["launch"]}}.Encode()
		}
	}
	if launchURL == "" {
		launchURL = "(the client has no launch URL) launch=" + out["launch"]
	}
	_, err = fmt.Fprintln(stdout, launchURL)
	return err
}
