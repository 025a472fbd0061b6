package fhirstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// indexRows are the search index values of one resource, extracted once per write.
type indexRows struct {
	strings     []strRow
	tokens      []tokenRow
	refs        []refRow
	dates       []dateRow
	numbers     []numRow
	uris        []uriRow
	tuples      []tupleRow
	compartment []string
	// narrative and content are the _text and _content documents.
	narrative, content string
	// codesOnly skips the display text of codings: composite components take no :text.
	codesOnly bool
}

type strRow struct {
	pid         int64
	norm, exact string
}
type tokenRow struct {
	pid                int64
	system, code, text any // nil when absent
}
type refRow struct {
	pid             int64
	ttype, tid, url any
}
type dateRow struct {
	pid       int64
	low, high int64
}
type numRow struct {
	pid              int64
	value, low, high float64
	system, code     any
}
type uriRow struct {
	pid int64
	uri string
}

// tupleRow is one tuple of a composite parameter: one value per component.
type tupleRow struct {
	pid int64
	v   [maxComponents]compValue
}

// compValue is one component value in the idx_composite columns its type uses (see
// migrations/0005_composite.sql); nil columns are unused.
type compValue struct{ s, c, x, lo, hi any }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// extract evaluates every search parameter of typ over res, to be stored under id. It
// only reads res, so it may run on another goroutine than the write.
func extract(typ, id string, res map[string]any) (*indexRows, error) {
	pt, err := loadParams()
	if err != nil {
		return nil, err
	}
	rows := &indexRows{}
	for _, sp := range pt.byType[typ] {
		// _id and _lastUpdated are answered from resource_current itself.
		if sp.expr == nil || sp.Code == "_id" || sp.Code == "_lastUpdated" {
			continue
		}
		if len(sp.unionOf) > 0 || sp.aliasOf != nil {
			continue // stored under its parts, or its base
		}
		if sp.Kind == "composite" {
			rows.addTuples(sp, res, typ)
			continue
		}
		for _, n := range sp.expr.eval(res, typ) {
			rows.add(sp, n)
			if len(sp.aliases) > 0 {
				rows.addAliasIdentifiers(sp, n)
			}
		}
	}
	rows.narrative, rows.content = fullText(res)
	seen := map[string]bool{}
	if typ == "Patient" && id != "" {
		rows.compartment, seen[id] = append(rows.compartment, id), true
	}
	for _, code := range pt.compartment[typ] {
		sp := pt.byType[typ][code]
		if sp == nil || (sp.aliasOf != nil && sp.aliasType != "Patient") {
			continue
		}
		pid := sp.refPID()
		for _, r := range rows.refs {
			if r.pid == pid && r.ttype == "Patient" {
				id := r.tid.(string)
				if !seen[id] {
					rows.compartment, seen[id] = append(rows.compartment, id), true
				}
			}
		}
	}
	return rows, nil
}

func (rows *indexRows) add(sp *SearchParam, n node) {
	switch sp.Kind {
	case "string":
		for _, s := range stringValues(n) {
			rows.strings = append(rows.strings, strRow{sp.PID, normalize(s), s})
		}
	case "token":
		rows.addToken(sp.PID, n)
	case "reference":
		rows.addRef(sp.PID, n)
	case "date":
		if lo, hi, ok := dateRange(n); ok {
			rows.dates = append(rows.dates, dateRow{sp.PID, lo, hi})
		}
	case "number", "quantity":
		rows.addNumber(sp.PID, n)
	case "uri":
		if s, ok := n.v.(string); ok {
			rows.uris = append(rows.uris, uriRow{sp.PID, s})
		}
	}
}

func stringValues(n node) []string {
	switch v := n.v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		var out []string
		for _, k := range []string{"family", "given", "prefix", "suffix", "text", "line", "city", "district", "state", "postalCode", "country"} {
			switch x := v[k].(type) {
			case string:
				out = append(out, x)
			case []any:
				for _, y := range x {
					if s, ok := y.(string); ok {
						out = append(out, s)
					}
				}
			}
		}
		return out
	}
	return nil
}

var foldAccents = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// normalize makes string search case- and accent-insensitive with collapsed whitespace.
func normalize(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		if t, _, err := transform.String(foldAccents, s); err == nil {
			s = t
		}
	}
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

