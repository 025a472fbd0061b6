package fhirstore

import (
	"context"
	"database/sql"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// TxEntry is one write of a batch or transaction Bundle, already routed by the caller.
type TxEntry struct {
	Method   string // POST, PUT, PATCH or DELETE
	Type     string
	ID       string // PUT, PATCH, DELETE on an instance
	Query    string // conditional PUT, PATCH or DELETE: the search query
	FullURL  string
	Resource map[string]any // POST and PUT
	Patch    []byte         // PATCH: a JSON Patch document
	Opts     WriteOptions
}

// TxResult is the outcome of one entry, in the order of the entries given.
type TxResult struct {
	Resource *Resource // the written (or, for a matched conditional create, existing) version
	Created  bool
	Deleted  int
	Err      error
}

// TxOptions change how a transaction assigns ids.
type TxOptions struct {
	// StableIDs makes a POST whose fullUrl is urn:uuid:X write the resource with id X
	// (as an update), so loading the same Bundle twice — or Bundles that repeat shared
	// Organizations and Practitioners — keeps one copy with a stable id.
	StableIDs bool
	// Lenient stores resources that fail validation as they are, counting them in
	// Warnings, for importing outside data (the Inferno fixtures carry a few invalid
	// elements). The API never uses it.
	Lenient  bool
	Warnings *int
	// validated says the caller validated every resource already (BatchWriter does, on
	// the producer's goroutine).
	validated bool
	// ahead, when set, holds the entries' writes prepared before the transaction began
	// (see prepareEarly); its instant is the transaction's.
	ahead *writesAhead
}

// processing order for transactions (R4 http.html#trules): DELETE, POST, PUT/PATCH.
var methodOrder = map[string]int{"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2}

// Transaction applies entries all-or-nothing: urn:uuid fullUrls become the assigned
// Type/id in every reference, conditional references (Type?query) are resolved to their
// single match, and the first failing entry rolls everything back and is returned as err
// together with its index.
func (s *Store) Transaction(ctx context.Context, entries []*TxEntry, opts TxOptions) ([]TxResult, int, error) {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return nil, -1, err
	}
	results := make([]TxResult, len(entries))
	failed := -1
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		i, err := s.transaction(ctx, tx, entries, results, opts)
		failed = i
		return err
	})
	if err != nil {
		return nil, failed, err
	}
	return results, -1, nil
}

