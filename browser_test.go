package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's chromium. Under CI its absence fails the test (.ci/run installs
// it); elsewhere the test is skipped.
func chromium(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// TestBrowserStandaloneLaunch drives the sample app's standalone launch in a real browser
// against the whole server: the app discovers the endpoints, sends the user to authorize
// with PKCE, the practitioner logs in, picks a patient and consents, and the app shows
// that patient's data read with the token.
func TestBrowserStandaloneLaunch(t *testing.T) {
	app, ctx := browserSession(t)
	steps := []browserStep{
		{"open the sample app", chromedp.Navigate(app.Origin + "/app/index.html")},
		{"launch", chromedp.Click("#launch", chromedp.NodeVisible)},
		{"login page", chromedp.WaitVisible("#username")},
		{"username", chromedp.SendKeys("#username", "dr.smith")},
		{"password", chromedp.SendKeys("#password", "password")},
		{"sign in", chromedp.Submit("#password")},
		{"patient picker", chromedp.WaitVisible(`input[name="patient"][value="pat-000002"]`)},
		{"pick pat-000002", chromedp.Click(`input[name="patient"][value="pat-000002"]`)},
		{"select", chromedp.Submit(`input[name="patient"][value="pat-000002"]`)},
		{"consent page", chromedp.WaitVisible(`button[value="allow"]`)},
		{"allow", chromedp.Click(`button[value="allow"]`)},
		{"data shown", chromedp.WaitVisible(`#vitals[data-ready="true"]`)},
	}
	runBrowserSteps(t, ctx, steps)
	read := func(sel string) string {
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}
	banner, vitals, tokenResponse, shown := read("#patient-banner"), read("#vitals"), read("#token-response"), read("#steps")
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	// pat-000002 is James Wilson in every seed.
	if !strings.Contains(banner, "Wilson") {
		t.Errorf("patient banner %q does not show the picked patient", banner)
	}
	if !strings.Contains(tokenResponse, `"patient"`) || !strings.Contains(tokenResponse, "pat-000002") {
		t.Errorf("token response lacks the patient context: %.300s", tokenResponse)
	}
	// The app decodes the access token without verifying it: ES256, typ at+jwt.
	if !strings.Contains(shown, "ES256") || !strings.Contains(shown, "at+jwt") {
		t.Errorf("decoded access token does not show ES256 / at+jwt: %.2000s", shown)
	}
	if strings.TrimSpace(vitals) == "" {
		t.Error("no vital signs shown")
	}
	if !strings.HasPrefix(location, app.Origin+"/app/") {
		t.Errorf("the browser ended at %s, not back in the app", location)
	}
}

// browserStep is one named action of a browser test.
type browserStep struct {
	name string
	act  chromedp.Action[chromedp.Void]
}

// runBrowserSteps runs steps in order; a failing one ends the test with the page it was on.
func runBrowserSteps(t *testing.T, ctx context.Context, steps []browserStep) {
	t.Helper()
	for _, s := range steps {
		if err := chromedp.Do(ctx, s.act); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML("body"))
			t.Fatalf("%s: %v\npage: %.1500s", s.name, err, html)
		}
	}
}

// browserSession starts fhirbox (3 seeded patients, tokens enforced) and a headless
// Debian chromium.
func browserSession(t *testing.T) (*App, context.Context) {
	exe := chromium(t)
	app := startApp(t, func(c *Config) { c.NoSeed, c.Open, c.SeedPatients = false, false, 3 }).app
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return app, ctx
}

// TestBrowserEHRLaunch: the EHR (here the launch API, as fhirbox launch uses it) opens the
// sample app's launch URL for dr.jones and pat-000003 with an intent. The app's
// authorization skips the login page (the EHR has authenticated the user) and the picker
// (the launch names the patient); after consent the app shows that patient, and the token
// response carries the launch context.
func TestBrowserEHRLaunch(t *testing.T) {
	app, ctx := browserSession(t)
	resp, err := http.Post(app.AuthURL+"/launch", "application/json",
		strings.NewReader(`{"client_id":"sample-app","patient":"pat-000003","user":"dr.jones","intent":"reconcile-medications"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created map[string]string
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || created["launch"] == "" {
		t.Fatalf("creating the launch: %d %v", resp.StatusCode, created)
	}
	patient, err := app.Store.Read(context.Background(), "Patient", "pat-000003")
	if err != nil {
		t.Fatal(err)
	}
	var pt struct {
		Name []struct{ Family string }
	}
	json.Unmarshal(patient.JSON, &pt)
	launchURL := app.Origin + "/app/launch.html?" + url.Values{"iss": {app.BaseURL}, "launch": {created["launch"]}}.Encode()
	steps := []browserStep{
		{"the EHR opens the app", chromedp.Navigate(launchURL)},
		{"consent page, no login", chromedp.WaitVisible(`button[value="allow"]`)},
		{"allow", chromedp.Click(`button[value="allow"]`)},
		{"data shown", chromedp.WaitVisible(`#vitals[data-ready="true"]`)},
	}
	runBrowserSteps(t, ctx, steps)
	banner, err := chromedp.Run(ctx, chromedp.Text("#patient-banner"))
	if err != nil {
		t.Fatal(err)
	}
	tokenResponse, err := chromedp.Run(ctx, chromedp.Text("#token-response"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pt.Name) == 0 || !strings.Contains(banner, pt.Name[0].Family) {
		t.Errorf("patient banner %q does not show pat-000003 (%v)", banner, pt.Name)
	}
	for _, want := range []string{`"patient"`, "pat-000003", `"intent"`, "reconcile-medications"} {
		if !strings.Contains(tokenResponse, want) {
			t.Errorf("token response lacks %s: %.400s", want, tokenResponse)
		}
	}
}
