package fhirstore

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// param renders one search parameter (name may carry a modifier or a chain) with one
// value (commas are ORs) as an SQL condition on alias a. Only identifiers from the
// definitions table reach the SQL text; every value is an argument.
func (q *query) param(types []string, a, name, value string, depth int) (string, []any, error) {
	if depth > MaxChainDepth {
		return "", nil, Errorf(ETooCostly, "chains and _has may nest at most %d levels", MaxChainDepth)
	}
	if strings.HasPrefix(name, "_has:") {
		return q.has(types, a, name, value, depth)
	}
	code, modifier, _ := strings.Cut(name, ":")
	chain := ""
	if i := strings.IndexByte(code, '.'); i >= 0 {
		code, chain = code[:i], code[i+1:]
	} else if i := strings.IndexByte(modifier, '.'); i >= 0 {
		modifier, chain = modifier[:i], modifier[i+1:]
	}
	switch code {
	case "_id":
		return q.idCond(a, modifier, value)
	case "_lastUpdated":
		return q.dateCond(a+".last_updated", a+".last_updated", value, code)
	case "_text", "_content":
		if chain != "" {
			return "", nil, q.bad(name, "%s is not a reference: it cannot be chained", code)
		}
		return q.textCond(a, code, modifier, value)
	}
	// The parameter must exist on every searched type (system search: on all of them).
	var sps []*SearchParam
	pt, _ := loadParams()
	for _, t := range types {
		sp := pt.byType[t][code]
		if sp == nil || !supportedKind(sp) {
			if sp != nil {
				return "", nil, q.ignore(name, "search parameter "+code+" ("+sp.Kind+") is not supported")
			}
			if len(types) == 1 {
				return "", nil, q.ignore(name, "unknown search parameter "+code+" for "+t)
			}
			return "", nil, q.ignore(name, "search parameter "+code+" is not defined for every type searched (use _type)")
		}
		sps = append(sps, sp)
	}
	var pids []any
	for _, sp := range sps {
		pids = append(pids, sp.storedPIDs()...)
	}
	pidIn := "pid IN (" + marks(len(pids)) + ")"
	sp := sps[0]
	if sp.Kind == "composite" {
		switch {
		case chain != "":
			return "", nil, q.bad(name, "%s is not a reference: it cannot be chained", code)
		case modifier != "":
			return "", nil, q.bad(name, "modifier :%s is not supported on composite parameters", modifier)
		}
		cond, args, err := q.compositeCond(sps, name, value)
		if err != nil {
			return "", nil, err
		}
		return a + ".rid IN (SELECT rid FROM idx_composite WHERE " + pidIn + " AND " + cond + ")", append(pids, args...), nil
	}
	// Reference rows: an alias's are its base's that point at its type.
	var refIn string
	var refArgs []any
	if sp.Kind == "reference" {
		refIn, refArgs = refRows(sps, "pid", "target_type")
	}
	if modifier == "missing" {
		table := kindTable[sp.Kind]
		cond := a + ".rid IN (SELECT rid FROM " + table + " WHERE " + pidIn + ")"
		if sp.Kind == "reference" { // a reference by identifier only is present too
			cond = "(" + a + ".rid IN (SELECT rid FROM idx_reference WHERE " + refIn + ") OR " +
				a + ".rid IN (SELECT rid FROM idx_token WHERE " + pidIn + "))"
			pids = append(refArgs, pids...)
		}
		switch value {
		case "true":
			return "NOT " + cond, pids, nil
		case "false":
			return cond, pids, nil
		}
		return "", nil, q.bad(name, ":missing takes true or false, not %q", value)
	}
	if chain != "" {
		if sp.Kind != "reference" {
			return "", nil, q.bad(name, "%s is not a reference: it cannot be chained", code)
		}
		return q.chainCond(sp, a, refIn, refArgs, modifier, chain, value, depth)
	}
	var ors []string
	var args []any
	for _, v := range splitValues(value) {
		cond, cargs, err := q.valueCond(sp, modifier, name, v)
		if err != nil {
			return "", nil, err
		}
		ors = append(ors, cond)
		args = append(args, cargs...)
	}
	if len(ors) == 0 {
		return "", nil, q.bad(name, "%s needs a value", name)
	}
	table := kindTable[sp.Kind]
	switch {
	case modifier == "identifier":
		table = "idx_token"
	case sp.Kind == "reference":
		pidIn, pids = refIn, refArgs
	}
	sql := a + ".rid IN (SELECT rid FROM " + table + " WHERE " + pidIn + " AND (" + strings.Join(ors, " OR ") + "))"
	if modifier == "not" {
		sql = "NOT " + sql
	}
	return sql, append(pids, args...), nil
}

