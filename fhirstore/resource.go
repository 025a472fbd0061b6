package fhirstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Resource is one stored version of a resource, as served.
type Resource struct {
	Type        string
	ID          string
	Version     int64
	LastUpdated time.Time
	Deleted     bool
	JSON        []byte // empty for a deletion
	Method      string // in history: POST, PUT, PATCH or DELETE
	Created     bool   // the write created the resource (no live version before)
	rid         int64
}

// VersionID is the resource's meta.versionId.
func (r *Resource) VersionID() string { return strconv.FormatInt(r.Version, 10) }

// WriteOptions carry the preconditions of a write.
type WriteOptions struct {
	// IfMatch is the version the client believes current ("" = no precondition).
	IfMatch string
	// IfNoneExist is a search query (without '?') for conditional create.
	IfNoneExist string
}

// FormatInstant renders a time the way fhirbox writes meta.lastUpdated.
func FormatInstant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// Read returns the current version. ENotFound if it never existed or lies outside the
// context's access filter, EGone if deleted, EForbidden if the filter allows no read of typ.
func (s *Store) Read(ctx context.Context, typ, id string) (*Resource, error) {
	a := AccessFrom(ctx)
	f := a.filter(typ, Read)
	r, err := s.readVisible(noCancel(ctx), s.rq, typ, id, f)
	if r == nil {
		return nil, err
	}
	if f != nil && !f.ok {
		return nil, a.Denied(typ, Read)
	}
	return r, err
}

// noCancel is ctx for work made of statements that each take microseconds: reads by id
// and write transactions. database/sql gives every statement run with a cancellable
// context (a request's) a goroutine and a context.WithCancel of its own, to stop it if
// the context ends: about 1.6 µs, an eighth of a read and a sixteenth of a create, which
// only a long query can use. A write is atomic either way: one whose client leaves commits
// or rolls back as if it had stayed. Searches keep the request's context, so that a client
// that leaves stops them.
func noCancel(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// writeCtx is noCancel(ctx) for a write, unless ctx has already ended: a write is not
// begun for a client that has left, and a load of many transactions stops between them.
func writeCtx(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return noCancel(ctx), nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) read(ctx context.Context, q querier, typ, id string) (*Resource, error) {
	return s.readVisible(ctx, q, typ, id, nil)
}

// readSelect is the read by type and id, with the visibility column appended.
var readOpen = readSelect("1")

func readSelect(visible string) string {
	return `SELECT r.rid, r.version, r.last_updated, r.deleted, h.json, ` + visible + `
		FROM resource_current r JOIN resource_history h ON h.hid = r.hid WHERE r.type = ? AND r.id = ?`
}

// readVisible reads typ/id; with alts (a confined grant) the access filter is a column of
// the same query, so a resource outside it reads as not found in one statement.
func (s *Store) readVisible(ctx context.Context, q querier, typ, id string, f *accessFilter) (*Resource, error) {
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	if tx, ok := q.(*sql.Tx); ok {
		if err := s.flushResources(ctx, tx); err != nil {
			return nil, err
		}
	}
	sqlText, filterArgs := readOpen, []any(nil)
	if f != nil && len(f.alts) > 0 && !ownPatient(typ, id, f.alts) {
		cond, _, err := f.sql(s)
		if err != nil {
			return nil, err
		}
		if cond != "" {
			sqlText, filterArgs = f.read, f.readArgs
		}
	}
	// filterArgs are shared with every request of this grant: appended to a copy.
	args := append(append(make([]any, 0, len(filterArgs)+2), filterArgs...), typ, id)
	r := &Resource{Type: typ, ID: id}
	var lu int64
	var visible bool
	err := q.QueryRowContext(ctx, sqlText, args...).Scan(&r.rid, &r.Version, &lu, &r.Deleted, &r.JSON, &visible)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENotFound, "%s/%s is not known", typ, id)
	}
	if err != nil {
		return nil, err
	}
	if !visible {
		return nil, outsideGrant(typ, id)
	}
	r.LastUpdated = time.UnixMicro(lu).UTC()
	if r.Deleted {
		return r, &Error{Code: EGone, Message: typ + "/" + id + " was deleted (version " + r.VersionID() + ")"}
	}
	return r, nil
}