func (rows *indexRows) addToken(pid int64, n node) {
	switch v := n.v.(type) {
	case string:
		rows.tokens = append(rows.tokens, tokenRow{pid, nil, v, nil})
	case bool:
		rows.tokens = append(rows.tokens, tokenRow{pid, nil, strconv.FormatBool(v), nil})
	case map[string]any:
		text := ""
		if t, ok := v["text"].(string); ok {
			text = t
		}
		codings, isCC := v["coding"].([]any)
		if _, hasText := v["text"].(string); hasText && v["value"] == nil && v["code"] == nil {
			isCC = true
		}
		if isCC { // CodeableConcept
			for _, c := range codings {
				if cm, ok := c.(map[string]any); ok {
					rows.addCoding(pid, cm, text)
				}
			}
			if len(codings) == 0 && text != "" {
				rows.tokens = append(rows.tokens, tokenRow{pid, nil, nil, normalize(text)})
			}
			return
		}
		if _, ok := v["code"]; ok { // Coding
			rows.addCoding(pid, v, "")
			return
		}
		if val, ok := v["value"].(string); ok { // Identifier or ContactPoint
			sys, _ := v["system"].(string)
			rows.tokens = append(rows.tokens, tokenRow{pid, nullable(sys), val, nullable(normalize(typeText(v)))})
			if t, ok := v["type"].(map[string]any); ok { // for :of-type
				for _, c := range asSlice(t["coding"]) {
					cm, _ := c.(map[string]any)
					ts, _ := cm["system"].(string)
					tc, _ := cm["code"].(string)
					rows.tokens = append(rows.tokens, tokenRow{pid, "of-type:" + ts + "|" + tc, val, nil})
				}
			}
		}
	}
}

func typeText(v map[string]any) string {
	t, _ := v["type"].(map[string]any)
	s, _ := t["text"].(string)
	return s
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func (rows *indexRows) addCoding(pid int64, c map[string]any, text string) {
	sys, _ := c["system"].(string)
	code, _ := c["code"].(string)
	disp, _ := c["display"].(string)
	if text == "" {
		text = disp
	} else if disp != "" {
		text += " " + disp
	}
	if code == "" && text == "" {
		return
	}
	if rows.codesOnly {
		text = ""
	}
	rows.tokens = append(rows.tokens, tokenRow{pid, nullable(sys), nullable(code), nullable(normalize(text))})
}

func (rows *indexRows) addRef(pid int64, n node) {
	switch v := n.v.(type) {
	case string: // canonical or uri
		rows.refs = append(rows.refs, refRow{pid, nil, nil, v})
	case map[string]any:
		if ref, ok := v["reference"].(string); ok {
			rows.refs = append(rows.refs, parseRef(pid, ref))
		}
		rows.addRefIdentifier(pid, v)
	}
}

// addAliasIdentifiers indexes the identifier of a Reference n of base parameter sp under
// each alias of sp whose type the reference names: the alias stores no reference rows, but
// :identifier needs rows of its own (see SearchParam.aliasOf).
func (rows *indexRows) addAliasIdentifiers(sp *SearchParam, n node) {
	m, ok := n.v.(map[string]any)
	if !ok || m["identifier"] == nil {
		return
	}
	ref, _ := m["reference"].(string)
	for _, a := range sp.aliases {
		if refType(ref) == a.aliasType {
			rows.addRefIdentifier(a.PID, m)
		}
	}
}

// addRefIdentifier indexes a Reference's identifier as a token, for :identifier.
func (rows *indexRows) addRefIdentifier(pid int64, ref map[string]any) {
	if id, ok := ref["identifier"].(map[string]any); ok {
		sys, _ := id["system"].(string)
		val, _ := id["value"].(string)
		rows.tokens = append(rows.tokens, tokenRow{pid, nullable(sys), nullable(val), nil})
	}
}

// parseRef splits Type/id (relative or absolute, with or without _history) for the index.
func parseRef(pid int64, ref string) refRow {
	r := refRow{pid: pid}
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:") {
		r.url = ref
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) >= 2 && knownType(parts[len(parts)-2]) {
		r.ttype, r.tid = parts[len(parts)-2], parts[len(parts)-1]
	}
	return r
}

func (rows *indexRows) addNumber(pid int64, n node) {
	q, ok := quantityOf(n)
	if !ok {
		return
	}
	rows.numbers = append(rows.numbers, numRow{pid, q.value, q.low, q.high, nullable(q.system), nullable(q.code)})
	if q.unit != "" && q.unit != q.code {
		rows.numbers = append(rows.numbers, numRow{pid, q.value, q.low, q.high, nil, q.unit})
	}
}

