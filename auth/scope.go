package auth

import (
	"net/url"
	"strings"
)

// Scope is one SMART resource scope (v1 or v2, optionally granular).
type Scope struct {
	Raw          string
	Level        string // patient, user or system
	ResourceType string // a resource type or "*"
	Interactions string // in-order subset of "cruds"
	Query        url.Values
}

// contextScopes are the non-resource scopes the server grants.
var contextScopes = map[string]bool{
	"openid": true, "fhirUser": true, "profile": true, "launch": true,
	"launch/patient": true, "launch/encounter": true,
	"offline_access": true, "online_access": true,
}

// ParseScope parses a resource scope: patient|user|system / Type|* . v1 (read, write, *)
// or v2 (an in-order subset of cruds) permissions, and an optional v2 ?query. It returns
// false for non-resource scopes and malformed ones.
func ParseScope(s string) (Scope, bool) {
	level, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Scope{}, false
	}
	switch level {
	case "patient", "user", "system":
	default:
		return Scope{}, false
	}
	typ, perm, ok := strings.Cut(rest, ".")
	if !ok || !validType(typ) {
		return Scope{}, false
	}
	perm, rawQuery, hasQuery := strings.Cut(perm, "?")
	sc := Scope{Raw: s, Level: level, ResourceType: typ}
	switch perm {
	case "read":
		sc.Interactions = "rs"
	case "write":
		sc.Interactions = "cud"
	case "*":
		sc.Interactions = "cruds"
	default:
		if !validCRUDS(perm) {
			return Scope{}, false
		}
		sc.Interactions = perm
		if hasQuery {
			q, err := url.ParseQuery(rawQuery)
			if err != nil || len(q) == 0 {
				return Scope{}, false
			}
			for k, vs := range q {
				if !validParamName(k) {
					return Scope{}, false
				}
				for _, v := range vs {
					if v == "" {
						return Scope{}, false
					}
				}
			}
			sc.Query = q
		}
		return sc, true
	}
	if hasQuery { // v1 permissions take no query
		return Scope{}, false
	}
	return sc, true
}

func validType(t string) bool {
	if t == "*" {
		return true
	}
	if t == "" || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validCRUDS reports whether p is a non-empty, in-order, duplicate-free subset of "cruds".
func validCRUDS(p string) bool {
	if p == "" {
		return false
	}
	const all = "cruds"
	pos := 0
	for i := 0; i < len(p); i++ {
		j := strings.IndexByte(all[pos:], p[i])
		if j < 0 {
			return false
		}
		pos += j + 1
	}
	return true
}

func validParamName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// covers reports whether the registered scope r allows everything the scope q asks for.
func (r Scope) covers(q Scope) bool {
	if r.Level != q.Level || (r.ResourceType != "*" && r.ResourceType != q.ResourceType) {
		return false
	}
	for i := 0; i < len(q.Interactions); i++ {
		if !strings.Contains(r.Interactions, q.Interactions[i:i+1]) {
			return false
		}
	}
	if len(r.Query) == 0 {
		return true
	}
	return r.Query.Encode() == q.Query.Encode()
}

// grantScopes computes the granted scopes from a requested scope string: known context
// scopes and well-formed resource scopes are kept (deduplicated, in request order);
// unknown and malformed ones (e.g. ".dus") are dropped. When registered is not empty,
// only what it covers is kept.
func grantScopes(requested, registered string) []string {
	var reg []Scope
	regCtx := map[string]bool{}
	for _, r := range strings.Fields(registered) {
		if sc, ok := ParseScope(r); ok {
			reg = append(reg, sc)
		} else {
			regCtx[r] = true
		}
	}
	limit := strings.TrimSpace(registered) != ""
	seen := map[string]bool{}
	var out []string
	for _, q := range strings.Fields(requested) {
		if seen[q] {
			continue
		}
		if contextScopes[q] {
			if limit && !regCtx[q] {
				continue
			}
		} else {
			sc, ok := ParseScope(q)
			if !ok {
				continue
			}
			if limit && !anyCovers(reg, sc) {
				continue
			}
		}
		seen[q] = true
		out = append(out, q)
	}
	return out
}

func anyCovers(reg []Scope, q Scope) bool {
	for _, r := range reg {
		if r.covers(q) {
			return true
		}
	}
	return false
}

// parseScopes returns the resource scopes of a scope string.
func parseScopes(scope string) []Scope {
	var out []Scope
	for _, f := range strings.Fields(scope) {
		if sc, ok := ParseScope(f); ok {
			out = append(out, sc)
		}
	}
	return out
}

func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want {
			return true
		}
	}
	return false
}

// needsPatient reports whether the scopes require a patient in context.
func needsPatient(scopes []string) bool {
	for _, s := range scopes {
		if s == "launch/patient" || strings.HasPrefix(s, "patient/") {
			return true
		}
	}
	return false
}

// subsetOf reports whether every scope in want is in have.
func subsetOf(want, have []string) bool {
	for _, w := range want {
		if !hasScope(have, w) {
			return false
		}
	}
	return true
}

// describeScope renders a scope in plain words for the consent page.
func describeScope(s string) string {
	switch s {
	case "openid":
		return "Confirm your identity (OpenID Connect)"
	case "fhirUser":
		return "Know which FHIR user record is yours"
	case "profile":
		return "See your basic profile"
	case "launch":
		return "Use the patient and encounter the EHR opened the app with"
	case "launch/patient":
		return "Know which patient is selected"
	case "launch/encounter":
		return "Know which encounter is selected"
	case "offline_access":
		return "Keep access after you log out (offline refresh)"
	case "online_access":
		return "Keep access while you are logged in (online refresh)"
	}
	sc, ok := ParseScope(s)
	if !ok {
		return s
	}
	var verbs []string
	for _, c := range sc.Interactions {
		verbs = append(verbs, map[rune]string{'c': "create", 'r': "read", 'u': "update", 'd': "delete", 's': "search"}[c])
	}
	what := sc.ResourceType + " records"
	if sc.ResourceType == "*" {
		what = "all record types"
	}
	whose := map[string]string{"patient": "for the selected patient", "user": "you can access", "system": "on the whole server"}[sc.Level]
	out := strings.Join(verbs, ", ") + " " + what + " " + whose
	if len(sc.Query) > 0 {
		out += " (only where " + sc.Query.Encode() + ")"
	}
	return strings.ToUpper(out[:1]) + out[1:]
}