// ownPatient reports a patient reading their own Patient resource, which is in their
// compartment by definition: no membership lookup is needed.
func ownPatient(typ, id string, alts []Alternative) bool {
	if typ != "Patient" {
		return false
	}
	for _, alt := range alts {
		if alt.Patient == id && alt.Practitioner == "" && len(alt.Constraints) == 0 {
			return true
		}
	}
	return false
}

// outsideGrant is the answer for a resource the access filter hides: not found, as if it
// did not exist, with the real reason kept for the decision log.
func outsideGrant(typ, id string) *Error {
	e := Errorf(ENotFound, "%s/%s is not known", typ, id)
	e.Denial = typ + "/" + id + " is absent or outside what the token's scopes allow (another patient's compartment or a granular scope)"
	return e
}

// VRead returns one version. ENotFound if there is no such version; EGone if that version
// is a deletion.
func (s *Store) VRead(ctx context.Context, typ, id, vid string) (*Resource, error) {
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	v, err := strconv.ParseInt(vid, 10, 64)
	if err != nil || v < 1 {
		return nil, Errorf(ENotFound, "%s/%s has no version %q", typ, id, vid)
	}
	ctx = noCancel(ctx)
	r := &Resource{Type: typ, ID: id, Version: v}
	var lu int64
	err = s.rq.QueryRowContext(ctx, `SELECT rid, last_updated, deleted, method, json FROM resource_history
		WHERE type = ? AND id = ? AND version = ?`, typ, id, v).Scan(&r.rid, &lu, &r.Deleted, &r.Method, &r.JSON)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENotFound, "%s/%s has no version %d", typ, id, v)
	}
	if err != nil {
		return nil, err
	}
	r.LastUpdated = time.UnixMicro(lu).UTC()
	if err := s.allow(ctx, s.rq, typ, id, r.rid, Read); err != nil {
		return nil, err
	}
	if r.Deleted {
		return r, Errorf(EGone, "version %d of %s/%s is a deletion", v, typ, id)
	}
	return r, nil
}

// Create stores a new resource under a server-assigned UUID. With IfNoneExist it is
// conditional: one match returns that resource with created=false, several give
// EPrecondition. EInvalid for a malformed resource.
func (s *Store) Create(ctx context.Context, typ string, body []byte, opts WriteOptions) (res *Resource, created bool, err error) {
	if ctx, err = writeCtx(ctx); err != nil {
		return nil, false, err
	}
	m, err := parseResource(body, typ)
	if err != nil {
		return nil, false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, created, err = s.create(ctx, tx, typ, m, opts)
		return err
	})
	return res, created, err
}

func (s *Store) create(ctx context.Context, tx *sql.Tx, typ string, m map[string]any, opts WriteOptions) (*Resource, bool, error) {
	if opts.IfNoneExist != "" {
		ids, err := s.match(ctx, tx, typ, opts.IfNoneExist)
		if err != nil {
			return nil, false, err
		}
		switch len(ids) {
		case 0:
		case 1:
			r, err := s.read(ctx, tx, typ, ids[0])
			return r, false, err
		default:
			return nil, false, Errorf(EPrecondition, "If-None-Exist %q matches %d %s resources", opts.IfNoneExist, len(ids), typ)
		}
	}
	r, err := s.put(ctx, tx, typ, uuid.NewString(), m, "POST", "", nil)
	return r, true, err
}

// Update stores a new version of typ/id, creating it (update-as-create) when it does not
// exist. EPrecondition when IfMatch names another version; EInvalid for a malformed resource
// or an id that differs from the URL.
func (s *Store) Update(ctx context.Context, typ, id string, body []byte, opts WriteOptions) (res *Resource, created bool, err error) {
	if ctx, err = writeCtx(ctx); err != nil {
		return nil, false, err
	}
	if err := checkTypeID(typ, id); err != nil {
		return nil, false, err
	}
	m, err := parseResource(body, typ)
	if err != nil {
		return nil, false, err
	}
	if err := checkBodyID(m, id); err != nil {
		return nil, false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err = s.put(ctx, tx, typ, id, m, "PUT", opts.IfMatch, nil)
		created = res != nil && res.Created
		return err
	})
	return res, created, err
}

