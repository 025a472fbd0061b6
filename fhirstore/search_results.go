package fhirstore

import (
	"slices"
	"strconv"
	"strings"
)

// sortTerm is one ORDER BY expression over alias r.
type sortTerm struct {
	expr string
	args []any
	desc bool
}

// sort turns _sort into terms: each key is the lowest (ascending) or highest (descending)
// indexed value per resource, resources without one last. r.rid always breaks ties, so
// the order is total and a keyset cursor can continue it.
func (q *query) sort(types []string, spec string) ([]sortTerm, error) {
	if spec == "" {
		return nil, nil
	}
	pt, _ := loadParams()
	var terms []sortTerm
	for _, key := range strings.Split(spec, ",") {
		key = strings.TrimSpace(key)
		desc := strings.HasPrefix(key, "-")
		key = strings.TrimPrefix(key, "-")
		switch key {
		case "_id":
			terms = append(terms, sortTerm{expr: "r.id", desc: desc})
			continue
		case "_lastUpdated":
			terms = append(terms, sortTerm{expr: "r.last_updated", desc: desc})
			continue
		}
		var pids []any
		var sps []*SearchParam
		kind := ""
		for _, t := range types {
			sp := pt.byType[t][key]
			if sp == nil || !supportedKind(sp) || sp.Kind == "composite" {
				return nil, q.bad("_sort", "cannot sort on %q: not a search parameter of %s", key, t)
			}
			pids, sps, kind = append(pids, sp.storedPIDs()...), append(sps, sp), sp.Kind
		}
		agg := "min"
		if desc {
			agg = "max"
		}
		col := map[string]string{"string": "norm", "token": "coalesce(code, text)", "date": "low", "number": "value",
			"quantity": "value", "uri": "uri", "reference": "target_type || '/' || target_id"}[kind]
		if kind == "date" && desc {
			col = "high"
		}
		// +pid: the table's own key (rid, pid, n) answers this per row; an indexable pid
		// let the planner prefer the (pid, value) index and read every value of the parameter.
		in := "+pid IN (" + marks(len(pids)) + ")"
		if kind == "reference" {
			in, pids = refRows(sps, "+pid", "target_type")
		}
		sub := "(SELECT " + agg + "(" + col + ") FROM " + kindTable[kind] + " WHERE rid = r.rid AND " + in + ")"
		terms = append(terms, sortTerm{expr: sub + " IS NULL", args: pids}, sortTerm{expr: sub, args: pids, desc: desc})
	}
	return terms, nil
}

func orderBy(terms []sortTerm) (string, []any) {
	var parts []string
	var args []any
	for _, t := range terms {
		dir := " ASC"
		if t.desc {
			dir = " DESC"
		}
		parts = append(parts, t.expr+dir)
		args = append(args, t.args...)
	}
	return strings.Join(append(parts, "r.rid"), ", "), args
}

