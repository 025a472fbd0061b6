package fhirstore

import (
	"context"
	"net/url"
	"strings"
)

// Interaction letters of SMART v2 scopes: c create, r read (read, vread, instance history),
// u update and patch, d delete, s search (type and system search and history).
const (
	Create byte = 'c'
	Read   byte = 'r'
	Update byte = 'u'
	Delete byte = 'd'
	Search byte = 's'
)

// AccessRule is one granted permission, as the store understands it: which type (or "*"),
// which interaction letters, confined to one patient's compartment or not, and any extra
// search constraints (granular scopes such as ?category=laboratory).
type AccessRule struct {
	Scope        string // the scope as granted, for explanations
	Type         string // resource type or "*"
	Interactions string // subset of "cruds"
	Patient      string // when set, only resources in Patient/<Patient>'s compartment
	// Practitioner, when set, confines the rule to the compartments of the patients whose
	// Patient.generalPractitioner is Practitioner/<Practitioner>: a clinician's panel.
	Practitioner string
	Constraints  url.Values // granular search constraints, ANDed
}

// Access is what one request may see and do. The store applies it inside every query it
// runs for that request; a nil *Access means unrestricted (the --open server, the CLI).
type Access struct {
	Rules []AccessRule
	// Level and Patient describe the token for explanations ("patient/ scopes for Patient/123").
	Level   string
	Patient string
}

type accessKey struct{}

// WithAccess returns a context whose store calls are confined to a.
func WithAccess(ctx context.Context, a *Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// AccessFrom returns the Access carried by ctx, or nil for unrestricted.
func AccessFrom(ctx context.Context) *Access {
	a, _ := ctx.Value(accessKey{}).(*Access)
	return a
}

// Alternative is one way a resource of some type may be visible: in a compartment and/or
// matching constraints. A resource is visible when it satisfies any alternative.
type Alternative struct {
	Patient      string
	Practitioner string // the panel of Practitioner/<id>, as in AccessRule
	Constraints  url.Values
}

// For returns the alternatives under which interaction i on typ is allowed. ok=false means
// no rule allows it at all; an empty slice with ok=true means allowed without restriction.
func (a *Access) For(typ string, i byte) (alts []Alternative, ok bool) {
	if a == nil {
		return nil, true
	}
	for _, r := range a.Rules {
		if (r.Type != "*" && r.Type != typ) || !strings.ContainsRune(r.Interactions, rune(i)) {
			continue
		}
		ok = true
		if r.Patient == "" && r.Practitioner == "" && len(r.Constraints) == 0 {
			return nil, true // one unrestricted rule makes the others irrelevant
		}
		alts = append(alts, Alternative{Patient: r.Patient, Practitioner: r.Practitioner, Constraints: r.Constraints})
	}
	return alts, ok
}

// Denied explains a refusal of interaction i on typ and names the scope that would have
// allowed it, for the 403 OperationOutcome and the decision log.
func (a *Access) Denied(typ string, i byte) *Error {
	level := a.Level
	if level == "" {
		level = "user"
	}
	verb := map[byte]string{Create: "create", Read: "read", Update: "update", Delete: "delete", Search: "search"}[i]
	msg := "insufficient_scope: the token's scopes do not allow " + verb + " on " + typ +
		"; a scope such as " + level + "/" + typ + "." + string(i) + " would"
	return &Error{Code: EForbidden, Message: msg, Denial: msg}
}
