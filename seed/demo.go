package seed

import "strings"

// DemoPassword is the password of every demo user.
const DemoPassword = "password"

// DemoUser is a login of the sandbox's authorization server, linked to a FHIR resource
// (fhirUser).
type DemoUser struct {
	Username, Password, Name, FHIRUser string
}

// DemoUsers returns the demo logins: three practitioners (dr.smith, dr.jones, dr.garcia)
// and three patient-portal users (patient1..patient3 for DemoPatientIDs), all with
// password "password". The patient users' resources exist when at least three patients
// are generated.
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

// Demo client ids.
const (
	SampleAppClientID       = "sample-app"
	ConfidentialAppClientID = "confidential-app"
	BackendServiceClientID  = "backend-service"
	// ConfidentialAppSecret is the client secret of confidential-app.
	ConfidentialAppSecret = "secret"
)

// DemoClient is a registered SMART client. AuthMethod is the token endpoint
// authentication method ("none", "client_secret_basic", "private_key_jwt").
type DemoClient struct {
	ID, Name, Secret string
	Public           bool
	RedirectURIs     []string
	Scope            string
	GrantTypes       []string
	AuthMethod       string
}

// DemoClients returns the demo SMART clients for a server reachable at origin (scheme
// and host, no trailing slash, e.g. "http://localhost:8080"):
//   - sample-app: public app using PKCE, redirecting to {origin}/app/callback.html (the
//     sample app served by fhirbox), for standalone and EHR launch;
//   - confidential-app: confidential symmetric app (secret "secret", client_secret_basic);
//   - backend-service: SMART Backend Services client (private_key_jwt,
//     client_credentials, system/*.rs). Its key pair is managed by the server.
func DemoClients(origin string) []DemoClient {
	origin = strings.TrimRight(origin, "/")
	const userScopes = "openid fhirUser profile launch launch/patient offline_access online_access " +
		"patient/*.rs user/*.rs"
	return []DemoClient{
		{
			ID:           SampleAppClientID,
			Name:         "Fhirbox sample SMART app",
			Public:       true,
			RedirectURIs: []string{origin + "/app/callback.html"},
			Scope:        userScopes,
			GrantTypes:   []string{"authorization_code", "refresh_token"},
			AuthMethod:   "none",
		},
		{
			ID:           ConfidentialAppClientID,
			Name:         "Confidential demo app",
			Secret:       ConfidentialAppSecret,
			RedirectURIs: []string{origin + "/app/callback.html", "http://localhost:3000/callback"},
			Scope:        userScopes + " user/*.cruds patient/*.cruds",
			GrantTypes:   []string{"authorization_code", "refresh_token"},
			AuthMethod:   "client_secret_basic",
		},
		{
			ID:         BackendServiceClientID,
			Name:       "Backend service demo client",
			Scope:      "system/*.rs",
			GrantTypes: []string{"client_credentials"},
			AuthMethod: "private_key_jwt",
		},
	}
}
