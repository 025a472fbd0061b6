package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// The CLI's token and launch commands give a user what curl and an EHR launch need.
func TestCLITokenAndLaunch(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "f.db")
	cmd := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(ctx, append(args, "--db", db), &out, &errb); err != nil {
			t.Fatalf("fhirbox %v: %v %s", args, err, errb.String())
		}
		return out.String()
	}
	cmd("seed", "--patients", "2")
	// users and clients need the demo accounts a server start creates.
	app := &App{Config: Config{Addr: "127.0.0.1:0", DB: db}}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	app.Close(ctx)

	var tok map[string]any
	if err := json.Unmarshal([]byte(cmd("token", "--user", "patient1", "--patient", "pat-000001", "--scope", "patient/*.rs launch/patient")), &tok); err != nil {
		t.Fatal(err)
	}
	if tok["access_token"] == "" || tok["patient"] != "pat-000001" || tok["scope"] != "patient/*.rs launch/patient" || tok["expires_in"] == nil {
		t.Errorf("token response %v", tok)
	}
	u, err := url.Parse(strings.TrimSpace(cmd("launch", "--client", "sample-app", "--patient", "pat-000002")))
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/app/launch.html" || u.Query().Get("iss") != "http://localhost:8080/fhir" || len(u.Query().Get("launch")) < 16 {
		t.Errorf("launch URL %s", u)
	}
	if out := cmd("clients"); !strings.Contains(out, "backend-service") || !strings.Contains(out, "private_key_jwt") {
		t.Errorf("clients list: %s", out)
	}
	if key := cmd("clients", "key", "backend-service"); !strings.Contains(key, `"d"`) || !strings.Contains(key, `"kid"`) {
		t.Errorf("backend key is not a private JWK: %.80s", key)
	}
}

// --tls-self-signed serves HTTPS with TLS 1.2 at least, and discovery names https URLs.
func TestTLSSelfSigned(t *testing.T) {
	ctx := context.Background()
	app := &App{Config: Config{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "f.db"), NoSeed: true, TLSSelfSigned: true}}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	if !strings.HasPrefix(app.BaseURL, "https://") {
		t.Fatalf("base URL %s", app.BaseURL)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}}
	if _, err := (&http.Client{Transport: tr}).Get(app.BaseURL + "/metadata"); err == nil {
		t.Error("a TLS 1.1 client was accepted")
	}
	tr = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	resp, err := (&http.Client{Transport: tr}).Get(app.BaseURL + "/.well-known/smart-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || !strings.HasPrefix(cfg["token_endpoint"].(string), "https://") {
		t.Errorf("TLS %v, token endpoint %v", resp.TLS, cfg["token_endpoint"])
	}
}