// ConditionalUpdate applies PUT [type]?query: no match creates (with the body's id if it
// has one), one match updates it, several give EPrecondition.
func (s *Store) ConditionalUpdate(ctx context.Context, typ, query string, body []byte, opts WriteOptions) (res *Resource, created bool, err error) {
	if ctx, err = writeCtx(ctx); err != nil {
		return nil, false, err
	}
	m, err := parseResource(body, typ)
	if err != nil {
		return nil, false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, created, err = s.conditionalUpdate(ctx, tx, typ, query, m, opts)
		return err
	})
	return res, created, err
}

func (s *Store) conditionalUpdate(ctx context.Context, tx *sql.Tx, typ, query string, m map[string]any, opts WriteOptions) (*Resource, bool, error) {
	if a := AccessFrom(ctx); a != nil {
		if _, ok := a.For(typ, Update); !ok {
			return nil, false, a.Denied(typ, Update)
		}
	}
	ids, err := s.match(ctx, tx, typ, query)
	if err != nil {
		return nil, false, err
	}
	bodyID, _ := m["id"].(string)
	switch len(ids) {
	case 0:
		id := bodyID
		if id == "" {
			id = uuid.NewString()
		} else if err := checkTypeID(typ, id); err != nil {
			return nil, false, err
		}
		r, err := s.put(ctx, tx, typ, id, m, "PUT", opts.IfMatch, nil)
		return r, r != nil && r.Created, err
	case 1:
		if bodyID != "" && bodyID != ids[0] {
			return nil, false, Errorf(EInvalid, "the resource id %q differs from the matched %s/%s", bodyID, typ, ids[0])
		}
		r, err := s.put(ctx, tx, typ, ids[0], m, "PUT", opts.IfMatch, nil)
		return r, false, err
	default:
		return nil, false, Errorf(EPrecondition, "conditional update %q matches %d %s resources", query, len(ids), typ)
	}
}

// Delete marks typ/id deleted; later reads give EGone. Deleting what does not exist or is
// already deleted succeeds (the spec lets delete be idempotent).
func (s *Store) Delete(ctx context.Context, typ, id string, opts WriteOptions) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	if err := checkTypeID(typ, id); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.delete(ctx, tx, typ, id, opts.IfMatch) })
}

// ConditionalDelete deletes the single match of query; several give EPrecondition, none is
// a success.
func (s *Store) ConditionalDelete(ctx context.Context, typ, query string) (deleted int, err error) {
	if ctx, err = writeCtx(ctx); err != nil {
		return 0, err
	}
	if !knownType(typ) {
		return 0, Errorf(ENotFound, "unknown resource type %q", typ)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		deleted, err = s.conditionalDelete(ctx, tx, typ, query)
		return err
	})
	return deleted, err
}

func (s *Store) conditionalDelete(ctx context.Context, tx *sql.Tx, typ, query string) (int, error) {
	// Even a conditional delete that matches nothing needs the right to delete.
	if a := AccessFrom(ctx); a != nil {
		if _, ok := a.For(typ, Delete); !ok {
			return 0, a.Denied(typ, Delete)
		}
	}
	ids, err := s.match(ctx, tx, typ, query)
	if err != nil {
		return 0, err
	}
	if len(ids) > 1 {
		return 0, Errorf(EPrecondition, "conditional delete %q matches %d %s resources", query, len(ids), typ)
	}
	for _, id := range ids {
		if err := s.delete(ctx, tx, typ, id, ""); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Patch applies a JSON Patch (RFC 6902) to the current version and stores the result as a
// new version. EUnprocessable when a test operation fails or the result is not a valid
// resource of the same type and id.
func (s *Store) Patch(ctx context.Context, typ, id string, patch []byte, opts WriteOptions) (res *Resource, err error) {
	if ctx, err = writeCtx(ctx); err != nil {
		return nil, err
	}
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	ops, err := parseJSONPatch(patch)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err = s.patch(ctx, tx, typ, id, ops, opts)
		return err
	})
	return res, err
}

