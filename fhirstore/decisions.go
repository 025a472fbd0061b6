package fhirstore

import (
	"context"
	"database/sql"
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

// MaxDecisions bounds the decision log.
const MaxDecisions = 10000

// decisionInsert names decision_log's columns as stmtDecisions insert them.
const (
	decisionInsert = "decision_log (at, method, path, client, user, patient, scopes, decision, status, reason)"
	decisionCols   = 10
)

// LogDecision queues a decision for the log without making the request wait for a
// write: a background writer stores queued decisions in batches. When the queue is full
// the decision is dropped rather than slowing the API down.
func (s *Store) LogDecision(d Decision) {
	select {
	case s.decisions <- d:
	default:
	}
}

func (s *Store) decisionWriter() {
	defer close(s.decisionsDone)
	batch := make([]Decision, 0, 256)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx := context.Background()
		_ = s.inTx(ctx, func(tx *sql.Tx) error {
			args := make([]any, 0, len(batch)*decisionCols)
			for _, d := range batch {
				args = append(args, d.At.UnixMicro(), d.Method, d.Path, d.Client, d.User, d.Patient, d.Scopes, d.Decision, d.Status, d.Reason)
			}
			if err := s.insertRows(ctx, tx, s.stmtDecisions, decisionCols, args); err != nil {
				return err
			}
			_, err := s.stmt(ctx, tx, s.stmtPruneDecisions).ExecContext(ctx, MaxDecisions)
			return err
		})
		batch = batch[:0]
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case d, ok := <-s.decisions:
			if !ok {
				flush()
				return
			}
			batch = append(batch, d)
			if len(batch) == cap(batch) {
				flush()
			}
		case <-tick.C:
			flush()
		case done := <-s.flushReq:
			for drained := false; !drained; {
				select {
				case d := <-s.decisions:
					batch = append(batch, d)
				default:
					drained = true
				}
			}
			flush()
			close(done)
		}
	}
}

// DecisionFilter selects logged decisions; empty fields match everything.
type DecisionFilter struct {
	Client   string
	Decision string // allow or deny
	Limit    int    // at most this many (default 100, at most MaxDecisions)
}

// Decisions returns the newest logged decisions first.
func (s *Store) Decisions(ctx context.Context, f DecisionFilter) ([]Decision, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	w := &whereClause{}
	if f.Client != "" {
		w.add("client = ?", f.Client)
	}
	if f.Decision != "" {
		w.add("decision = ?", f.Decision)
	}
	where := ""
	if len(w.conds) > 0 {
		where = "WHERE " + w.sql()
	}
	rows, err := s.r.QueryContext(ctx, `SELECT at, method, path, client, user, patient, scopes, decision, status, reason
		FROM decision_log `+where+` ORDER BY id DESC LIMIT ?`, append(w.args, min(f.Limit, MaxDecisions))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		var d Decision
		var at int64
		if err := rows.Scan(&at, &d.Method, &d.Path, &d.Client, &d.User, &d.Patient, &d.Scopes, &d.Decision, &d.Status, &d.Reason); err != nil {
			return nil, err
		}
		d.At = time.UnixMicro(at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// FlushDecisions returns once every decision queued so far is stored.
func (s *Store) FlushDecisions() {
	done := make(chan struct{})
	s.flushReq <- done
	<-done
}
