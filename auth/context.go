package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"fhirbox/fhirstore/r4"
)

// FHIRContextItem is one entry of the fhirContext launch-context parameter (SMART App
// Launch 2.2, "launch context arrives with your access_token"): a resource the app should
// open, named by a relative reference, a canonical URL or an identifier, with an optional
// resource type and role. An empty Role means the default role, launch.
type FHIRContextItem struct {
	Reference  string          `json:"reference,omitempty"`
	Canonical  string          `json:"canonical,omitempty"`
	Identifier json.RawMessage `json:"identifier,omitempty"`
	Type       string          `json:"type,omitempty"`
	Role       string          `json:"role,omitempty"`
}

// extraContext is the launch context besides patient and encounter. It travels from the
// launch through the code to the access and refresh tokens as one JSON column.
type extraContext struct {
	FHIRContext []FHIRContextItem `json:"fhirContext,omitempty"`
	Intent      string            `json:"intent,omitempty"`
	Tenant      string            `json:"tenant,omitempty"`
}

// Limits that keep the context, which JWT access tokens carry, well inside the 8 kB that
// HTTP servers commonly allow for a header.
const (
	maxFHIRContext = 20
	maxExtraJSON   = 4096
)

func (x extraContext) empty() bool {
	return len(x.FHIRContext) == 0 && x.Intent == "" && x.Tenant == ""
}

// encode returns the column value: "" for no context, else JSON.
func (x extraContext) encode() string {
	if x.empty() {
		return ""
	}
	b, err := json.Marshal(x)
	if err != nil { // only strings and validated raw JSON: cannot happen
		panic(err)
	}
	return string(b)
}

func decodeExtra(col string) (extraContext, error) {
	var x extraContext
	if col == "" {
		return x, nil
	}
	if err := json.Unmarshal([]byte(col), &x); err != nil {
		return x, fmt.Errorf("stored launch context: %w", err)
	}
	return x, nil
}

// tokenContext is the launch context a grant carries into its tokens.
type tokenContext struct {
	patient, encounter string
	needBanner         bool
	extra              extraContext
}

// scoped keeps the parts of c that scopes cover: the patient with a patient-level scope
// or launch, the encounter with launch/encounter or launch, and fhirContext, intent and
// tenant (EHR launch context) with launch.
func (c tokenContext) scoped(scopes []string) tokenContext {
	launch := hasScope(scopes, "launch")
	if !needsPatient(scopes) && !launch {
		c.patient = ""
	}
	if !hasScope(scopes, "launch/encounter") && !launch {
		c.encounter = ""
	}
	if !launch {
		c.extra = extraContext{}
	}
	return c
}

// contextParams are the launch-context parameters of a token response for a grant of
// username (empty for a client's own grant). Introspection repeats them, as SMART's
// token-introspection page requires of every launch-context parameter.
func (s *Server) contextParams(username string, c tokenContext) map[string]any {
	out := map[string]any{}
	if c.patient != "" {
		out["patient"] = c.patient
		out["need_patient_banner"] = c.needBanner
	}
	if c.encounter != "" {
		out["encounter"] = c.encounter
	}
	if len(c.extra.FHIRContext) > 0 {
		out["fhirContext"] = c.extra.FHIRContext
	}
	if c.extra.Intent != "" {
		out["intent"] = c.extra.Intent
	}
	if c.extra.Tenant != "" {
		out["tenant"] = c.extra.Tenant
	}
	if username != "" {
		out["smart_style_url"] = s.url("/smart-style.json")
		if _, ok := out["need_patient_banner"]; !ok {
			out["need_patient_banner"] = false
		}
	}
	return out
}

var (
	relativeRef = regexp.MustCompile(`^([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?$`)
	errNoTarget = errors.New("needs at least one of reference, canonical or identifier")
)

// parseFHIRContext validates the fhirContext of a launch request item by item, with the
// rules of SMART App Launch 2.2 and the checks of Inferno's STU2.2 suite.
func parseFHIRContext(raw []json.RawMessage) ([]FHIRContextItem, error) {
	if len(raw) > maxFHIRContext {
		return nil, fmt.Errorf("fhirContext has %d items; at most %d are allowed", len(raw), maxFHIRContext)
	}
	var out []FHIRContextItem
	for i, r := range raw {
		it, err := parseFHIRContextItem(r)
		if err != nil {
			return nil, fmt.Errorf("fhirContext[%d]: %w", i, err)
		}
		out = append(out, it)
	}
	return out, nil
}

