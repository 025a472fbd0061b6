package fhirstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
)

//go:embed searchparams.json.gz
var searchParamsGz []byte

// SearchParam is one search parameter of one resource type, compiled.
type SearchParam struct {
	PID        int64
	Type       string // resource type
	Code       string
	Kind       string // string, token, reference, date, number, quantity, uri, composite, special
	Expression string
	Targets    []string
	URL        string
	Components []Component // composite parameters only, in the order of their values
	expr       *fpExpr
	// unionOf, for a parameter whose expression is a union of other parameters' of the
	// same kind (combo-code = code | component-code; combo-code-value-quantity =
	// code-value-quantity | component-code-value-quantity), names those: their values are
	// its values, so it stores none of its own and is searched through theirs. Observation,
	// most of any store, loses about three index rows in fifteen.
	unionOf []*SearchParam
	// aliasOf, for a reference parameter whose expression is another reference
	// parameter's narrowed by .where(resolve() is T) (Observation.patient is
	// Observation.subject.where(resolve() is Patient); 47 R4 parameters are), is that
	// parameter, and aliasType is T: its references are the base's rows that point at a T,
	// so it stores none of its own. A clinical resource keeps one reference row for its
	// subject instead of two. Identifiers (for :identifier) it still stores under its pid,
	// as only the reference says whether it names a T.
	aliasOf   *SearchParam
	aliasType string
	aliases   []*SearchParam // on a base: the parameters that are aliases of it
}

// Component is one part of a composite parameter: the component parameter's code and
// type, and its expression relative to each node the composite's expression selects.
type Component struct {
	Code, Kind, Expression string
	expr                   *fpExpr
}

// maxComponents is how many components idx_composite has columns for.
const maxComponents = 3

// componentKinds are the value shapes a component can have (see componentValues).
var componentKinds = map[string]bool{"string": true, "token": true, "reference": true, "date": true,
	"number": true, "quantity": true, "uri": true}

// SearchParamInfo describes one supported search parameter, for the CapabilityStatement.
type SearchParamInfo struct{ Code, Type, Definition string }

type paramTable struct {
	byType      map[string]map[string]*SearchParam
	compartment map[string][]string // type -> compartment params
	failed      []string            // expressions the FHIRPath subset cannot compile
	ordered     []*SearchParam      // by (type, code): PID is the position + 1
	idsJSON     string              // [[pid, type, code], ...] for checking a database
	// refsTo lists, per target type, the pids of the reference parameters that may point
	// at it ("" for those with no declared targets, which may point anywhere): what a
	// _revinclude=* looks up in idx_reference_lookup.
	refsTo map[string][]int64
}

var (
	paramsOnce sync.Once
	params     *paramTable
	paramsErr  error
)

