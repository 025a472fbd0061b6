package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"fhirbox/auth"
	"fhirbox/fhirstore"
	"fhirbox/server"
)

// patientDirectory lets the auth server's patient picker search the store.
type patientDirectory struct{ store *fhirstore.Store }

func (d patientDirectory) SearchPatients(ctx context.Context, name, birthDate string, offset, limit int) ([]auth.PatientSummary, int, error) {
	p := url.Values{"_count": {strconv.Itoa(offset + limit)}, "_sort": {"family,given"}}
	if name = strings.TrimSpace(name); name != "" {
		p.Set("name", name)
	}
	if birthDate = strings.TrimSpace(birthDate); birthDate != "" {
		p.Set("birthdate", birthDate)
	}
	res, err := d.store.Search(ctx, fhirstore.SearchRequest{Type: "Patient", Params: p})
	if err != nil {
		return nil, 0, err
	}
	var out []auth.PatientSummary
	for i, h := range res.Entries {
		if i < offset || h.Mode != "match" {
			continue
		}
		out = append(out, summarize(h.ID, h.JSON))
	}
	total := len(res.Entries)
	if res.Total != nil {
		total = *res.Total
	}
	return out, total, nil
}

func (d patientDirectory) Patient(ctx context.Context, id string) (*auth.PatientSummary, error) {
	r, err := d.store.Read(ctx, "Patient", id)
	if err != nil {
		return nil, err
	}
	s := summarize(r.ID, r.JSON)
	return &s, nil
}

// summarize picks what the patient picker shows from a Patient.
func summarize(id string, body []byte) auth.PatientSummary {
	s := auth.PatientSummary{ID: id}
	m, err := fhirstore.DecodeResource(body)
	if err != nil {
		return s
	}
	s.Gender, _ = m["gender"].(string)
	s.BirthDate, _ = m["birthDate"].(string)
	if names, ok := m["name"].([]any); ok && len(names) > 0 {
		n, _ := names[0].(map[string]any)
		if t, ok := n["text"].(string); ok {
			s.Name = t
		} else {
			var parts []string
			for _, g := range asSlice(n["given"]) {
				if gs, ok := g.(string); ok {
					parts = append(parts, gs)
				}
			}
			if f, ok := n["family"].(string); ok {
				parts = append(parts, f)
			}
			s.Name = strings.Join(parts, " ")
		}
	}
	for _, x := range asSlice(m["identifier"]) {
		idm, _ := x.(map[string]any)
		if v, ok := idm["value"].(string); ok {
			s.MRN = v
			break
		}
	}
	return s
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// grantResolver gives the FHIR server the meaning of a bearer token, in process.
type grantResolver struct{ auth *auth.Server }

func (g grantResolver) ResolveGrant(ctx context.Context, bearer string) (*server.Grant, error) {
	gr, err := g.auth.ResolveShared(ctx, bearer)
	if errors.Is(err, auth.ErrInvalidToken) {
		return nil, server.ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	// One server.Grant per cached token, so the server's derived access filter is kept too.
	return gr.Memo(func() any {
		out := &server.Grant{ClientID: gr.ClientID, User: gr.User, Patient: gr.Patient, Audience: gr.Audience}
		for _, sc := range gr.Scopes {
			out.Scopes = append(out.Scopes, server.GrantScope{Raw: sc.Raw, Level: sc.Level, ResourceType: sc.ResourceType,
				Interactions: sc.Interactions, Query: sc.Query})
		}
		return out
	}).(*server.Grant), nil
}

// smartSecurity is the CapabilityStatement's rest.security for SMART on FHIR.
func smartSecurity(authBase string) map[string]any {
	return map[string]any{
		"cors": true,
		"service": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}}}},
		"extension": []any{map[string]any{
			"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			"extension": []any{
				map[string]any{"url": "authorize", "valueUri": authBase + "/authorize"},
				map[string]any{"url": "token", "valueUri": authBase + "/token"},
				map[string]any{"url": "introspect", "valueUri": authBase + "/introspect"},
				map[string]any{"url": "revoke", "valueUri": authBase + "/revoke"},
				map[string]any{"url": "register", "valueUri": authBase + "/register"},
			},
		}},
		"description": fmt.Sprintf("SMART App Launch 2.2: discovery at .well-known/smart-configuration, authorization at %s", authBase),
	}
}