func (s *Store) transaction(ctx context.Context, tx *sql.Tx, entries []*TxEntry, results []TxResult, opts TxOptions) (int, error) {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return methodOrder[entries[a].Method] - methodOrder[entries[b].Method] })

	// Decide every id before anything is written, so references can be rewritten.
	ids := map[string]string{} // fullUrl -> Type/id
	plannedID := make([]string, len(entries))
	matched := make([]bool, len(entries))
	seen := map[string]int{}
	// Matches must ignore what this transaction deletes: DELETEs run first, so a
	// conditional create after one must not find the resource it removed.
	deleting := map[string]bool{}
	for _, e := range entries {
		if e.Method == "DELETE" && e.ID != "" {
			deleting[e.Type+"/"+e.ID] = true
		}
	}
	matchLive := func(typ, query string) ([]string, error) {
		found, err := s.match(ctx, tx, typ, query)
		return slices.DeleteFunc(found, func(id string) bool { return deleting[typ+"/"+id] }), err
	}
	for _, i := range order {
		e := entries[i]
		switch e.Method {
		case "POST":
			if e.Opts.IfNoneExist != "" {
				found, err := matchLive(e.Type, e.Opts.IfNoneExist)
				if err != nil {
					return i, err
				}
				if len(found) > 1 {
					return i, Errorf(EPrecondition, "If-None-Exist %q matches %d %s resources", e.Opts.IfNoneExist, len(found), e.Type)
				}
				if len(found) == 1 {
					plannedID[i], matched[i] = found[0], true
				}
			}
			if plannedID[i] == "" {
				if u, ok := strings.CutPrefix(e.FullURL, "urn:uuid:"); ok && opts.StableIDs && validID(u) {
					plannedID[i] = u
				} else {
					plannedID[i] = uuid.NewString()
				}
			}
		case "PUT", "PATCH", "DELETE":
			if e.ID == "" {
				found, err := s.match(ctx, tx, e.Type, e.Query)
				if err != nil {
					return i, err
				}
				if e.Method == "DELETE" {
					for _, id := range found {
						deleting[e.Type+"/"+id] = true
					}
				} else {
					found = slices.DeleteFunc(found, func(id string) bool { return deleting[e.Type+"/"+id] })
				}
				switch {
				case len(found) > 1:
					return i, Errorf(EPrecondition, "conditional %s %q matches %d %s resources", e.Method, e.Query, len(found), e.Type)
				case len(found) == 1:
					plannedID[i] = found[0]
				case e.Method == "PUT":
					if id, _ := e.Resource["id"].(string); id != "" {
						if err := checkTypeID(e.Type, id); err != nil {
							return i, err
						}
						plannedID[i] = id
					} else {
						plannedID[i] = uuid.NewString()
					}
				case e.Method == "PATCH":
					return i, Errorf(ENotFound, "conditional patch %q matches no %s", e.Query, e.Type)
				}
			} else {
				if err := checkTypeID(e.Type, e.ID); err != nil {
					return i, err
				}
				plannedID[i] = e.ID
			}
		}
		if e.Method != "DELETE" && plannedID[i] != "" {
			key := e.Type + "/" + plannedID[i]
			if j, dup := seen[key]; dup && !(matched[i] || matched[j]) {
				return i, Errorf(EInvalid, "entries %d and %d both write %s", j, i, key)
			}
			seen[key] = i
		}
		if e.FullURL != "" && plannedID[i] != "" {
			ids[e.FullURL] = e.Type + "/" + plannedID[i]
		}
	}
	for i, e := range entries {
		if e.Resource == nil || opts.validated {
			continue
		}
		if issues := validateResource(e.Resource); len(issues) > 0 {
			if opts.Lenient && opts.Warnings != nil {
				*opts.Warnings++
				continue
			}
			return i, &Error{Code: EInvalid, Message: "the " + e.Type + " is not valid", Issues: issues}
		}
	}
	// Rewrite references in every resource before writing any of them. An entry prepared
	// early has none to rewrite (prepareEarly checked), and its worker may still be
	// writing its meta: it is left alone.
	ahead := opts.ahead
	cache := map[string]string{}
	for i, e := range entries {
		if e.Resource == nil || ahead.preparedEarly(i) {
			continue
		}
		if err := s.rewriteRefs(ctx, tx, e.Resource, ids, cache, matchLive); err != nil {
			return i, err
		}
	}
	if ahead == nil {
		// One instant for the whole transaction: its resources are written together, and
		// the writes prepared ahead need it before the writer gets to them.
		ahead = prepareAhead(entries, order, plannedID, matched, s.now().UTC().Truncate(time.Millisecond), false)
	}
	defer ahead.stop()
	absent, err := s.absentIDs(ctx, tx, entries, plannedID, matched)
	if err != nil {
		return 0, err
	}
	for _, i := range order {
		e := entries[i]
		r := &results[i]
		var err error
		switch e.Method {
		case "DELETE":
			if e.ID != "" {
				err = s.delete(ctx, tx, e.Type, e.ID, e.Opts.IfMatch)
				r.Deleted = 1
			} else if plannedID[i] != "" {
				err = s.delete(ctx, tx, e.Type, plannedID[i], "")
				r.Deleted = 1
			}
		case "POST":
			if matched[i] {
				r.Resource, err = s.read(ctx, tx, e.Type, plannedID[i])
			} else {
				var pre *prepared
				if pre, err = ahead.get(i); err == nil {
					pre.absent = absent[i]
					r.Resource, err = s.put(ctx, tx, e.Type, plannedID[i], e.Resource, "POST", "", pre)
				}
				r.Created = err == nil && r.Resource.Created
			}
		case "PUT":
			// Wait for the entry first: until then a worker may still be reading it.
			var pre *prepared
			if pre, err = ahead.get(i); err != nil {
				break
			}
			pre.absent = absent[i]
			if e.ID != "" {
				if err = checkBodyID(e.Resource, e.ID); err != nil {
					break
				}
			}
			r.Resource, err = s.put(ctx, tx, e.Type, plannedID[i], e.Resource, "PUT", e.Opts.IfMatch, pre)
			r.Created = err == nil && r.Resource.Created
		case "PATCH":
			var ops []patchOp
			if ops, err = parseJSONPatch(e.Patch); err == nil {
				r.Resource, err = s.patch(ctx, tx, e.Type, plannedID[i], ops, e.Opts)
			}
		default:
			err = Errorf(ENotSupported, "method %q is not supported in a transaction", e.Method)
		}
		if err != nil {
			return i, err
		}
	}
	return -1, nil
}