// quantity is a number or Quantity node's value, its precision range and its units; code
// falls back to the unit when the Quantity has no code.
type quantity struct {
	value, low, high   float64
	system, code, unit string
}

func quantityOf(n node) (quantity, bool) {
	var q quantity
	num, ok := n.v.(json.Number)
	m, isMap := n.v.(map[string]any)
	if isMap { // Quantity and its profiles
		num, ok = m["value"].(json.Number)
	}
	if !ok {
		return q, false
	}
	if q.value, q.low, q.high, ok = numberRange(string(num)); !ok {
		return q, false
	}
	if isMap {
		q.system, _ = m["system"].(string)
		q.code, _ = m["code"].(string)
		q.unit, _ = m["unit"].(string)
		if q.code == "" {
			q.code = q.unit
		}
	}
	return q, true
}

// addTuples indexes a composite: for each node its expression selects, the values of
// every component (evaluated from that node) are combined into tuples, so a search on
// the composite can only match values that belong together. A node lacking a value for
// some component yields no tuple: it can never match all of them.
func (rows *indexRows) addTuples(sp *SearchParam, res map[string]any, typ string) {
roots:
	for _, root := range sp.expr.eval(res, typ) {
		vals := make([][]compValue, len(sp.Components))
		for i, c := range sp.Components {
			for _, n := range c.expr.evalFrom(root, res, typ) {
				vals[i] = append(vals[i], componentValues(c.Kind, n)...)
			}
			if len(vals[i]) == 0 {
				continue roots
			}
		}
		// Every combination: a CodeableConcept with two codings gives two tuples.
		pick := make([]int, len(vals))
		for {
			t := tupleRow{pid: sp.PID}
			for i, k := range pick {
				t.v[i] = vals[i][k]
			}
			rows.tuples = append(rows.tuples, t)
			i := len(pick) - 1
			for ; i >= 0; i-- {
				if pick[i]++; pick[i] < len(vals[i]) {
					break
				}
				pick[i] = 0
			}
			if i < 0 {
				break
			}
		}
	}
}

// componentValues encodes one component node the way the plain index of its type does,
// into the idx_composite columns that type uses.
func componentValues(kind string, n node) []compValue {
	plain := indexRows{codesOnly: true}
	var out []compValue
	switch kind {
	case "token":
		plain.addToken(0, n)
		for _, t := range plain.tokens {
			// Text-only concepts and the :of-type rows serve modifiers, which composites
			// do not take.
			if sys, _ := t.system.(string); t.code == nil || strings.HasPrefix(sys, "of-type:") {
				continue
			}
			out = append(out, compValue{s: t.system, c: t.code})
		}
	case "string":
		for _, s := range stringValues(n) {
			out = append(out, compValue{s: normalize(s)})
		}
	case "reference":
		plain.addRef(0, n)
		for _, r := range plain.refs {
			out = append(out, compValue{s: r.ttype, c: r.tid, x: r.url})
		}
	case "uri":
		if s, ok := n.v.(string); ok {
			out = append(out, compValue{c: s})
		}
	case "date":
		if lo, hi, ok := dateRange(n); ok {
			out = append(out, compValue{lo: lo, hi: hi})
		}
	case "number":
		if q, ok := quantityOf(n); ok {
			out = append(out, compValue{lo: q.value})
		}
	case "quantity":
		if q, ok := quantityOf(n); ok {
			v := compValue{s: nullable(q.system), c: nullable(q.code), lo: q.value}
			if q.unit != q.code {
				v.x = nullable(q.unit)
			}
			out = append(out, v)
		}
	}
	return out
}

// numberRange is a decimal's value and the range its precision implies (1.5 → 1.45..1.55).
func numberRange(s string) (v, lo, hi float64, ok bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, 0, false
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		exp, _ = strconv.Atoi(s[i+1:])
	}
	digits := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		digits = len(mant) - i - 1
	}
	half := 0.5 * math.Pow(10, float64(-digits+exp))
	return f, f - half, f + half, true
}

const (
	minTime = math.MinInt64 / 2
	maxTime = math.MaxInt64 / 2
)

