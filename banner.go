package main

import (
	"context"
	"fmt"
	"io"

	"fhirbox/seed"
)

// printBanner tells a new user everything needed to start: URLs, logins, clients and a
// ready-to-paste curl line with a fresh token.
func printBanner(ctx context.Context, app *App, g globalFlags, w io.Writer) {
	data := g.db
	if g.memory {
		data = "a throwaway store (--memory)"
	}
	fmt.Fprintf(w, `fhirbox is running

  FHIR base      %[1]s
  metadata       %[1]s/metadata
  SMART config   %[1]s/.well-known/smart-configuration
  sample app     %[2]s/app/
  data           %[3]s

`, app.BaseURL, app.Origin, data)
	fmt.Fprintln(w, "  demo logins (password: password)")
	for _, u := range seed.DemoUsers() {
		fmt.Fprintf(w, "    %-12s %s\n", u.Username, u.FHIRUser)
	}
	fmt.Fprintln(w, "\n  demo clients")
	for _, c := range seed.DemoClients() {
		fmt.Fprintf(w, "    %-17s %s\n", c.ID, clientKind(c))
	}
	if app.Config.Open {
		fmt.Fprintf(w, "\n  WARNING: --open: the FHIR API needs no token and grants full access\n\n  try: curl %s/Patient/%s\n\n", app.BaseURL, seed.DemoPatientID)
		return
	}
	tok, err := app.Auth.MintToken(ctx, seed.SampleAppClientID, seed.DemoUsers()[0].Username, "", "user/*.rs")
	if err != nil {
		fmt.Fprintf(w, "\n  (could not mint a demo token: %v)\n", err)
		return
	}
	at, _ := tok["access_token"].(string)
	fmt.Fprintf(w, "\n  try (token: user/*.rs for Dr. Smith, valid 1 hour):\n    curl -H 'Authorization: Bearer %s' %s/Patient/%s\n\n",
		at, app.BaseURL, seed.DemoPatientID)
}

func clientKind(c seed.DemoClient) string {
	switch {
	case c.Secret != "":
		return "confidential, secret " + c.Secret
	case c.AuthMethod == "private_key_jwt":
		return "backend services, private_key_jwt (key: fhirbox clients key " + c.ID + ")"
	}
	return "public, PKCE"
}
