package fhirstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Decision is one FHIR request's access decision and the reason given for it.
type Decision struct {
	At                            time.Time
	Method, Path                  string
	Client, User, Patient, Scopes string
	Decision                      string // allow or deny
	Status                        int
	Reason                        string
}

// MaxDecisions bounds the decision log: it keeps the newest MaxDecisions decisions.
const MaxDecisions = 10000

// The log is a ring of slots in decision_log (see migrations/0009_decision_ring.sql):
// decision number seq is stored in slot seq % slots, replacing the decision logged slots
// before it. decision_head holds the newest seq and the number of slots, which Open sets
// to MaxDecisions. Each row references its who and what tuples by id.
const (
	// decisionBatch is the most decisions the writer stores in one transaction.
	decisionBatch = 256
	// decisionInsert writes rows of decisionCols values. The REPLACE overwrites the row
	// in its slot in place because decision_log has no secondary index: with one, every
	// row would cost a delete and an insert again.
	decisionInsert = "INSERT OR REPLACE INTO decision_log (slot, at, path, who, what)"
	decisionCols   = 5
)

// decisionWho is who asked: the token's client, user, patient and scopes.
type decisionWho struct{ client, user, patient, scopes string }

func (w decisionWho) cols() []any { return []any{w.client, w.user, w.patient, w.scopes} }

// decisionWhat is what was asked and how it was answered, short of the path.
type decisionWhat struct {
	method, decision string
	status           int
	reason           string
}

func (w decisionWhat) cols() []any { return []any{w.method, w.decision, int64(w.status), w.reason} }

// decisionStmts are the decision writer's statements, prepared on the writer connection.
type decisionStmts struct {
	// insert, addWho and addWhat store 1, 2, 4 ... decisionBatch rows (see insertRows).
	insert, addWho, addWhat []*sql.Stmt
	// head reads the ring's head and the highest tuple ids; setHead moves the head.
	head, setHead *sql.Stmt
}

func (s *Store) prepareDecisions(ctx context.Context) error {
	st := &s.decisionStmts
	var err error
	// max() in a subquery of its own is one B-tree seek.
	if st.head, err = s.w.PrepareContext(ctx, `SELECT (SELECT data_version FROM pragma_data_version), seq, slots,
		coalesce((SELECT max(id) FROM decision_who), 0), coalesce((SELECT max(id) FROM decision_what), 0) FROM decision_head`); err != nil {
		return err
	}
	if st.setHead, err = s.w.PrepareContext(ctx, `UPDATE decision_head SET seq = ?`); err != nil {
		return err
	}
	if st.insert, err = s.prepareMultiInsert(ctx, decisionInsert, decisionCols, decisionBatch); err != nil {
		return err
	}
	if st.addWho, err = s.prepareMultiInsert(ctx, "INSERT INTO decision_who (id, client, user, patient, scopes)", 5, decisionBatch); err != nil {
		return err
	}
	st.addWhat, err = s.prepareMultiInsert(ctx, "INSERT INTO decision_what (id, method, decision, status, reason)", 5, decisionBatch)
	return err
}

// sizeDecisionLog lays the ring out again in slots slots when it has another size,
// keeping the newest decisions that fit.
func (s *Store) sizeDecisionLog(ctx context.Context, slots int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var seq, was int64
		if err := tx.QueryRowContext(ctx, `SELECT seq, slots FROM decision_head`).Scan(&seq, &was); err != nil {
			return err
		}
		if was == slots {
			return nil
		}
		// The row in slot n holds the newest decision whose seq is n modulo was.
		for _, q := range []string{
			`CREATE TEMP TABLE decision_resize AS SELECT ?1 - (?1 - slot) % ?2 AS seq, at, path, who, what FROM decision_log`,
			`DELETE FROM decision_log`,
			`INSERT INTO decision_log (slot, at, path, who, what)
				SELECT seq % ?3, at, path, who, what FROM decision_resize WHERE seq > ?1 - ?3`,
			`DROP TABLE temp.decision_resize`,
			`UPDATE decision_head SET slots = ?3`,
		} {
			if _, err := tx.ExecContext(ctx, q, seq, was, slots); err != nil {
				return err
			}
		}
		return nil
	})
}