func dateRange(n node) (lo, hi int64, ok bool) {
	switch v := n.v.(type) {
	case string:
		return parseDateRange(v)
	case map[string]any:
		if _, isPeriod := v["start"]; isPeriod || v["end"] != nil {
			lo, hi = minTime, maxTime
			if s, ok := v["start"].(string); ok {
				if l, _, ok := parseDateRange(s); ok {
					lo = l
				}
			}
			if e, ok := v["end"].(string); ok {
				if _, h, ok := parseDateRange(e); ok {
					hi = h
				}
			}
			return lo, hi, true
		}
		if ev := asSlice(v["event"]); len(ev) > 0 { // Timing: the span of its events
			lo, hi = maxTime, minTime
			for _, e := range ev {
				if s, ok := e.(string); ok {
					if l, h, ok := parseDateRange(s); ok {
						lo, hi = min(lo, l), max(hi, h)
					}
				}
			}
			return lo, hi, lo <= hi
		}
	}
	return 0, 0, false
}

// parseDateRange turns a FHIR date, dateTime or instant (any precision) into the closed
// range of instants it covers, in unix microseconds. Values without a zone are taken as UTC.
func parseDateRange(s string) (lo, hi int64, ok bool) {
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{time.RFC3339Nano, nil},
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15Z07:00", func(t time.Time) time.Time { return t.Add(time.Hour) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	}
	for _, l := range layouts {
		t, err := time.Parse(l.layout, s)
		if err != nil {
			continue
		}
		lo = t.UnixMicro()
		if l.next == nil {
			// An instant's precision is its fractional digits (seconds when none).
			frac := 0
			if i := strings.IndexByte(s, '.'); i >= 0 {
				for j := i + 1; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
					frac++
				}
			}
			step := int64(math.Pow10(max(0, 6-min(frac, 6))))
			return lo, lo + step - 1, true
		}
		return lo, l.next(t).UnixMicro() - 1, true
	}
	return 0, 0, false
}

// writeIndex queues the search index and compartment rows of one resource for tx. fresh
// means the rid has no rows yet (a create), so nothing needs deleting first. The rows are
// inserted when the transaction reads the index or commits (flushIndex): a load writes
// thousands of resources per transaction, and large multi-row INSERTs cost a fraction of
// one small INSERT per table per resource.
func (s *Store) writeIndex(ctx context.Context, tx *sql.Tx, rid int64, rows *indexRows, fresh bool) error {
	if !fresh {
		if err := s.unindex(ctx, tx, rid); err != nil {
			return err
		}
	}
	s.queueRows(rid, rows)
	return nil
}

// addRows queues the rows of resource rid.
func (p *pendingIndex) addRows(rid int64, rows *indexRows) {
	// n numbers a resource's rows of one table: with (rid, pid) it is the primary key.
	for n, r := range rows.strings {
		p.add(tabString, r.pid, r.norm, r.exact, rid, n)
	}
	for n, r := range rows.tokens {
		p.add(tabToken, r.pid, r.system, r.code, r.text, rid, n)
	}
	for n, r := range rows.refs {
		p.add(tabReference, r.pid, r.ttype, r.tid, r.url, rid, n)
	}
	for n, r := range rows.dates {
		p.add(tabDate, r.pid, r.low, r.high, rid, n)
	}
	for n, r := range rows.numbers {
		p.add(tabNumber, r.pid, r.value, r.low, r.high, r.system, r.code, rid, n)
	}
	for n, r := range rows.uris {
		p.add(tabURI, r.pid, r.uri, rid, n)
	}
	for i, t := range rows.tuples {
		args := make([]any, 0, 3+5*maxComponents)
		args = append(args, t.pid)
		for _, v := range t.v {
			args = append(args, v.s, v.c, v.x, v.lo, v.hi)
		}
		p.add(tabComposite, append(args, rid, i)...)
	}
	for _, id := range rows.compartment {
		p.add(tabCompartment, id, rid)
	}
}

// soleCompartment is resource_current.patient for a resource in the compartments of ids
// (see migrations/0011_current_patient.sql): the empty string for none, the id for one,
// NULL for several. currentPatientOf is the same from the compartment table.
func soleCompartment(ids []string) any {
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return ids[0]
	}
	return nil
}

// currentPatientOf is soleCompartment in SQL, for the resource_current row a, from its
// compartment rows.
func currentPatientOf(a string) string {
	return `(SELECT CASE count(*) WHEN 0 THEN '' WHEN 1 THEN min(patient_id) END FROM compartment c WHERE c.rid = ` + a + `.rid)`
}

