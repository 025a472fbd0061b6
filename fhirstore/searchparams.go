package fhirstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
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
	expr       *fpExpr
}

// SearchParamInfo describes one supported search parameter, for the CapabilityStatement.
type SearchParamInfo struct{ Code, Type, Definition string }

type paramTable struct {
	byType      map[string]map[string]*SearchParam
	compartment map[string][]string // type -> compartment params
	failed      []string            // expressions the FHIRPath subset cannot compile
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
				m[code] = &SearchParam{Type: typ, Code: code, Kind: p.T, Expression: p.E, Targets: p.R, URL: p.U}
			}
			for _, sp := range m {
				if sp.Expression == "" || sp.Kind == "composite" || sp.Kind == "special" {
					continue
				}
				// A parameter whose expression is outside the subset stays unsupported
				// (TestSearchParamsCompile keeps that list empty) rather than failing startup.
				if sp.expr, err = compileFHIRPath(sp.Expression); err != nil {
					sp.expr = nil
					pt.failed = append(pt.failed, fmt.Sprintf("%s.%s: %v", typ, sp.Code, err))
				}
			}
			pt.byType[typ] = m
		}
		params = pt
	})
	return params, paramsErr
}

// assignPIDs gives every parameter its stable integer id, recorded in search_param so ids
// survive upgrades that add parameters.
func (s *Store) assignPIDs(ctx context.Context) error {
	pt, err := loadParams()
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		known := map[[2]string]int64{}
		rows, err := tx.QueryContext(ctx, `SELECT pid, type, code FROM search_param`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var pid int64
			var typ, code string
			if err := rows.Scan(&pid, &typ, &code); err != nil {
				rows.Close()
				return err
			}
			known[[2]string{typ, code}] = pid
		}
		rows.Close()
		for typ, m := range pt.byType {
			for code, sp := range m {
				pid, ok := known[[2]string{typ, code}]
				if !ok {
					if err := tx.QueryRowContext(ctx, `INSERT INTO search_param (type, code) VALUES (?, ?) RETURNING pid`, typ, code).Scan(&pid); err != nil {
						return err
					}
				}
				sp.PID = pid
			}
		}
		return nil
	})
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
	case "_id", "_lastUpdated":
		return true
	case "_query", "_content", "_text", "_filter":
		return false
	}
	return sp.expr != nil
}