// decisionQueue holds decisions between the requests that make them and the background
// writer. A request appends under a mutex and never wakes the writer: handing each
// decision over a channel woke the parked writer goroutine per request, a futex call
// that cost the request more than the rest of enforcement. The writer wakes on its tick,
// when a batch is full, on a flush and on close.
type decisionQueue struct {
	mu      sync.Mutex
	pending []Decision
	closed  bool
	full    chan struct{} // cap 1: a batch is waiting
	flush   chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// maxQueuedDecisions bounds the queue; beyond it decisions are dropped, not waited for.
const maxQueuedDecisions = 4096

func newDecisionQueue() *decisionQueue {
	return &decisionQueue{full: make(chan struct{}, 1), flush: make(chan chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// LogDecision queues a decision for the log without making the request wait for a
// write: a background writer stores queued decisions in batches. When the queue is full
// the decision is dropped rather than slowing the API down.
func (s *Store) LogDecision(d Decision) {
	q := s.decisions
	q.mu.Lock()
	if !q.closed && len(q.pending) < maxQueuedDecisions {
		q.pending = append(q.pending, d)
		if len(q.pending) == decisionBatch {
			select {
			case q.full <- struct{}{}:
			default:
			}
		}
	}
	q.mu.Unlock()
}

// take swaps the queued decisions for spare (emptied), returning them.
func (q *decisionQueue) take(spare []Decision) []Decision {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.pending
	q.pending = spare[:0]
	return out
}

// closeQueue stops the writer after it has stored what is queued.
func (q *decisionQueue) closeQueue() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	close(q.stop)
	<-q.done
}

func (s *Store) decisionWriter() {
	q := s.decisions
	defer close(q.done)
	l := &decisionLog{s: s}
	var spare []Decision
	write := func() {
		batch := q.take(spare)
		for rest := batch; len(rest) > 0; {
			n := min(len(rest), decisionBatch)
			if err := l.write(context.Background(), rest[:n]); err != nil {
				s.log.Error("decision log: batch not stored", "decisions", n, "err", err)
			}
			rest = rest[n:]
		}
		clear(batch) // keep no strings of these requests until the next swap
		spare = batch[:0]
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-q.stop:
			write()
			return
		case <-q.full:
			write()
		case <-tick.C:
			write()
		case done := <-q.flush:
			write()
			close(done)
		}
	}
}

// decisionLog is the background writer's state. It keeps the ids of the who and what
// tuples it has stored, boxed as the insert binds them, so that a row costs its slot,
// time, path and two cached ids: binding a string copies it into C memory and frees it
// again. The cache is the only index of the tuples: a tuple it lacks is stored again,
// under a new id, rather than looked up (which cost a query and a unique index on
// strings, per reason when every request has a reason of its own). The copies left that
// way, by a restart or a cache reset, are collected with the tuples the log no longer uses.
type decisionLog struct {
	s    *Store
	who  map[decisionWho]any
	what map[decisionWhat]any
	// added counts the tuples stored since the last collect; collected is false until the
	// first batch has collected what earlier runs left.
	added     int
	collected bool
	// dataVersion is PRAGMA data_version as of the last batch: when another connection
	// (another fhirbox on the same file) has committed, its writer may have stored or
	// collected tuples, so the cached ids are forgotten.
	dataVersion int64
	// rows, newWho and newWhat are the rows of the batch being written, reused.
	rows, newWho, newWhat []any
}

// reset forgets the cached ids, after a failed batch (its tuples were rolled back) or a
// collect.
func (l *decisionLog) reset() {
	l.who = map[decisionWho]any{}
	l.what = map[decisionWhat]any{}
}

// write stores batch in one transaction, in the slots after the newest decision's.
func (l *decisionLog) write(ctx context.Context, batch []Decision) error {
	s, st := l.s, &l.s.decisionStmts
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var version, seq, slots, lastWho, lastWhat int64
		if err := s.stmt(ctx, tx, st.head).QueryRowContext(ctx).Scan(&version, &seq, &slots, &lastWho, &lastWhat); err != nil {
			return err
		}
		if version != l.dataVersion || l.who == nil {
			l.reset()
			l.dataVersion = version
		}
		if !l.collected || l.added >= MaxDecisions {
			if err := l.collect(ctx, tx); err != nil {
				return err
			}
		}
		rows, newWho, newWhat := l.rows[:0], l.newWho[:0], l.newWhat[:0]
		for i := range batch {
			d := &batch[i]
			who := tupleID(l.who, decisionWho{d.Client, d.User, d.Patient, d.Scopes}, &lastWho, &newWho)
			what := tupleID(l.what, decisionWhat{d.Method, d.Decision, d.Status, d.Reason}, &lastWhat, &newWhat)
			seq++
			rows = append(rows, seq%slots, d.At.UnixMicro(), d.Path, who, what)
		}
		l.added += (len(newWho) + len(newWhat)) / 5
		err := s.insertRows(ctx, tx, st.addWho, 5, newWho)
		if err == nil {
			err = s.insertRows(ctx, tx, st.addWhat, 5, newWhat)
		}
		if err == nil {
			err = s.insertRows(ctx, tx, st.insert, decisionCols, rows)
		}
		// Keep no strings of this batch until the next.
		clear(rows)
		clear(newWho)
		clear(newWhat)
		l.rows, l.newWho, l.newWhat = rows[:0], newWho[:0], newWhat[:0]
		if err != nil {
			return err
		}
		_, err = s.stmt(ctx, tx, st.setHead).ExecContext(ctx, seq)
		return err
	})
	if err != nil {
		l.reset()
	}
	return err
}