// queueRows queues the index rows of resource rid, and its full-text row for flushText.
func (s *Store) queueRows(rid int64, rows *indexRows) {
	s.pending.addRows(rid, rows)
	if rows.narrative != "" || rows.content != "" {
		if s.pendingText == nil {
			s.pendingText = map[int64][2]string{}
		}
		s.pendingText[rid] = [2]string{rows.narrative, rows.content}
	}
}

// The index tables in indexInserts order, and their columns as INSERT names them.
const (
	tabString = iota
	tabToken
	tabReference
	tabDate
	tabNumber
	tabURI
	tabComposite
	tabCompartment
	numIndexTables
)

var indexInserts = [numIndexTables]struct {
	table string
	cols  int
}{
	{"idx_string (pid, norm, exact, rid, n)", 5},
	{"idx_token (pid, system, code, text, rid, n)", 6},
	{"idx_reference (pid, target_type, target_id, url, rid, n)", 6},
	{"idx_date (pid, low, high, rid, n)", 5},
	{"idx_number (pid, value, low, high, system, code, rid, n)", 8},
	{"idx_uri (pid, uri, rid, n)", 4},
	{tupleInsert, 3 + 5*maxComponents},
	{"compartment (patient_id, rid)", 2},
}

// maxInsertRows is the largest multi-row INSERT prepared: 18 columns (a composite tuple)
// × 256 rows stays far below SQLite's limit on bound parameters.
const maxInsertRows = 256

// pendingIndex holds index rows written by the current transaction but not yet inserted,
// as flat argument lists per table. The writer has one connection, so transactions are
// serial and one buffer on the Store serves them all.
//
// history and current hold the rows of the versions writeVersion deferred, as the
// arguments of historyInsert and currentInsert.
type pendingIndex struct {
	args             [numIndexTables][]any
	history, current []any
}

const (
	historyInsert = "INSERT INTO resource_history (hid, rid, type, id, version, last_updated, method, json)"
	historyCols   = 8
	currentInsert = "INSERT INTO resource_current (rid, type, id, version, last_updated, hid, patient)"
	currentCols   = 7
)

func (p *pendingIndex) add(table int, vals ...any) { p.args[table] = append(p.args[table], vals...) }

func (p *pendingIndex) reset() {
	for i := range p.args {
		p.args[i] = p.args[i][:0]
	}
	p.resetVersions()
}

// resetVersions empties the deferred versions, letting go of their JSON.
func (p *pendingIndex) resetVersions() {
	clear(p.history)
	p.history, p.current = p.history[:0], p.current[:0]
}

// flushResources inserts the versions writeVersion deferred. Whatever reads
// resource_history or resource_current in a write transaction calls it first; flushIndex
// does, so every search in the transaction sees them.
func (s *Store) flushResources(ctx context.Context, tx *sql.Tx) error {
	p := &s.pending
	if len(p.history) == 0 {
		return nil
	}
	defer p.resetVersions()
	if err := s.insertRows(ctx, tx, s.idxStmts.history, historyCols, p.history); err != nil {
		return err
	}
	return s.insertRows(ctx, tx, s.idxStmts.current, currentCols, p.current)
}

// flushIndex inserts the pending index rows in tx. Everything that reads the index inside
// a write transaction (access checks of written resources, re-indexing, conditional
// matches) flushes first, and so does commit.
func (s *Store) flushIndex(ctx context.Context, tx *sql.Tx) error {
	if err := s.flushResources(ctx, tx); err != nil {
		return err
	}
	p := &s.pending
	defer p.reset()
	for t, ins := range indexInserts {
		if err := s.insertRows(ctx, tx, s.idxStmts.insert[t], ins.cols, p.args[t]); err != nil {
			return err
		}
	}
	return nil
}

// insertRows inserts the rows flattened in args (cols values each) with as few statements
// as it can: stmts[i] is the INSERT of 2^i rows (see prepareMultiInsert).
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, stmts []*sql.Stmt, cols int, args []any) error {
	for len(args) > 0 {
		n := len(args) / cols
		i := min(len(stmts)-1, bits.Len(uint(n))-1) // the largest 2^i <= n that is prepared
		k := 1 << i
		if _, err := s.stmt(ctx, tx, stmts[i]).ExecContext(ctx, args[:k*cols]...); err != nil {
			return err
		}
		args = args[k*cols:]
	}
	return nil
}

