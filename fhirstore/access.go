package fhirstore

import (
	"context"
	"net/url"
	"strings"
	"sync"
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
//
// An Access lives as long as its token (the server keeps one per cached token), so what it
// derives per type and interaction is kept: a request then costs no rule scan and no SQL
// building. Rules must not change once the Access is in use.
type Access struct {
	Rules []AccessRule
	// Level and Patient describe the token for explanations ("patient/ scopes for Patient/123").
	Level   string
	Patient string

	mu      sync.RWMutex
	filters map[filterKey]*accessFilter
}

type filterKey struct {
	typ    string
	letter byte
}

// accessFilter is what an Access allows for one type and interaction: the alternatives
// and, built on first use, their SQL condition on the alias "r" of resource_current.
type accessFilter struct {
	typ  string
	alts []Alternative
	ok   bool

	once sync.Once
	cond string
	args []any
	err  error
	// read is readVisible's statement with the filter as its visibility column, and
	// readArgs its arguments before the type and id.
	read     string
	readArgs []any
}

// filter returns the memoised accessFilter of interaction i on typ; a nil Access has none.
func (a *Access) filter(typ string, i byte) *accessFilter {
	if a == nil {
		return nil
	}
	k := filterKey{typ, i}
	a.mu.RLock()
	f := a.filters[k]
	a.mu.RUnlock()
	if f != nil {
		return f
	}
	f = &accessFilter{typ: typ}
	f.alts, f.ok = a.rulesFor(typ, i)
	a.mu.Lock()
	defer a.mu.Unlock()
	if had := a.filters[k]; had != nil {
		return had
	}
	if a.filters == nil {
		a.filters = map[filterKey]*accessFilter{}
	}
	a.filters[k] = f
	return f
}

// sql renders the alternatives as a condition on alias "r" once; the arguments are shared
// by every request with this Access, so callers copy before appending to them.
func (f *accessFilter) sql(s *Store) (string, []any, error) {
	f.once.Do(func() {
		f.cond, f.args, f.err = (&query{s: s, ctx: context.Background(), strict: true}).alternatives(f.typ, "r", f.alts)
		if f.cond == "" {
			return
		}
		f.read, f.readArgs = readSelect(f.cond), f.args
		if alt := f.alts[0]; len(f.alts) == 1 && alt.Patient != "" && alt.Practitioner == "" && len(alt.Constraints) == 0 {
			// A patient's compartment alone, the common case, binds the patient once as ?1:
			// binding a string copies it into C memory, a tenth of the read's overhead.
			f.read, f.readArgs = readSelect(compartmentTest("r", "?1")), []any{alt.Patient}
		}
	})
	return f.cond, f.args, f.err
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

// For returns the alternatives under which interaction i on typ is allowed (memoised and
// shared by every request of this Access: callers must not modify the slice). ok=false means
// no rule allows it at all; an empty slice with ok=true means allowed without restriction.
func (a *Access) For(typ string, i byte) (alts []Alternative, ok bool) {
	if a == nil {
		return nil, true
	}
	f := a.filter(typ, i)
	return f.alts, f.ok
}

func (a *Access) rulesFor(typ string, i byte) (alts []Alternative, ok bool) {
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