// refRows renders which idx_reference rows hold the references of sps, on the columns
// pidCol and typeCol: a parameter's own stored pids', or for an alias (see
// SearchParam.aliasOf) its base's that point at its type. The result is a fresh slice.
func refRows(sps []*SearchParam, pidCol, typeCol string) (string, []any) {
	var own []any
	var types []string
	bases := map[string][]any{}
	for _, sp := range sps {
		if sp.aliasOf == nil {
			own = append(own, sp.storedPIDs()...)
			continue
		}
		if bases[sp.aliasType] == nil {
			types = append(types, sp.aliasType)
		}
		bases[sp.aliasType] = append(bases[sp.aliasType], sp.aliasOf.PID)
	}
	var ors []string
	var args []any
	if len(own) > 0 {
		ors = append(ors, pidCol+" IN ("+marks(len(own))+")")
		args = append(args, own...)
	}
	for _, t := range types {
		ors = append(ors, "("+pidCol+" IN ("+marks(len(bases[t]))+") AND "+typeCol+" = ?)")
		args = append(append(args, bases[t]...), t)
	}
	if len(ors) == 1 {
		return ors[0], args
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// marks is n comma-separated placeholders.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// rowMarks is the VALUES list of a multi-row INSERT: rows tuples of cols placeholders.
func rowMarks(cols, rows int) string {
	one := "(" + marks(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

var kindTable = map[string]string{
	"string": "idx_string", "token": "idx_token", "reference": "idx_reference", "date": "idx_date",
	"number": "idx_number", "quantity": "idx_number", "uri": "idx_uri",
}

// splitValues splits a parameter value on commas that are not escaped with a backslash.
func splitValues(v string) []string {
	parts := splitEscaped(v, ',')
	for i, p := range parts {
		parts[i] = unescape(p)
	}
	return parts
}

// splitEscaped splits v on each sep not escaped with a backslash, keeping the escapes, so
// the parts can be split again (a composite's values on $) before unescape.
func splitEscaped(v string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case sep:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

func unescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// compositeCond matches one idx_composite row with every component: each comma-separated
// alternative is v1$v2[$v3], one value per component with the semantics of that
// component's type, and all of them must hold in the same tuple.
func (q *query) compositeCond(sps []*SearchParam, name, value string) (string, []any, error) {
	comps := sps[0].Components
	for _, sp := range sps[1:] {
		if !slices.EqualFunc(sp.Components, comps, func(a, b Component) bool { return a.Kind == b.Kind }) {
			return "", nil, q.bad(name, "%s has different components on the types searched (use _type)", name)
		}
	}
	var ors []string
	var args []any
	for _, alt := range splitEscaped(value, ',') {
		parts := splitEscaped(alt, '$')
		if len(parts) != len(comps) {
			return "", nil, q.bad(name, "%s takes %d values separated by $ (%s), not %q", name, len(comps), componentCodes(comps), unescape(alt))
		}
		var ands []string
		for i, part := range parts {
			cond, cargs, err := q.valueCondOn(componentColumns(i), comps[i].Kind, "", name, unescape(part))
			if err != nil {
				return "", nil, err
			}
			ands = append(ands, cond)
			args = append(args, cargs...)
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args, nil
}

func componentCodes(comps []Component) string {
	codes := make([]string, len(comps))
	for i, c := range comps {
		codes[i] = c.Code
	}
	return strings.Join(codes, "$")
}

// valueCond is the condition on one row of the parameter's plain index table for one value.
func (q *query) valueCond(sp *SearchParam, modifier, name, v string) (string, []any, error) {
	return q.valueCondOn(plainColumns, sp.Kind, modifier, name, v)
}

// valueColumns names the columns a value condition compares: a plain index table's, or
// those of one component in idx_composite. Composites take no modifiers, so the columns
// only modifiers use (text, exact) are empty there.
type valueColumns struct {
	system, code, text, norm, exact, value, low, high, uri, targetType, targetID, url string
	unit                                                                              string // quantity unit, when not a row of its own
}

var plainColumns = valueColumns{system: "system", code: "code", text: "text", norm: "norm", exact: "exact",
	value: "value", low: "low", high: "high", uri: "uri", targetType: "target_type", targetID: "target_id", url: "url"}

// componentColumns are component i's columns in idx_composite (see 0005_composite.sql).
func componentColumns(i int) valueColumns {
	n := strconv.Itoa(i + 1)
	return valueColumns{system: "s" + n, code: "c" + n, norm: "s" + n, value: "lo" + n, low: "lo" + n, high: "hi" + n,
		uri: "c" + n, targetType: "s" + n, targetID: "c" + n, url: "x" + n, unit: "x" + n}
}

// valueCondOn is the condition on one index row, in the columns col, for one value of a
// parameter of the given kind.
func (q *query) valueCondOn(col valueColumns, kind, modifier, name, v string) (string, []any, error) {
	switch kind {
	case "string":
		n := normalize(v)
		switch modifier {
		case "":
			return "(" + col.norm + " >= ? AND " + col.norm + " < ?)", []any{n, n + "\uffff"}, nil
		case "exact":
			return col.exact + " = ?", []any{v}, nil
		case "contains":
			return col.norm + " LIKE ? ESCAPE '\\'", []any{"%" + likeEscape(n) + "%"}, nil
		}
	case "token":
		switch modifier {
		case "text":
			return col.text + " LIKE ? ESCAPE '\\'", []any{likeEscape(normalize(v)) + "%"}, nil
		case "of-type":
			parts := strings.SplitN(v, "|", 3)
			if len(parts) != 3 {
				return "", nil, q.bad(name, ":of-type takes system|code|value, not %q", v)
			}
			return "(" + col.system + " = ? AND " + col.code + " = ?)", []any{"of-type:" + parts[0] + "|" + parts[1], parts[2]}, nil
		case "", "not", "identifier":
			sys, code, hasSys := strings.Cut(v, "|")
			switch {
			case !hasSys:
				return col.code + " = ?", []any{v}, nil
			case sys == "":
				return "(" + col.code + " = ? AND " + col.system + " IS NULL)", []any{code}, nil
			case code == "":
				return col.system + " = ?", []any{sys}, nil
			}
			return "(" + col.code + " = ? AND " + col.system + " = ?)", []any{code, sys}, nil
		}
	case "reference":
		ref := "(" + col.targetType + " = ? AND " + col.targetID + " = ?)"
		switch {
		case modifier == "identifier":
			return q.valueCondOn(col, "token", "", name, v)
		case modifier != "" && knownType(modifier):
			return ref, []any{modifier, v}, nil
		case modifier != "":
		case strings.Contains(v, "://") || strings.HasPrefix(v, "urn:"):
			r := parseRef(0, v)
			if r.ttype != nil {
				return "(" + col.url + " = ? OR " + ref + ")", []any{v, r.ttype, r.tid}, nil
			}
			return col.url + " = ?", []any{v}, nil
		case strings.Contains(v, "/"):
			r := parseRef(0, v)
			if r.ttype == nil {
				return "", nil, q.bad(name, "%q is not a reference", v)
			}
			return ref, []any{r.ttype, r.tid}, nil
		default:
			return col.targetID + " = ?", []any{v}, nil
		}
	case "date":
		if modifier == "" {
			return q.dateCond(col.low, col.high, v, name)
		}
	case "number", "quantity":
		if modifier == "" {
			return q.numberCond(col, kind, v, name)
		}
	case "uri":
		switch modifier {
		case "":
			return col.uri + " = ?", []any{v}, nil
		case "below":
			return col.uri + " LIKE ? ESCAPE '\\'", []any{likeEscape(v) + "%"}, nil
		case "above":
			return "? LIKE " + col.uri + " || '%'", []any{v}, nil
		}
	}
	return "", nil, q.bad(name, "modifier :%s is not supported on %s parameters", modifier, kind)
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// prefix splits a FHIR search prefix (eq, ne, gt, lt, ge, le, sa, eb, ap) off a value.
func prefix(v string) (string, string) {
	if len(v) > 2 {
		switch p := v[:2]; p {
		case "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap":
			return p, v[2:]
		}
	}
	return "eq", v
}

// dateCond compares the stored range [lo, hi] with the search value's range per R4.
func (q *query) dateCond(lo, hi, value, name string) (string, []any, error) {
	var ors []string
	var args []any
	for _, v := range splitValues(value) {
		p, d := prefix(v)
		qlo, qhi, ok := parseDateRange(d)
		if !ok {
			return "", nil, q.bad(name, "%q is not a valid date", v)
		}
		var c string
		var a []any
		switch p {
		case "eq":
			c, a = lo+" >= ? AND "+hi+" <= ?", []any{qlo, qhi}
		case "ne":
			c, a = "NOT ("+lo+" >= ? AND "+hi+" <= ?)", []any{qlo, qhi}
		case "gt":
			c, a = hi+" > ?", []any{qhi}
		case "lt":
			c, a = lo+" < ?", []any{qlo}
		case "ge":
			c, a = hi+" >= ?", []any{qlo}
		case "le":
			c, a = lo+" <= ?", []any{qhi}
		case "sa":
			c, a = lo+" > ?", []any{qhi}
		case "eb":
			c, a = hi+" < ?", []any{qlo}
		case "ap":
			// Approximately: within 10% of the distance from now, at least a day.
			gap := int64(math.Abs(float64(nowMicros()-qlo)) * 0.1)
			gap = max(gap, int64(24*time.Hour/time.Microsecond))
			c, a = hi+" >= ? AND "+lo+" <= ?", []any{qlo - gap, qhi + gap}
		}
		ors = append(ors, "("+c+")")
		args = append(args, a...)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args, nil
}

// numberCond compares numbers (and quantities: value|system|code) per R4: eq means the
// stored value lies within the search value's precision range.
func (q *query) numberCond(col valueColumns, kind, v, name string) (string, []any, error) {
	p, rest := prefix(v)
	num, unit := rest, ""
	var sys, code string
	if kind == "quantity" {
		parts := strings.SplitN(rest, "|", 3)
		num = parts[0]
		if len(parts) == 3 {
			sys, code = parts[1], parts[2]
		} else if len(parts) == 2 {
			code = parts[1]
		}
	}
	_ = unit
	f, lo, hi, ok := numberRange(num)
	if !ok {
		return "", nil, q.bad(name, "%q is not a number", num)
	}
	val := col.value
	var c string
	var args []any
	switch p {
	case "eq":
		c, args = val+" >= ? AND "+val+" < ?", []any{lo, hi}
	case "ne":
		c, args = "NOT ("+val+" >= ? AND "+val+" < ?)", []any{lo, hi}
	case "gt", "sa":
		c, args = val+" > ?", []any{f}
	case "lt", "eb":
		c, args = val+" < ?", []any{f}
	case "ge":
		c, args = val+" >= ?", []any{f}
	case "le":
		c, args = val+" <= ?", []any{f}
	case "ap":
		d := math.Abs(f) * 0.1
		c, args = val+" >= ? AND "+val+" <= ?", []any{f - d, f + d}
	}
	switch {
	case sys != "":
		c += " AND " + col.system + " = ?"
		args = append(args, sys)
		if code != "" {
			c += " AND " + col.code + " = ?"
			args = append(args, code)
		}
	case code != "" && col.unit != "":
		// The unit shares the code's row here; the plain table gives it a row of its own
		// (without a system), which a code-only search also matches.
		c += " AND (" + col.code + " = ? OR " + col.unit + " = ?)"
		args = append(args, code, code)
	case code != "":
		c += " AND " + col.code + " = ?"
		args = append(args, code)
	}
	return "(" + c + ")", args, nil
}

func (q *query) idCond(a, modifier, value string) (string, []any, error) {
	ids := splitValues(value)
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	cond := a + ".id IN (" + marks(len(ids)) + ")"
	switch modifier {
	case "":
		return cond, args, nil
	case "not":
		return "NOT " + cond, args, nil
	}
	return "", nil, q.bad("_id", "modifier :%s is not supported on _id", modifier)
}

// chainCond: subject:Patient.name=x matches resources whose subject is a Patient matching
// name=x. Without a type modifier every target type that has the chained parameter counts.
func (q *query) chainCond(sp *SearchParam, a, refIn string, refArgs []any, modifier, chain, value string, depth int) (string, []any, error) {
	targets := sp.Targets
	if sp.aliasOf != nil {
		targets = []string{sp.aliasType}
	}
	if modifier != "" {
		if !knownType(modifier) {
			return "", nil, q.bad(sp.Code, "unknown type %q in chain", modifier)
		}
		targets = []string{modifier}
	}
	next, _, _ := strings.Cut(chain, ".")
	next, _, _ = strings.Cut(next, ":")
	pt, _ := loadParams()
	var ors []string
	var args []any
	alias := "c" + strconv.Itoa(depth)
	for _, t := range targets {
		if next != "_id" && next != "_lastUpdated" && pt.byType[t][next] == nil && !strings.HasPrefix(next, "_has") {
			continue
		}
		sub := &query{s: q.s, ctx: q.ctx, access: q.access, strict: true, self: q.self}
		cond, cargs, err := sub.param([]string{t}, alias, chain, value, depth+1)
		if err != nil {
			return "", nil, err
		}
		acc, accArgs, err := q.visibleTo(t, alias)
		if err != nil {
			return "", nil, err
		}
		ors = append(ors, "(target_type = ? AND target_id IN (SELECT "+alias+".id FROM resource_current "+alias+
			" WHERE "+alias+".type = ? AND "+alias+".deleted = 0 AND "+cond+acc+"))")
		args = append(append(append(args, t, t), cargs...), accArgs...)
	}
	if len(ors) == 0 {
		return "", nil, q.bad(sp.Code+"."+chain, "no target type of %s has a parameter %s", sp.Code, next)
	}
	return a + ".rid IN (SELECT rid FROM idx_reference WHERE " + refIn + " AND (" + strings.Join(ors, " OR ") + "))",
		append(refArgs, args...), nil
}

// visibleTo renders the access filter for reading typ on alias a, as " AND (...)"; a type
// the filter does not allow at all matches nothing, so chains cannot probe it.
func (q *query) visibleTo(typ, a string) (string, []any, error) {
	alts, ok := q.access.For(typ, Search)
	if !ok {
		return " AND 0", nil, nil
	}
	cond, args, err := q.alternatives(typ, a, alts)
	if cond == "" || err != nil {
		return "", nil, err
	}
	return " AND " + cond, args, nil
}

// has: _has:Observation:patient:code=1234 matches resources referred to (by Observation's
// patient parameter) from Observations with code 1234. Nested _has chains recurse.
func (q *query) has(types []string, a, name, value string, depth int) (string, []any, error) {
	parts := strings.SplitN(strings.TrimPrefix(name, "_has:"), ":", 3)
	if len(parts) != 3 || !knownType(parts[0]) {
		return "", nil, q.bad(name, "_has takes _has:Type:reference:parameter=value")
	}
	typ, refCode, rest := parts[0], parts[1], parts[2]
	pt, _ := loadParams()
	sp := pt.byType[typ][refCode]
	if sp == nil || sp.Kind != "reference" {
		return "", nil, q.bad(name, "%s has no reference parameter %s", typ, refCode)
	}
	alias := "h" + strconv.Itoa(depth)
	sub := &query{s: q.s, ctx: q.ctx, access: q.access, strict: true, self: q.self}
	cond, cargs, err := sub.param([]string{typ}, alias, rest, value, depth+1)
	if err != nil {
		return "", nil, err
	}
	acc, accArgs, err := q.visibleTo(typ, alias)
	if err != nil {
		return "", nil, err
	}
	refIn, refArgs := refRows([]*SearchParam{sp}, "x.pid", "x.target_type")
	sql := a + ".id IN (SELECT x.target_id FROM idx_reference x JOIN resource_current " + alias + " ON " + alias + ".rid = x.rid" +
		" WHERE " + refIn + " AND x.target_type = " + a + ".type AND " + alias + ".deleted = 0 AND " + cond + acc + ")"
	return sql, append(append(refArgs, cargs...), accArgs...), nil
}
