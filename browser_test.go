package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	exe := chromium(t)
	app := &App{Config: Config{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "fhirbox.db"), SeedPatients: 3}}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.Close(ctx)
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	steps := []struct {
		name string
		act  chromedp.Action[chromedp.Void]
	}{
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
	for _, s := range steps {
		if err := chromedp.Do(ctx, s.act); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML("body"))
			t.Fatalf("%s: %v\npage: %.1500s", s.name, err, html)
		}
	}
	read := func(sel string) string {
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}
	banner, vitals, tokenResponse := read("#patient-banner"), read("#vitals"), read("#token-response")
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
	if strings.TrimSpace(vitals) == "" {
		t.Error("no vital signs shown")
	}
	if !strings.HasPrefix(location, app.Origin+"/app/") {
		t.Errorf("the browser ended at %s, not back in the app", location)
	}
}