// collect deletes the tuples no row references any more, which bounds the tuple tables
// at the tuples the log uses plus MaxDecisions, and forgets the cached ids. It runs before
// a batch looks its tuples up: the tuples cached until then may be among those deleted.
func (l *decisionLog) collect(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM decision_who WHERE id NOT IN (SELECT who FROM decision_log);
		DELETE FROM decision_what WHERE id NOT IN (SELECT what FROM decision_log)`); err != nil {
		return err
	}
	l.reset()
	l.added, l.collected = 0, true
	return nil
}

// DecisionFilter selects logged decisions; empty fields match everything.
type DecisionFilter struct {
	Client   string
	Decision string // allow or deny
	Limit    int    // at most this many (default 100, at most MaxDecisions)
}

// Decisions returns the newest logged decisions first.
func (s *Store) Decisions(ctx context.Context, f DecisionFilter) ([]Decision, error) {
	limit := min(f.Limit, MaxDecisions)
	if f.Limit <= 0 {
		limit = 100
	}
	// The filters pick tuple ids, so that a row that fails them costs no join.
	w := &whereClause{}
	if f.Client != "" {
		w.add("l.who IN (SELECT id FROM decision_who WHERE client = ?)", f.Client)
	}
	if f.Decision != "" {
		w.add("l.what IN (SELECT id FROM decision_what WHERE decision = ?)", f.Decision)
	}
	filters := ""
	if len(w.conds) > 0 {
		filters = " AND " + w.sql()
	}
	// The head and both slot ranges are read in one transaction: one snapshot of the ring.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var seq, slots int64
	if err := tx.QueryRowContext(ctx, `SELECT seq, slots FROM decision_head`).Scan(&seq, &slots); err != nil {
		return nil, err
	}
	// Newest first: from the newest decision's slot down to slot 0, then, once the ring has
	// come round, from the last slot down to the one after the newest. CROSS JOIN keeps the
	// log the outer loop, read in slot order, however the planner rates the filters.
	var out []Decision
	for _, slotRange := range []string{"l.slot <= ?", "l.slot > ?"} {
		args := append(append([]any{seq % slots}, w.args...), limit-len(out))
		rows, err := tx.QueryContext(ctx, `SELECT l.at, x.method, l.path, w.client, w.user, w.patient, w.scopes,
			x.decision, x.status, x.reason
			FROM decision_log l CROSS JOIN decision_who w ON w.id = l.who CROSS JOIN decision_what x ON x.id = l.what
			WHERE `+slotRange+filters+` ORDER BY l.slot DESC LIMIT ?`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var d Decision
			var at int64
			if err := rows.Scan(&at, &d.Method, &d.Path, &d.Client, &d.User, &d.Patient, &d.Scopes, &d.Decision, &d.Status, &d.Reason); err != nil {
				rows.Close()
				return nil, err
			}
			d.At = time.UnixMicro(at).UTC()
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(out) == limit {
			return out, err
		}
	}
	return out, nil
}

// FlushDecisions returns once every decision queued so far is stored.
func (s *Store) FlushDecisions() {
	done := make(chan struct{})
	s.decisions.flush <- done
	<-done
}

// tupleID returns the cached id of a side-table tuple, or numbers a new one after *last
// and queues its row (the id, then the tuple's columns) on *queue for the batch's insert.
// The columns are boxed only for a new tuple: a cached one costs a map lookup.
func tupleID[K interface {
	comparable
	cols() []any
}](cache map[K]any, key K, last *int64, queue *[]any) any {
	if id, ok := cache[key]; ok {
		return id
	}
	*last++
	id := any(*last)
	cache[key] = id
	*queue = append(append(*queue, id), key.cols()...)
	return id
}