// prepareMultiInsert prepares "insert VALUES (...), ..." for 1, 2, 4 ... max rows of cols
// values on the writer; insert is "INSERT INTO table (columns)" or its OR REPLACE form.
func (s *Store) prepareMultiInsert(ctx context.Context, insert string, cols, max int) ([]*sql.Stmt, error) {
	var out []*sql.Stmt
	for k := 1; k <= max; k *= 2 {
		stmt, err := s.w.PrepareContext(ctx, insert+" VALUES "+rowMarks(cols, k))
		if err != nil {
			return nil, err
		}
		out = append(out, stmt)
	}
	return out, nil
}

var indexTables = []string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_uri", "idx_composite", "compartment"}

const tupleInsert = "idx_composite (pid, s1, c1, x1, lo1, hi1, s2, c2, x2, lo2, hi2, s3, c3, x3, lo3, hi3, rid, n)"

// flushPending flushes the pending index rows when q is the write transaction, before a
// query that must see them.
func (s *Store) flushPending(ctx context.Context, q querier) error {
	if tx, ok := q.(*sql.Tx); ok {
		return s.flushIndex(ctx, tx)
	}
	return nil
}

func (s *Store) unindex(ctx context.Context, tx *sql.Tx, rid int64) error {
	if err := s.flushIndex(ctx, tx); err != nil {
		return err
	}
	delete(s.pendingText, rid)
	for _, st := range s.idxStmts.del {
		if _, err := s.stmt(ctx, tx, st).ExecContext(ctx, rid); err != nil {
			return err
		}
	}
	return nil
}

// flushText writes the transaction's search_text rows with one statement. FTS5 moves its
// pending words to a new on-disk segment whenever a statement opens a savepoint (every
// multi-row INSERT does), so rows inserted one per resource became one tiny segment per
// resource and merging them cost a sixth of load time; one INSERT at the end makes one
// segment per transaction. Searches inside the transaction do not see these rows yet.
// The statement binds the documents as values, built for the batch at hand: passing them
// as one JSON array cost SQLite more to take apart than FTS5 took to index them.
func (s *Store) flushText(ctx context.Context, tx *sql.Tx) error {
	if len(s.pendingText) == 0 {
		return nil
	}
	rids := slices.Sorted(maps.Keys(s.pendingText))
	for chunk := range slices.Chunk(rids, maxTextRows) {
		args := make([]any, 0, 3*len(chunk))
		for _, rid := range chunk {
			d := s.pendingText[rid]
			args = append(args, rid, d[0], d[1])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_text (rowid, narrative, content) VALUES `+rowMarks(3, len(chunk)), args...); err != nil {
			return err
		}
	}
	return nil
}

// maxTextRows keeps one search_text INSERT under SQLite's 32,766 bound values.
const maxTextRows = 10000

type idxStatements struct {
	insert [numIndexTables][]*sql.Stmt // by table, then log2 of the rows per statement
	del    []*sql.Stmt
	// history and current insert deferred versions (see writeVersion), like insert.
	history, current []*sql.Stmt
}

// prepareIndex prepares every index statement up front: the writer has one connection,
// so nothing can be prepared on it while a transaction holds it.
func (s *Store) prepareIndex(ctx context.Context) error {
	st := &s.idxStmts
	for t, ins := range indexInserts {
		var err error
		if st.insert[t], err = s.prepareMultiInsert(ctx, "INSERT INTO "+ins.table, ins.cols, maxInsertRows); err != nil {
			return err
		}
	}
	var err error
	if st.history, err = s.prepareMultiInsert(ctx, historyInsert, historyCols, maxInsertRows); err != nil {
		return err
	}
	if st.current, err = s.prepareMultiInsert(ctx, currentInsert, currentCols, maxInsertRows); err != nil {
		return err
	}
	for _, t := range indexTables {
		stmt, err := s.w.PrepareContext(ctx, `DELETE FROM `+t+` WHERE rid = ?`)
		if err != nil {
			return err
		}
		st.del = append(st.del, stmt)
	}
	// search_text is keyed by its rowid; contentless_delete lets it forget a row by rowid.
	stmt, err := s.w.PrepareContext(ctx, `DELETE FROM search_text WHERE rowid = ?`)
	if err != nil {
		return err
	}
	st.del = append(st.del, stmt)
	return nil
}