func (s *Store) patch(ctx context.Context, tx *sql.Tx, typ, id string, ops []patchOp, opts WriteOptions) (*Resource, error) {
	cur, err := s.read(ctx, tx, typ, id)
	if err != nil {
		return nil, err
	}
	if opts.IfMatch != "" && opts.IfMatch != cur.VersionID() {
		return nil, Errorf(EPrecondition, "If-Match version %s is not the current version %d", opts.IfMatch, cur.Version)
	}
	doc, err := decodeJSON(cur.JSON)
	if err != nil {
		return nil, err
	}
	out, err := applyJSONPatch(doc, ops)
	if err != nil {
		return nil, err
	}
	m, ok := out.(map[string]any)
	if !ok {
		return nil, Errorf(EUnprocessable, "the patched document is not a JSON object")
	}
	if rt, _ := m["resourceType"].(string); rt != typ {
		return nil, Errorf(EUnprocessable, "a patch may not change resourceType (now %q)", rt)
	}
	if err := checkBodyID(m, id); err != nil {
		return nil, &Error{Code: EUnprocessable, Message: "a patch may not change the id"}
	}
	if issues := validateResource(m); len(issues) > 0 {
		return nil, &Error{Code: EUnprocessable, Message: "the patched resource is not valid", Issues: issues}
	}
	return s.put(ctx, tx, typ, id, m, "PATCH", "", nil)
}