// Batch applies each entry on its own: a failure is reported in its result and does not
// affect the others.
func (s *Store) Batch(ctx context.Context, entries []*TxEntry) []TxResult {
	results := make([]TxResult, len(entries))
	ctx, err := writeCtx(ctx)
	if err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	for i, e := range entries {
		one := make([]TxResult, 1)
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := s.transaction(ctx, tx, []*TxEntry{e}, one, TxOptions{})
			return err
		})
		results[i] = one[0]
		results[i].Err = err
	}
	return results
}

// rewriteRefs replaces urn:uuid references to entries of the Bundle by their Type/id and
// resolves conditional references (Type?query) to their single match.
func (s *Store) rewriteRefs(ctx context.Context, tx *sql.Tx, v any, ids map[string]string, cache map[string]string, match func(typ, query string) ([]string, error)) error {
	switch c := v.(type) {
	case map[string]any:
		for k, x := range c {
			if ref, ok := x.(string); ok && k == "reference" {
				if to, ok := ids[ref]; ok {
					c[k] = to
					continue
				}
				if strings.HasPrefix(ref, "urn:uuid:") {
					return Errorf(EInvalid, "reference %s names no entry of the Bundle", ref)
				}
				typ, query, cond := conditionalRef(ref)
				if !cond {
					continue
				}
				if to, ok := cache[ref]; ok {
					c[k] = to
					continue
				}
				found, err := match(typ, query)
				if err != nil {
					return err
				}
				if len(found) != 1 {
					return Errorf(EPrecondition, "conditional reference %s matches %d resources (it must match exactly one)", ref, len(found))
				}
				cache[ref] = typ + "/" + found[0]
				c[k] = cache[ref]
				continue
			}
			if err := s.rewriteRefs(ctx, tx, x, ids, cache, match); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range c {
			if err := s.rewriteRefs(ctx, tx, x, ids, cache, match); err != nil {
				return err
			}
		}
	}
	return nil
}

// absentChunk is how many ids one absence query names.
const absentChunk = 500

// absentIDs finds, in one query per type and chunk, the creates and updates of a large
// transaction whose id has no row in resource_current yet: put can skip looking each of
// them up, which was a tenth of the writer's time in a bulk load of new resources. The
// answer holds for the whole transaction: no two of its entries write the same id (the
// planning refused that), and its deletes of absent ids write nothing.
func (s *Store) absentIDs(ctx context.Context, tx *sql.Tx, entries []*TxEntry, plannedID []string, matched []bool) ([]bool, error) {
	absent := make([]bool, len(entries))
	if len(entries) < minAhead {
		return absent, nil // one lookup each is as cheap
	}
	byType := map[string][]int{}
	for i, e := range entries {
		if (e.Method == "POST" || e.Method == "PUT") && !matched[i] && plannedID[i] != "" {
			byType[e.Type] = append(byType[e.Type], i)
		}
	}
	for typ, idx := range byType {
		for chunk := range slices.Chunk(idx, absentChunk) {
			args := make([]any, 0, len(chunk)+1)
			args = append(args, typ)
			at := make(map[string]int, len(chunk))
			for _, i := range chunk {
				args = append(args, plannedID[i])
				at[plannedID[i]] = i
				absent[i] = true
			}
			rows, err := tx.QueryContext(ctx, `SELECT id FROM resource_current WHERE type = ? AND id IN (`+marks(len(chunk))+`)`, args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return nil, err
				}
				absent[at[id]] = false
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return absent, nil
}

// prepared is the work done for one write ahead of the writer: its index rows and, when
// it can only be a version 1 (a create), its encoded JSON.
type prepared struct {
	absent bool // no current row had the id when the transaction began (see absentIDs)
	rows   *indexRows
	json   []byte    // nil: encode in put
	at     time.Time // the transaction's instant
}

// writesAhead prepares a transaction's writes on other goroutines while the writer works
// through them in processing order: FHIRPath evaluation and encoding are pure and cost a
// load as much time as SQLite did, so on a second core they come almost free.
type writesAhead struct {
	at    time.Time
	early bool // prepared by prepareEarly, before the transaction
	slots []aheadSlot
	quit  atomic.Bool
	wg    sync.WaitGroup
}

type aheadSlot struct {
	pre     prepared
	err     error
	skipped bool          // early, with references to rewrite: not prepared
	done    chan struct{} // nil: not prepared ahead
}

// minAhead is the smallest transaction worth the goroutines.
const minAhead = 16

func prepareAhead(entries []*TxEntry, order []int, plannedID []string, matched []bool, at time.Time, early bool) *writesAhead {
	a := &writesAhead{at: at, early: early}
	workers := runtime.GOMAXPROCS(0) - 1
	if len(entries) < minAhead || workers < 1 {
		return a
	}
	a.slots = make([]aheadSlot, len(entries))
	var todo []int // in processing order, so the writer rarely waits
	for _, i := range order {
		e := entries[i]
		if (e.Method == "POST" || e.Method == "PUT") && e.Resource != nil && !matched[i] && plannedID[i] != "" {
			a.slots[i].done = make(chan struct{})
			a.slots[i].pre.at = at
			todo = append(todo, i)
		}
	}
	var next atomic.Int64
	for range min(workers, 4) {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(todo) {
					return
				}
				i := todo[k]
				if !a.quit.Load() {
					a.prepare(&a.slots[i], entries[i], plannedID[i])
				}
				close(a.slots[i].done)
			}
		}()
	}
	return a
}

// prepareEarly starts preparing a BatchWriter's batch before its transaction, so that
// extraction overlaps the writer's work on the previous batch instead of pacing its own.
// It returns nil when the batch needs what only the transaction knows: fullUrls to
// resolve, conditional entries, methods other than PUT by id. Entries with references to
// rewrite (urn:uuid, conditional) are left unprepared, for the transaction to rewrite
// and prepare as usual.
func prepareEarly(entries []*TxEntry, at time.Time) *writesAhead {
	order := make([]int, len(entries))
	plannedID := make([]string, len(entries))
	for i, e := range entries {
		if e.Method != "PUT" || e.ID == "" || e.FullURL != "" || e.Query != "" || e.Resource == nil || checkTypeID(e.Type, e.ID) != nil {
			return nil
		}
		order[i], plannedID[i] = i, e.ID
	}
	return prepareAhead(entries, order, plannedID, make([]bool, len(entries)), at, true)
}

// preparedEarly waits for entry i of an early preparation and reports whether it was
// prepared (it had no references to rewrite).
func (a *writesAhead) preparedEarly(i int) bool {
	if a == nil || !a.early || a.slots == nil || a.slots[i].done == nil {
		return false
	}
	<-a.slots[i].done
	return !a.slots[i].skipped
}

// conditionalRef splits a conditional reference, Type?query; a query on a literal
// reference (Type/id?x) is not one.
func conditionalRef(ref string) (typ, query string, ok bool) {
	typ, query, ok = strings.Cut(ref, "?")
	return typ, query, ok && !strings.Contains(typ, "/")
}

// plainRefs reports that v has no reference rewriteRefs would touch in a batch without
// fullUrls: no urn:uuid and no conditional reference.
func plainRefs(v any) bool {
	switch c := v.(type) {
	case map[string]any:
		for k, x := range c {
			if ref, ok := x.(string); ok && k == "reference" {
				if _, _, cond := conditionalRef(ref); cond || strings.HasPrefix(ref, "urn:uuid:") {
					return false
				}
				continue
			}
			if !plainRefs(x) {
				return false
			}
		}
	case []any:
		for _, x := range c {
			if !plainRefs(x) {
				return false
			}
		}
	}
	return true
}

// prepare extracts e's index rows and encodes it as the version 1 put would write. A PUT
// whose body id is not the planned one is left to put, which refuses it: only what put
// would write unchanged is touched.
func (a *writesAhead) prepare(slot *aheadSlot, e *TxEntry, id string) {
	m := e.Resource
	if a.early && !plainRefs(m) {
		slot.skipped = true // the transaction rewrites it, then put extracts and encodes
		return
	}
	if slot.pre.rows, slot.err = extract(e.Type, id, m); slot.err != nil {
		return
	}
	if bodyID, _ := m["id"].(string); e.Method != "POST" && bodyID != id {
		return
	}
	m["id"] = id
	meta, _ := m["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["versionId"] = "1"
	meta["lastUpdated"] = FormatInstant(a.at)
	m["meta"] = meta
	slot.pre.json, slot.err = encodeJSON(m)
}

// get waits for entry i's preparation. Entries not prepared ahead still get the
// transaction's instant.
func (a *writesAhead) get(i int) (*prepared, error) {
	if a.slots == nil || a.slots[i].done == nil {
		return &prepared{at: a.at}, nil
	}
	<-a.slots[i].done
	return &a.slots[i].pre, a.slots[i].err
}

// stop ends the workers and waits for them, so no goroutine still reads the entries when
// the transaction returns to its caller.
func (a *writesAhead) stop() {
	a.quit.Store(true)
	a.wg.Wait()
}
