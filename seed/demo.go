package seed

import "strings"

// DemoPassword is the password of every demo user: the sandbox is for learning and
// testing, and a password nobody has to look up is the point.
const DemoPassword = "password"

// DemoUser is a login of the sandbox's authorization server, linked to a FHIR resource
// (fhirUser, e.g. "Practitioner/prac-0001").
type DemoUser struct {
	Username, Password, Name, FHIRUser string
}

// DemoUsers returns the demo logins, all with password DemoPassword:
//   - dr.smith, dr.jones, dr.garcia: practitioners DemoPractitionerIDs (always generated);
//   - patient1, patient2, patient3: portal users of DemoPatientIDs (generated when the
//     population has at least three patients, as the default one does).
func DemoUsers() []DemoUser {
	var us []DemoUser
	for k, p := range demoPractitioners {
		us = append(us, DemoUser{
			Username: "dr." + strings.ToLower(p.Family),
			Password: DemoPassword,
			Name:     "Dr. " + p.Given + " " + p.Family,
			FHIRUser: "Practitioner/" + DemoPractitionerIDs[k],
		})
	}
	for k, p := range demoPatients {
		us = append(us, DemoUser{
			Username: "patient" + string(rune('1'+k)),
			Password: DemoPassword,
			Name:     p.Given + " " + p.Family,
			FHIRUser: "Patient/" + DemoPatientIDs[k],
		})
	}
	return us
}

// Demo client ids and the one shared secret.
const (
	// SampleAppClientID is the public client of the sample app under /app/ (the id is
	// also written in sampleapp/config.js).
	SampleAppClientID = "sample-app"
	// ConfidentialAppClientID is a confidential app authenticating with a secret.
	ConfidentialAppClientID = "confidential-app"
	// BackendServiceClientID is a SMART Backend Services client (private_key_jwt).
	BackendServiceClientID = "backend-service"
	// ConfidentialAppSecret is the client secret of confidential-app.
	ConfidentialAppSecret = "secret"
)

// DemoClient is a SMART client to register at first start.
type DemoClient struct {
	ID, Name string
	// Secret is the client secret of a confidential symmetric client, empty otherwise.
	Secret string
	// Public clients (browser apps) hold no credentials and must use PKCE.
	Public bool
	// Redirects are the registered redirect URIs; an entry starting with "/" is a path
	// on the fhirbox server itself, resolved by RedirectURIs because only the server
	// knows its origin.
	Redirects []string
	// LaunchPath is the app's EHR launch URL on the fhirbox server ("" for none).
	LaunchPath string
	// Scope is the space-separated list of scopes the client may be granted.
	Scope string
	// GrantTypes are the OAuth grant types the client may use.
	GrantTypes []string
	// AuthMethod is the token endpoint authentication method: "none",
	// "client_secret_basic" or "private_key_jwt".
	AuthMethod string
	// SigningAlg is the JWS algorithm of a private_key_jwt client's assertions; its key
	// pair comes from NewBackendKey at first start.
	SigningAlg string
}

// RedirectURIs returns the client's redirect URIs for a server at origin (scheme and
// host, e.g. "http://localhost:8080"; a trailing slash is ignored).
func (c DemoClient) RedirectURIs(origin string) []string {
	origin = strings.TrimRight(origin, "/")
	out := make([]string, len(c.Redirects))
	for i, u := range c.Redirects {
		if strings.HasPrefix(u, "/") {
			u = origin + u
		}
		out[i] = u
	}
	return out
}

// LaunchURL returns the client's EHR launch URL for a server at origin, or "".
func (c DemoClient) LaunchURL(origin string) string {
	if c.LaunchPath == "" {
		return ""
	}
	return strings.TrimRight(origin, "/") + c.LaunchPath
}

// Scope sets of the demo clients. The user-facing apps may ask for launch context,
// identity and refresh tokens; only the confidential app may write.
const (
	scopeIdentity  = "openid fhirUser profile"
	scopeLaunch    = "launch launch/patient launch/encounter"
	scopeRefresh   = "offline_access online_access"
	scopeSampleApp = scopeIdentity + " " + scopeLaunch + " " + scopeRefresh + " patient/*.rs user/*.rs"
	scopeConfApp   = scopeIdentity + " " + scopeLaunch + " " + scopeRefresh + " patient/*.cruds user/*.cruds"
	scopeBackend   = "system/*.rs"
)

// DemoClients returns the demo SMART clients:
//   - sample-app: public browser app using PKCE (the sample app served at /app/),
//     redirecting to {origin}/app/callback.html, EHR launch at {origin}/app/launch.html,
//     read and search access;
//   - confidential-app: confidential symmetric app (secret "secret",
//     client_secret_basic) for server-side apps on localhost:3000 and curl experiments,
//     read and write access, refresh tokens;
//   - backend-service: SMART Backend Services client (client_credentials,
//     private_key_jwt with ES384, system/*.rs).
func DemoClients() []DemoClient {
	return []DemoClient{
		{
			ID:         SampleAppClientID,
			Name:       "Fhirbox sample SMART app",
			Public:     true,
			Redirects:  []string{"/app/callback.html"},
			LaunchPath: "/app/launch.html",
			Scope:      scopeSampleApp,
			GrantTypes: []string{"authorization_code", "refresh_token"},
			AuthMethod: "none",
		},
		{
			ID:         ConfidentialAppClientID,
			Name:       "Confidential demo app",
			Secret:     ConfidentialAppSecret,
			Redirects:  []string{"http://localhost:3000/callback", "http://127.0.0.1:3000/callback"},
			Scope:      scopeConfApp,
			GrantTypes: []string{"authorization_code", "refresh_token"},
			AuthMethod: "client_secret_basic",
		},
		{
			ID:         BackendServiceClientID,
			Name:       "Backend service demo client",
			Scope:      scopeBackend,
			GrantTypes: []string{"client_credentials"},
			AuthMethod: "private_key_jwt",
			SigningAlg: BackendKeyAlg,
		},
	}
}