// loadParams reads the generated definitions and compiles every expression once.
func loadParams() (*paramTable, error) {
	paramsOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(searchParamsGz))
		if err != nil {
			paramsErr = err
			return
		}
		var t struct {
			Params map[string]map[string]struct {
				T string   `json:"t"`
				E string   `json:"e"`
				R []string `json:"r"`
				U string   `json:"u"`
				C []struct {
					Code string `json:"code"`
					T    string `json:"t"`
					E    string `json:"e"`
				} `json:"c"`
			} `json:"params"`
			Compartment map[string][]string `json:"compartment"`
		}
		if paramsErr = json.NewDecoder(zr).Decode(&t); paramsErr != nil {
			return
		}
		err = nil
		pt := &paramTable{byType: map[string]map[string]*SearchParam{}, compartment: t.Compartment}
		common := map[string]*SearchParam{}
		for _, base := range []string{"Resource", "DomainResource"} {
			for code, p := range t.Params[base] {
				common[code] = &SearchParam{Code: code, Kind: p.T, Expression: p.E, URL: p.U}
			}
		}
		for _, typ := range resourceTypeList() {
			m := map[string]*SearchParam{}
			for code, c := range common {
				sp := *c
				sp.Type = typ
				m[code] = &sp
			}
			for code, p := range t.Params[typ] {
				sp := &SearchParam{Type: typ, Code: code, Kind: p.T, Expression: p.E, Targets: p.R, URL: p.U}
				for _, c := range p.C {
					sp.Components = append(sp.Components, Component{Code: c.Code, Kind: c.T, Expression: c.E})
				}
				m[code] = sp
			}
			for _, sp := range m {
				if sp.Expression == "" || sp.Kind == "special" {
					continue
				}
				// A parameter whose expression is outside the subset stays unsupported
				// (TestSearchParamsCompile keeps that list empty) rather than failing startup.
				if err := sp.compile(); err != nil {
					sp.expr = nil
					pt.failed = append(pt.failed, fmt.Sprintf("%s.%s: %v", typ, sp.Code, err))
				}
			}
			linkUnions(m)
			linkAliases(m)
			pt.byType[typ] = m
		}
		var ids [][3]any
		for _, typ := range slices.Sorted(maps.Keys(pt.byType)) {
			for _, code := range slices.Sorted(maps.Keys(pt.byType[typ])) {
				sp := pt.byType[typ][code]
				sp.PID = int64(len(pt.ordered) + 1)
				pt.ordered = append(pt.ordered, sp)
				ids = append(ids, [3]any{sp.PID, typ, code})
			}
		}
		pt.refsTo = map[string][]int64{}
		for _, sp := range pt.ordered {
			if sp.Kind != "reference" || sp.expr == nil || sp.aliasOf != nil {
				continue // an alias's references are its base's
			}
			targets := sp.Targets
			if len(targets) == 0 {
				targets = []string{""}
			}
			for _, a := range sp.aliases {
				if !slices.Contains(targets, a.aliasType) && !slices.Contains(targets, "") {
					targets = append(slices.Clone(targets), a.aliasType)
				}
			}
			for _, t := range targets {
				pt.refsTo[t] = append(pt.refsTo[t], sp.PID)
			}
		}
		b, _ := json.Marshal(ids)
		pt.idsJSON = string(b)
		params = pt
	})
	return params, paramsErr
}

// compile compiles the parameter's expression and, for a composite, its components'.
func (sp *SearchParam) compile() error {
	var err error
	if sp.expr, err = compileFHIRPath(sp.Expression); err != nil {
		return err
	}
	if sp.Kind != "composite" {
		return nil
	}
	if len(sp.Components) < 2 || len(sp.Components) > maxComponents {
		return fmt.Errorf("%d components: composites of 2 to %d are indexed", len(sp.Components), maxComponents)
	}
	for i := range sp.Components {
		c := &sp.Components[i]
		if !componentKinds[c.Kind] {
			return fmt.Errorf("component %s has type %s", c.Code, c.Kind)
		}
		if c.expr, err = compileFHIRPath(c.Expression); err != nil {
			return fmt.Errorf("component %s: %w", c.Code, err)
		}
	}
	return nil
}

// linkUnions finds the parameters of one type whose expression is a union of the whole
// expressions of other parameters of the same kind (composites: with the same components).
// References stay out: includes, chains and compartments read their rows by their own pid.
func linkUnions(m map[string]*SearchParam) {
	for _, sp := range m {
		if sp.expr == nil || sp.Kind == "reference" || sp.Kind == "special" {
			continue
		}
		parts := unionParts(sp.Expression)
		if len(parts) < 2 {
			continue
		}
		var of []*SearchParam
		for i := 0; i < len(parts); {
			var found *SearchParam
			for _, o := range m {
				if o == sp || o.Kind != sp.Kind || o.expr == nil || (sp.Kind == "composite" && !sameComponents(o, sp)) {
					continue
				}
				if op := unionParts(o.Expression); len(op) < len(parts) && i+len(op) <= len(parts) && slices.Equal(op, parts[i:i+len(op)]) {
					found = o
					break
				}
			}
			if found == nil {
				of = nil
				break
			}
			of = append(of, found)
			i += len(unionParts(found.Expression))
		}
		sp.unionOf = of
	}
}

// aliasExpr matches a reference expression narrowed to one target type.
var aliasExpr = regexp.MustCompile(`^(.+)\.where\(resolve\(\) is ([A-Za-z]+)\)$`)