// after is the keyset condition "comes after (last values, last rid)" in the order of
// terms: (t0 > v0) OR (t0 IS v0 AND t1 > v1) OR ... OR (all equal AND r.rid > rid).
// A NULL last value has nothing after it within its term (NULLs sort last).
func after(terms []sortTerm, last []any, rid int64) (string, []any) {
	var ors []string
	var args []any
	var eqs []string
	var eqArgs []any
	for i, t := range terms {
		if last[i] != nil {
			op := " > ?"
			if t.desc {
				op = " < ?"
			}
			cond := strings.Join(append(slices.Clone(eqs), t.expr+op), " AND ")
			ors = append(ors, "("+cond+")")
			args = append(append(append(args, eqArgs...), t.args...), last[i])
		}
		eqs = append(eqs, t.expr+" IS ?")
		eqArgs = append(append(eqArgs, t.args...), last[i])
	}
	ors = append(ors, "("+strings.Join(append(eqs, "r.rid > ?"), " AND ")+")")
	args = append(append(args, eqArgs...), rid)
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// includes loads _include and _revinclude targets of the matched page (and, with
// :iterate, of what they included), each through the access filter, at most MaxIncludes.
// $everything includes what the compartment references.
func (q *query) includes(db querier, p map[string][]string, rids []int64, everything bool) ([]SearchHit, error) {
	if len(rids) == 0 {
		return nil, nil
	}
	type spec struct {
		rev     bool
		iterate bool
		value   string
	}
	var specs []spec
	for k, vs := range p {
		for _, v := range vs {
			switch k {
			case "_include", "_include:iterate", "_include:recurse":
				specs = append(specs, spec{false, k != "_include", v})
			case "_revinclude", "_revinclude:iterate", "_revinclude:recurse":
				specs = append(specs, spec{true, k != "_revinclude", v})
			}
		}
	}
	if everything {
		specs = append(specs, spec{false, false, "*"})
	}
	seen := map[int64]bool{}
	for _, r := range rids {
		seen[r] = true
	}
	var out []SearchHit
	frontier := rids
	for round := 0; round < 1+MaxChainDepth && len(frontier) > 0; round++ {
		var next []int64
		for _, sp := range specs {
			if round > 0 && !sp.iterate {
				continue
			}
			found, err := q.include(db, sp.rev, sp.value, frontier)
			if err != nil {
				return nil, err
			}
			for _, h := range found {
				if seen[h.rid] {
					continue
				}
				seen[h.rid] = true
				if len(out) >= MaxIncludes {
					return nil, Errorf(ETooCostly, "the includes of this page exceed %d resources: narrow the search or lower _count", MaxIncludes)
				}
				out = append(out, h.SearchHit)
				next = append(next, h.rid)
			}
		}
		frontier = next
	}
	return out, nil
}

// referrersOf renders " AND x.pid IN (...)" over the reference parameters that may point
// at the resources rids (whose placeholders are in), found from their types.
func (q *query) referrersOf(db querier, rids []any, in string) (string, []any, error) {
	rows, err := db.QueryContext(q.ctx, `SELECT DISTINCT type FROM resource_current WHERE rid IN (`+in+`)`, rids...)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	pt, err := loadParams()
	if err != nil {
		return "", nil, err
	}
	seen := map[int64]bool{}
	var pids []any
	add := func(typ string) {
		for _, pid := range pt.refsTo[typ] {
			if !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	add("")
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			return "", nil, err
		}
		add(typ)
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	if len(pids) == 0 {
		return " AND 0", nil, nil
	}
	return " AND x.pid IN (" + marks(len(pids)) + ")", pids, nil
}

type ridHit struct {
	SearchHit
	rid int64
}

func (q *query) include(db querier, rev bool, value string, rids []int64) ([]ridHit, error) {
	ridList := make([]any, len(rids))
	for i, r := range rids {
		ridList[i] = r
	}
	in := marks(len(rids))
	var pidCond string
	var args []any
	if value != "*" {
		parts := strings.Split(value, ":")
		if len(parts) < 2 || !knownType(parts[0]) {
			return nil, q.bad("_include", "%q is not Type:parameter[:targetType]", value)
		}
		pt, _ := loadParams()
		sp := pt.byType[parts[0]][parts[1]]
		if sp == nil || sp.Kind != "reference" {
			return nil, q.bad("_include", "%s has no reference parameter %s", parts[0], parts[1])
		}
		cond, refArgs := refRows([]*SearchParam{sp}, "x.pid", "x.target_type")
		pidCond = " AND " + cond
		args = append(args, refArgs...)
		if len(parts) == 3 {
			if !knownType(parts[2]) {
				return nil, q.bad("_include", "unknown target type %q", parts[2])
			}
			pidCond += " AND x.target_type = ?"
			args = append(args, parts[2])
		}
	}
	if rev && value == "*" {
		// Every parameter that may point at the targets' types: the lookup index then finds
		// the references by (pid, target_id, target_type), as for a named parameter.
		cond, pids, err := q.referrersOf(db, ridList, in)
		if err != nil {
			return nil, err
		}
		pidCond, args = cond, pids
	}
	var sqlText string
	if rev {
		// CROSS JOIN keeps the page's resources the outer loop: left to itself, with several
		// of them the planner walked every reference of the parameter (pid = ?) instead.
		sqlText = `SELECT DISTINCT o.rid, o.type, o.id, h.json FROM resource_current t
			CROSS JOIN idx_reference x ON x.target_type = t.type AND x.target_id = t.id
			JOIN resource_current o ON o.rid = x.rid
			JOIN resource_history h ON h.hid = o.hid
			WHERE t.rid IN (` + in + `) AND o.deleted = 0` + pidCond
	} else {
		sqlText = `SELECT DISTINCT o.rid, o.type, o.id, h.json FROM idx_reference x
			CROSS JOIN resource_current o ON o.type = x.target_type AND o.id = x.target_id
			JOIN resource_history h ON h.hid = o.hid
			WHERE x.rid IN (` + in + `) AND o.deleted = 0` + pidCond
	}
	allArgs := append(ridList, args...)
	// Included resources pass the same access filter as direct reads of their type.
	acc, accArgs, err := q.includeFilter("o")
	if err != nil {
		return nil, err
	}
	sqlText += acc + " LIMIT " + strconv.Itoa(MaxIncludes+1)
	rows, err := db.QueryContext(q.ctx, sqlText, append(allArgs, accArgs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ridHit
	for rows.Next() {
		var h ridHit
		if err := rows.Scan(&h.rid, &h.Type, &h.ID, &h.JSON); err != nil {
			return nil, err
		}
		h.Mode = "include"
		out = append(out, h)
	}
	return out, rows.Err()
}

// includeFilter is the access filter over all types for included rows on alias a.
func (q *query) includeFilter(a string) (string, []any, error) {
	if q.access == nil {
		return "", nil, nil
	}
	var parts []string
	var args []any
	for _, t := range resourceTypeList() {
		alts, ok := q.access.For(t, Read)
		if !ok {
			continue
		}
		cond, cargs, err := q.alternatives(t, a, alts)
		if err != nil {
			return "", nil, err
		}
		if cond == "" {
			parts = append(parts, a+".type = ?")
			args = append(args, t)
			continue
		}
		parts = append(parts, "("+a+".type = ? AND "+cond+")")
		args = append(append(args, t), cargs...)
	}
	if len(parts) == 0 {
		return " AND 0", nil, nil
	}
	return " AND (" + strings.Join(parts, " OR ") + ")", args, nil
}
