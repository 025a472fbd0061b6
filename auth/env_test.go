package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	_ "modernc.org/sqlite"
)

func TestMain(m *testing.M) {
	passwordIterations = 1000
	secretIterations = 100
	os.Exit(m.Run())
}

type fakePatients struct{ list []PatientSummary }

func newFakePatients() *fakePatients {
	f := &fakePatients{}
	for i := 1; i <= 25; i++ {
		f.list = append(f.list, PatientSummary{ID: fmt.Sprintf("pt%d", i), Name: fmt.Sprintf("Patient Number%d", i),
			Gender: "female", BirthDate: fmt.Sprintf("1980-01-%02d", i), MRN: fmt.Sprintf("MRN%03d", i)})
	}
	return f
}

func (f *fakePatients) SearchPatients(_ context.Context, name, birthDate string, offset, limit int) ([]PatientSummary, int, error) {
	var hits []PatientSummary
	for _, p := range f.list {
		if name != "" && !strings.Contains(strings.ToLower(p.Name), strings.ToLower(name)) {
			continue
		}
		if birthDate != "" && p.BirthDate != birthDate {
			continue
		}
		hits = append(hits, p)
	}
	total := len(hits)
	if offset > total {
		offset = total
	}
	end := min(offset+limit, total)
	return hits[offset:end], total, nil
}

func (f *fakePatients) Patient(_ context.Context, id string) (*PatientSummary, error) {
	for _, p := range f.list {
		if p.ID == id {
			return &p, nil
		}
	}
	return nil, sql.ErrNoRows
}

// env is a running authorization server plus test clients and keys.
type env struct {
	srv      *Server
	ts       *httptest.Server
	base     string // http://127.0.0.1:port
	fhir     string
	redirect string
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	now      time.Time
	nowMu    sync.Mutex
	jwksHits int
	jwksMu   sync.Mutex
	jwksBody []byte
}

func (e *env) clock() time.Time {
	e.nowMu.Lock()
	defer e.nowMu.Unlock()
	if e.now.IsZero() {
		return time.Now()
	}
	return e.now
}

func (e *env) setNow(t time.Time) { e.nowMu.Lock(); e.now = t; e.nowMu.Unlock() }

func newEnv(t testing.TB, format string) *env {
	t.Helper()
	e := &env{}
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "a.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })

	e.ts = httptest.NewUnstartedServer(nil)
	e.base = "http://" + e.ts.Listener.Addr().String()
	e.fhir = e.base + "/fhir"
	e.redirect = e.base + "/cb"
	var logOut io.Writer = io.Discard
	if os.Getenv("AUTH_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	srv, err := New(context.Background(), Config{
		DB: db, FHIRBaseURL: e.fhir, AuthBaseURL: e.base + "/auth", TokenFormat: format,
		Now: e.clock, Logger: slog.New(slog.NewTextHandler(logOut, nil)), Patients: newFakePatients(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	mux := http.NewServeMux()
	mux.Handle("/auth/", srv.Handler())
	mux.HandleFunc("/fhir/.well-known/smart-configuration", srv.SmartConfiguration)
	mux.HandleFunc("/fhir/.well-known/openid-configuration", srv.OpenIDConfiguration)
	mux.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "callback") })
	mux.HandleFunc("/client-jwks", func(w http.ResponseWriter, r *http.Request) {
		e.jwksMu.Lock()
		e.jwksHits++
		body := e.jwksBody
		e.jwksMu.Unlock()
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "want Accept: application/json", http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write(body)
	})
	e.ts.Config.Handler = mux
	e.ts.Start()
	t.Cleanup(e.ts.Close)

	e.rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	e.ecKey, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &e.rsaKey.PublicKey, KeyID: "rsa1", Algorithm: "RS384", Use: "sig"},
		{Key: &e.ecKey.PublicKey, KeyID: "ec1", Algorithm: "ES384", Use: "sig"},
	}})
	e.jwksBody = jwks

	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(srv.CreateUser(ctx, User{Username: "doc", Password: "docpass", Name: "Dr Who", FHIRUser: "Practitioner/p1"}))
	must(srv.CreateUser(ctx, User{Username: "pat", Password: "patpass", Name: "Pat One", FHIRUser: "Patient/pt3"}))
	must(srv.CreateClient(ctx, Client{ID: "public-app", Name: "Public App", Public: true, RedirectURIs: []string{e.redirect}}))
	must(srv.CreateClient(ctx, Client{ID: "other-app", Name: "Other App", Public: true, RedirectURIs: []string{e.redirect}}))
	must(srv.CreateClient(ctx, Client{ID: "conf-app", Name: "Confidential App", Secret: "s3cret", RedirectURIs: []string{e.redirect}}))
	must(srv.CreateClient(ctx, Client{ID: "backend", Name: "Backend", JWKS: jwks, Scope: "system/*.rs system/Patient.cruds",
		GrantTypes: []string{"client_credentials"}, AuthMethod: "private_key_jwt"}))
	must(srv.CreateClient(ctx, Client{ID: "backend-url", Name: "Backend URL", JWKSURI: e.base + "/client-jwks", Scope: "system/*.rs",
		GrantTypes: []string{"client_credentials"}, AuthMethod: "private_key_jwt"}))
	return e
}