// linkAliases finds the reference parameters of one type that are another's narrowed to
// one target type (see SearchParam.aliasOf). Of several bases with the same expression
// the first by code is taken, so every build stores the rows under the same pid.
func linkAliases(m map[string]*SearchParam) {
	for _, code := range slices.Sorted(maps.Keys(m)) {
		sp := m[code]
		if sp.Kind != "reference" || sp.expr == nil {
			continue
		}
		match := aliasExpr.FindStringSubmatch(sp.Expression)
		if match == nil || !knownType(match[2]) {
			continue
		}
		for _, bc := range slices.Sorted(maps.Keys(m)) {
			// A union base stores its rows under its parts: it has none to narrow.
			if o := m[bc]; o.Kind == "reference" && o.expr != nil && len(o.unionOf) == 0 && o.Expression == match[1] {
				sp.aliasOf, sp.aliasType = o, match[2]
				o.aliases = append(o.aliases, sp)
				break
			}
		}
	}
}

// refPID is the pid under which the parameter's reference rows are stored.
func (sp *SearchParam) refPID() int64 {
	if sp.aliasOf != nil {
		return sp.aliasOf.PID
	}
	return sp.PID
}

// unionParts splits a FHIRPath expression at its top-level | operators.
func unionParts(expr string) []string {
	var parts []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\'':
			inStr = !inStr
		case inStr:
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == '|' && depth == 0:
			parts = append(parts, strings.TrimSpace(expr[start:i]))
			start = i + 1
		}
	}
	return append(parts, strings.TrimSpace(expr[start:]))
}

func sameComponents(a, b *SearchParam) bool {
	return slices.EqualFunc(a.Components, b.Components, func(x, y Component) bool {
		return x.Kind == y.Kind && x.Expression == y.Expression
	})
}

// storedPIDs are the pids under which the parameter's values are stored: its own, or
// for a union those of its parts.
func (sp *SearchParam) storedPIDs() []any {
	if len(sp.unionOf) == 0 {
		return []any{sp.PID}
	}
	var pids []any
	for _, o := range sp.unionOf {
		pids = append(pids, o.storedPIDs()...)
	}
	return pids
}

// assignPIDs records the parameters' integer ids in search_param. Ids are numbered in
// (type, code) order when the definitions load, so every database built from the same
// definitions agrees; stale reports a database whose ids differ: it was indexed with other
// definitions (an older fhirbox) and must be re-indexed before it is searched.
func (s *Store) assignPIDs(ctx context.Context) (stale bool, err error) {
	pt, err := loadParams()
	if err != nil {
		return false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM search_param`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return s.recordPIDs(ctx, tx)
		}
		var stored string
		err := tx.QueryRowContext(ctx, `SELECT json_group_array(json_array(pid, type, code))
			FROM (SELECT pid, type, code FROM search_param ORDER BY pid)`).Scan(&stored)
		stale = stored != pt.idsJSON
		return err
	})
	return stale, err
}

// recordPIDs makes search_param hold the current definitions' ids.
func (s *Store) recordPIDs(ctx context.Context, tx *sql.Tx) error {
	pt, err := loadParams()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_param`); err != nil {
		return err
	}
	for _, sp := range pt.ordered {
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_param (pid, type, code) VALUES (?, ?, ?)`, sp.PID, sp.Type, sp.Code); err != nil {
			return err
		}
	}
	return nil
}

// SearchParams lists the search parameters of a type that the engine supports.
func (s *Store) SearchParams(typ string) []SearchParamInfo {
	pt, err := loadParams()
	if err != nil {
		return nil
	}
	var out []SearchParamInfo
	for code, sp := range pt.byType[typ] {
		if !supportedKind(sp) {
			continue
		}
		out = append(out, SearchParamInfo{Code: code, Type: sp.Kind, Definition: sp.URL})
	}
	slices.SortFunc(out, func(a, b SearchParamInfo) int {
		if a.Code < b.Code {
			return -1
		}
		if a.Code > b.Code {
			return 1
		}
		return 0
	})
	return out
}

func supportedKind(sp *SearchParam) bool {
	switch sp.Code {
	case "_id", "_lastUpdated", "_content", "_text": // answered without an expression
		return true
	case "_query", "_filter":
		return false
	}
	return sp.expr != nil
}