func parseFHIRContextItem(raw json.RawMessage) (FHIRContextItem, error) {
	var it FHIRContextItem
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return it, errors.New("must be an object")
	}
	var in struct {
		Reference  *string         `json:"reference"`
		Canonical  *string         `json:"canonical"`
		Identifier json.RawMessage `json:"identifier"`
		Type       *string         `json:"type"`
		Role       *string         `json:"role"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return it, fmt.Errorf("%s must be a string", te.Field)
		}
		return it, errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	str := func(p *string, name string) (string, error) {
		if p == nil {
			return "", nil
		}
		if *p == "" {
			return "", fmt.Errorf("%s must not be empty", name)
		}
		return *p, nil
	}
	var err error
	if it.Reference, err = str(in.Reference, "reference"); err != nil {
		return it, err
	}
	if it.Canonical, err = str(in.Canonical, "canonical"); err != nil {
		return it, err
	}
	if it.Type, err = str(in.Type, "type"); err != nil {
		return it, err
	}
	if it.Role, err = str(in.Role, "role"); err != nil {
		return it, errors.New(`role must not be "" (leave it out for the launch role)`)
	}
	if id := bytes.TrimSpace(in.Identifier); len(id) > 0 && !bytes.Equal(id, []byte("null")) {
		if it.Identifier, err = parseIdentifier(id); err != nil {
			return it, err
		}
	}
	if it.Reference == "" && it.Canonical == "" && it.Identifier == nil {
		return it, errNoTarget
	}
	typ := it.Type
	if typ != "" && !r4.IsResourceType(typ) {
		return it, fmt.Errorf("type %q is not an R4 resource type", typ)
	}
	if it.Reference != "" {
		m := relativeRef.FindStringSubmatch(it.Reference)
		switch {
		case strings.Contains(it.Reference, ":"):
			return it, fmt.Errorf("reference %q must be relative (Type/id), not absolute", it.Reference)
		case m == nil:
			return it, fmt.Errorf("reference %q must be Type/id with an id of up to 64 of [A-Za-z0-9-.]", it.Reference)
		case !r4.IsResourceType(m[1]):
			return it, fmt.Errorf("reference %q names %q, which is not an R4 resource type", it.Reference, m[1])
		case typ != "" && typ != m[1]:
			return it, fmt.Errorf("type %q does not match reference %q", typ, it.Reference)
		}
		typ = m[1]
	}
	if it.Canonical != "" {
		base, version, hasVersion := strings.Cut(it.Canonical, "|")
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(it.Canonical, " \t\r\n") ||
			(hasVersion && (version == "" || strings.Contains(version, "|"))) {
			return it, fmt.Errorf("canonical %q must be an absolute http(s) URL, optionally with |version", it.Canonical)
		}
	}
	if it.Role != "" && it.Role != "launch" {
		if u, err := url.Parse(it.Role); err != nil || !u.IsAbs() || strings.ContainsAny(it.Role, " \t\r\n") {
			return it, fmt.Errorf("role %q must be an absolute URI (or launch)", it.Role)
		}
	}
	if (typ == "Patient" || typ == "Encounter") && (it.Role == "" || it.Role == "launch") {
		return it, fmt.Errorf("%s in the launch role belongs in the %s parameter, not fhirContext; or give the item another role",
			typ, strings.ToLower(typ))
	}
	return it, nil
}

// parseIdentifier checks that an identifier is a FHIR Identifier object with a string
// system or value, and returns it compacted.
func parseIdentifier(raw []byte) (json.RawMessage, error) {
	bad := errors.New("identifier must be an Identifier object with a system or value")
	if raw[0] != '{' {
		return nil, bad
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, bad
	}
	ok := false
	for _, k := range []string{"system", "value"} {
		v, present := m[k]
		if !present {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("identifier.%s must be a string", k)
		}
		ok = ok || s != ""
	}
	if !ok {
		return nil, bad
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, bad
	}
	return json.RawMessage(buf.Bytes()), nil
}

// cloneFHIRContext copies items so that callers of ResolveToken cannot change the cache.
func cloneFHIRContext(items []FHIRContextItem) []FHIRContextItem {
	out := slices.Clone(items)
	for i := range out {
		out[i].Identifier = slices.Clone(out[i].Identifier)
	}
	return out
}