// put writes a new version of typ/id inside tx: resources row, history row, indexes.
// pre is what the caller prepared ahead for this write (nil: everything is done here).
func (s *Store) put(ctx context.Context, tx *sql.Tx, typ, id string, m map[string]any, method, ifMatch string, pre *prepared) (*Resource, error) {
	var rid, version int64
	var deleted bool
	var oldJSON []byte
	exists := false
	var err error
	if pre == nil || !pre.absent {
		if err := s.flushResources(ctx, tx); err != nil {
			return nil, err
		}
		err = s.stmt(ctx, tx, s.stmtCurrent).QueryRowContext(ctx, typ, id).Scan(&rid, &version, &deleted, &oldJSON)
		exists = err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	letter := Update
	if method == "POST" {
		letter = Create
	}
	if exists && !deleted {
		if err := s.allow(ctx, tx, typ, id, rid, letter); err != nil {
			return nil, err
		}
	} else if err := s.allow(ctx, tx, typ, id, 0, letter); err != nil {
		return nil, err
	}
	if ifMatch != "" && (!exists || deleted || ifMatch != strconv.FormatInt(version, 10)) {
		if !exists || deleted {
			return nil, Errorf(EPrecondition, "If-Match %s given but %s/%s has no current version", ifMatch, typ, id)
		}
		return nil, Errorf(EPrecondition, "If-Match version %s is not the current version %d of %s/%s", ifMatch, version, typ, id)
	}
	var now time.Time
	var rows *indexRows
	if pre != nil {
		now, rows = pre.at, pre.rows
	} else {
		now = s.now().UTC().Truncate(time.Millisecond)
	}
	r := &Resource{Type: typ, ID: id, Version: version + 1, LastUpdated: now, Method: method, Created: !exists || deleted}
	if pre != nil && pre.json != nil && r.Version == 1 {
		r.JSON = pre.json // encoded ahead as version 1 at pre.at, with m's meta set to match
	} else {
		m["id"] = id
		meta, _ := m["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		meta["versionId"] = r.VersionID()
		meta["lastUpdated"] = FormatInstant(now)
		m["meta"] = meta
		if exists && !deleted && sameContent(oldJSON, m) {
			// A no-op update keeps the current version (as HAPI does): re-loading a Bundle, or
			// Bundles repeating the same Practitioner, must not grow history.
			return s.read(ctx, tx, typ, id)
		}
		if r.JSON, err = encodeJSON(m); err != nil {
			return nil, err
		}
	}
	// rid is chosen before the history row so both rows can be written at once.
	newRID, hid, err := s.nextIDs(ctx, tx, !exists)
	if err != nil {
		return nil, err
	}
	if !exists {
		rid = newRID
	}
	if rows == nil {
		// Extracted before the version is written, which records the compartment it is in.
		if rows, err = extract(typ, id, m); err != nil {
			return nil, err
		}
	}
	if err := s.writeVersion(ctx, tx, r, rid, hid, soleCompartment(rows.compartment), exists, pre != nil && pre.absent); err != nil {
		return nil, err
	}
	if err := s.writeIndex(ctx, tx, rid, rows, !exists); err != nil {
		return nil, err
	}
	// The written version must itself be inside the grant: a patient token cannot move a
	// resource out of its compartment or create one in another patient's.
	if err := s.allowAfter(ctx, tx, typ, rid, letter); err != nil {
		return nil, err
	}
	return r, nil
}

// writeVersion stores version r of resource rid as history row hid and makes it current;
// patient is its resource_current.patient (soleCompartment).
// A create of an id the transaction found unused (absent, see absentIDs) has its two rows
// wait with the index rows, to go in with multi-row INSERTs like them: one INSERT per row
// was a third of a bulk load's writer time. Whatever reads these tables in the
// transaction flushes them first (flushResources).
func (s *Store) writeVersion(ctx context.Context, tx *sql.Tx, r *Resource, rid, hid int64, patient any, exists, absent bool) error {
	lu := r.LastUpdated.UnixMicro()
	if absent { // put did not look the id up: it has no current row, so exists is false
		p := &s.pending
		p.history = append(p.history, hid, rid, r.Type, r.ID, r.Version, lu, r.Method, r.JSON)
		p.current = append(p.current, rid, r.Type, r.ID, r.Version, lu, hid, patient)
		return nil
	}
	if _, err := s.stmt(ctx, tx, s.stmtHistory).ExecContext(ctx, hid, rid, r.Type, r.ID, r.Version, lu, r.Method, 0, r.JSON); err != nil {
		return err
	}
	var err error
	if exists {
		_, err = s.stmt(ctx, tx, s.stmtUpdate).ExecContext(ctx, r.Version, lu, 0, hid, patient, rid)
	} else {
		_, err = s.stmt(ctx, tx, s.stmtInsert).ExecContext(ctx, rid, r.Type, r.ID, r.Version, lu, hid, patient)
	}
	return err
}

func (s *Store) delete(ctx context.Context, tx *sql.Tx, typ, id, ifMatch string) error {
	// The letter is checked before the lookup, so a token without d gets the same 403
	// whether or not the id exists.
	a := AccessFrom(ctx)
	f := a.filter(typ, Delete)
	if f != nil && !f.ok {
		return a.Denied(typ, Delete)
	}
	if err := s.flushResources(ctx, tx); err != nil {
		return err
	}
	var rid, version int64
	var deleted bool
	err := tx.QueryRowContext(ctx, `SELECT rid, version, deleted FROM resource_current WHERE type = ? AND id = ?`, typ, id).
		Scan(&rid, &version, &deleted)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	missing := err != nil || deleted
	if f != nil && len(f.alts) > 0 {
		// A confined grant cannot tell "outside the grant" from "absent", and neither may its
		// answers: both are 404, where an unconfined delete of an absent id succeeds.
		vis := !missing
		if vis {
			if vis, err = s.visible(ctx, tx, rid, f); err != nil {
				return err
			}
		}
		if !vis {
			return outsideGrant(typ, id)
		}
	}
	if missing {
		if ifMatch != "" {
			return Errorf(EPrecondition, "If-Match %s given but %s/%s has no current version", ifMatch, typ, id)
		}
		return nil
	}
	if ifMatch != "" && ifMatch != strconv.FormatInt(version, 10) {
		return Errorf(EPrecondition, "If-Match version %s is not the current version %d of %s/%s", ifMatch, version, typ, id)
	}
	now := s.now().UTC().Truncate(time.Millisecond).UnixMicro()
	_, hid, err := s.nextIDs(ctx, tx, false)
	if err != nil {
		return err
	}
	if _, err := s.stmt(ctx, tx, s.stmtHistory).ExecContext(ctx, hid, rid, typ, id, version+1, now, "DELETE", 1, []byte{}); err != nil {
		return err
	}
	// A deleted resource is in no compartment: unindex removes its rows.
	if _, err := s.stmt(ctx, tx, s.stmtUpdate).ExecContext(ctx, version+1, now, 1, hid, "", rid); err != nil {
		return err
	}
	return s.unindex(ctx, tx, rid)
}

// parseResource decodes and validates a request body for resource type typ.
func parseResource(body []byte, typ string) (map[string]any, error) {
	if !knownType(typ) {
		return nil, Errorf(ENotFound, "unknown resource type %q", typ)
	}
	m, err := decodeJSON(body)
	if err != nil {
		return nil, &Error{Code: EInvalid, Message: "the body is not a valid JSON resource: " + err.Error()}
	}
	rt, _ := m["resourceType"].(string)
	if rt == "" {
		return nil, &Error{Code: EInvalid, Message: "the body has no resourceType", Issues: []Issue{{Severity: "error", Code: "required", Path: "resourceType", Message: "resourceType is required"}}}
	}
	if rt != typ {
		return nil, Errorf(EInvalid, "the body is a %s but the URL names %s", rt, typ)
	}
	if issues := validateResource(m); len(issues) > 0 {
		return nil, &Error{Code: EInvalid, Message: "the " + typ + " is not valid", Issues: issues}
	}
	return m, nil
}

func checkTypeID(typ, id string) error {
	if !knownType(typ) {
		return Errorf(ENotFound, "unknown resource type %q", typ)
	}
	if !validID(id) {
		return &Error{Code: EInvalid, Message: "invalid id " + strconv.Quote(id) + ": ids are 1-64 of A-Z a-z 0-9 - ."}
	}
	return nil
}

func checkBodyID(m map[string]any, id string) error {
	bodyID, ok := m["id"].(string)
	if !ok {
		return &Error{Code: EInvalid, Message: "an update must carry the resource id in the body", Issues: []Issue{{Severity: "error", Code: "required", Path: "id", Message: "id is required on update"}}}
	}
	if bodyID != id {
		return Errorf(EInvalid, "the body id %q differs from the URL id %q", bodyID, id)
	}
	return nil
}

// sameContent reports whether stored JSON equals m apart from meta.versionId and
// meta.lastUpdated.
func sameContent(stored []byte, m map[string]any) bool {
	old, err := decodeJSON(stored)
	if err != nil {
		return false
	}
	om, _ := old["meta"].(map[string]any)
	nm, _ := m["meta"].(map[string]any)
	if om == nil || nm == nil {
		return false
	}
	om["versionId"], om["lastUpdated"] = nm["versionId"], nm["lastUpdated"]
	return jsonEqual(old, m)
}

// allow checks interaction i on typ against the context's access filter, and, when rid
// names a stored resource and the filter confines the type, that the resource is visible.
// A resource outside the filter is reported as not found, so its existence does not leak.
func (s *Store) allow(ctx context.Context, q querier, typ, id string, rid int64, i byte) error {
	a := AccessFrom(ctx)
	f := a.filter(typ, i)
	if f != nil && !f.ok {
		return a.Denied(typ, i)
	}
	if f == nil || len(f.alts) == 0 || rid == 0 {
		return nil
	}
	vis, err := s.visible(ctx, q, rid, f)
	if err != nil {
		return err
	}
	if !vis {
		return outsideGrant(typ, id)
	}
	return nil
}

// allowAfter checks a just-written resource against the filter for interaction i.
func (s *Store) allowAfter(ctx context.Context, q querier, typ string, rid int64, i byte) error {
	f := AccessFrom(ctx).filter(typ, i)
	if f == nil || len(f.alts) == 0 {
		return nil
	}
	vis, err := s.visible(ctx, q, rid, f)
	if err != nil {
		return err
	}
	if !vis {
		return &Error{Code: EForbidden, Message: "insufficient_scope: the written " + typ + " would be outside what the token may " +
			map[byte]string{Create: "create", Update: "update"}[i] + " (another patient's compartment, or outside its granular scope)"}
	}
	return nil
}

// visible reports whether the stored resource rid passes f, the memoised filter of its
// type and the interaction at hand.
func (s *Store) visible(ctx context.Context, q querier, rid int64, f *accessFilter) (bool, error) {
	if err := s.flushPending(ctx, q); err != nil {
		return false, err
	}
	cond, args, err := f.sql(s)
	if err != nil || cond == "" {
		return cond == "", err
	}
	var one int
	err = q.QueryRowContext(ctx, "SELECT 1 FROM resource_current r WHERE r.rid = ? AND "+cond,
		append(append(make([]any, 0, len(args)+1), rid), args...)...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