func (e *env) oauth(clientID string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, RedirectURL: e.redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.base + "/auth/authorize", TokenURL: e.base + "/auth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
}

// browser is an http.Client with a cookie jar.
func browser(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

var (
	formRE   = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">(.*?)</form>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	scopeRE  = regexp.MustCompile(`name="scope" value="([^"]*)"`)
	radioRE  = regexp.MustCompile(`name="patient" value="([^"]*)"`)
)

// flow drives the login, picker and consent pages.
type flow struct {
	user, pass string
	patient    string          // picker choice; first listed when empty
	uncheck    map[string]bool // scopes to untick on the consent page
	deny       bool
	sawLogin   bool
	sawPicker  bool
	sawConsent []string
}

// run follows the browser from start until it leaves the auth server and returns the
// final URL (the client callback) or fails.
func (f *flow) run(t testing.TB, c *http.Client, resp *http.Response) *url.URL {
	t.Helper()
	for range 6 {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(resp.Request.URL.Path, "/auth/") {
			return resp.Request.URL
		}
		m := formRE.FindStringSubmatch(string(body))
		if m == nil {
			t.Fatalf("no form at %s (status %d): %s", resp.Request.URL, resp.StatusCode, body)
		}
		action, inner := html.UnescapeString(m[1]), m[2]
		form := url.Values{}
		for _, h := range hiddenRE.FindAllStringSubmatch(inner, -1) {
			form.Set(h[1], html.UnescapeString(h[2]))
		}
		switch {
		case strings.HasSuffix(action, "/login"):
			f.sawLogin = true
			form.Set("username", f.user)
			form.Set("password", f.pass)
		case strings.HasSuffix(action, "/picker"):
			f.sawPicker = true
			p := f.patient
			if p == "" {
				r := radioRE.FindStringSubmatch(inner)
				if r == nil {
					t.Fatalf("picker lists no patient")
				}
				p = html.UnescapeString(r[1])
			}
			form.Set("patient", p)
		case strings.HasSuffix(action, "/consent"):
			for _, s := range scopeRE.FindAllStringSubmatch(inner, -1) {
				sc := html.UnescapeString(s[1])
				f.sawConsent = append(f.sawConsent, sc)
				if !f.uncheck[sc] {
					form.Add("scope", sc)
				}
			}
			form.Set("decision", "allow")
			if f.deny {
				form.Set("decision", "deny")
			}
		default:
			t.Fatalf("unexpected form action %s", action)
		}
		var err error
		resp, err = c.PostForm(action, form)
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("too many steps")
	return nil
}

// codeFlow runs authorize → login → (picker) → consent and returns the callback query.
func (e *env) codeFlow(t testing.TB, cfg *oauth2.Config, f *flow, opts ...oauth2.AuthCodeOption) (url.Values, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", e.fhir)}, opts...)
	c := browser(t)
	resp, err := c.Get(cfg.AuthCodeURL("st-"+verifier[:8], opts...))
	if err != nil {
		t.Fatal(err)
	}
	u := f.run(t, c, resp)
	return u.Query(), verifier
}

// token runs the whole code flow and exchanges the code.
func (e *env) token(t testing.TB, cfg *oauth2.Config, f *flow, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	q, verifier := e.codeFlow(t, cfg, f, opts...)
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// post sends a form to an auth endpoint; basic is "id:secret" or "".
func (e *env) post(t testing.TB, path string, form url.Values, basic string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id, secret, ok := strings.Cut(basic, ":"); ok {
		req.SetBasicAuth(id, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	return resp, m
}

func wantOAuthError(t testing.TB, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, status, code)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("missing no-store headers: %v", resp.Header)
	}
}

func decodeBody(resp *http.Response, v any) {
	defer resp.Body.Close()
	*v.(*map[string]any) = nil
	json.NewDecoder(resp.Body).Decode(v)
}
