package seed

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func readApp(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(SampleApp, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSampleAppFiles(t *testing.T) {
	// The client id the app sends is the one the server registers.
	if cfg := readApp(t, "config.js"); !strings.Contains(cfg, `CLIENT_ID = "`+SampleAppClientID+`"`) {
		t.Errorf("config.js does not set CLIENT_ID to %q", SampleAppClientID)
	}
	// The redirect and launch paths of the demo client are pages of the app.
	for _, c := range DemoClients() {
		if c.ID != SampleAppClientID {
			continue
		}
		for _, p := range append(c.Redirects, c.LaunchPath) {
			readApp(t, strings.TrimPrefix(p, "/app/"))
		}
	}
	// Browser tests wait for these ids.
	cb := readApp(t, "callback.html")
	for _, id := range []string{"patient-banner", "conditions", "medications", "allergies", "vitals", "error"} {
		if !strings.Contains(cb, `id="`+id+`"`) {
			t.Errorf("callback.html lacks #%s", id)
		}
	}
	if js := readApp(t, "callback.js"); !strings.Contains(js, `"token-response"`) {
		t.Error("callback.js does not create #token-response")
	}

	reExternal := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`)
	reInlineScript := regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]`)
	reScriptSrc := regexp.MustCompile(`<script[^>]*\ssrc="([^"]+)"`)
	reImport := regexp.MustCompile(`from "\./([^"]+)"`)
	err := fs.WalkDir(SampleApp, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body := readApp(t, name)
		switch {
		case strings.HasSuffix(name, ".html"):
			// Offline: no CDN. CSP-friendly: no inline script, style or handler.
			if m := reExternal.FindString(body); m != "" {
				t.Errorf("%s loads an external resource: %s", name, m)
			}
			if reInlineScript.MatchString(body) || strings.Contains(body, "<style") || strings.Contains(body, " style=") ||
				regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
				t.Errorf("%s has inline script or style", name)
			}
			if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, `name="viewport"`) {
				t.Errorf("%s lacks lang or viewport", name)
			}
			for _, m := range reScriptSrc.FindAllStringSubmatch(body, -1) {
				readApp(t, m[1])
			}
		case strings.HasSuffix(name, ".js"):
			// Every module import resolves to an embedded file.
			for _, m := range reImport.FindAllStringSubmatch(body, -1) {
				readApp(t, m[1])
			}
			if strings.Contains(body, "innerHTML") {
				t.Errorf("%s uses innerHTML; FHIR data must go in as text", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSampleAppServes checks the files are served with types browsers accept for ES
// modules and stylesheets when mounted as the server will mount them.
func TestSampleAppServes(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/app/", http.FileServerFS(SampleApp)))
	defer srv.Close()
	for path, ctype := range map[string]string{
		"/app/index.html":    "text/html",
		"/app/callback.html": "text/html",
		"/app/smart.js":      "text/javascript",
		"/app/style.css":     "text/css",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
