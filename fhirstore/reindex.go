package fhirstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// indexVersion names what the index tables hold. A database indexed by an older version
// (before composites and full text: no key) is re-indexed once when it opens, so searches
// on the new tables do not silently miss the resources written before them.
const indexVersion = "2"

// reindexIfStale brings the index of every live resource up to indexVersion.
func (s *Store) reindexIfStale(ctx context.Context) error {
	var have string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'index_version'`).Scan(&have)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if have == indexVersion {
		return nil
	}
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM resource_current WHERE deleted = 0`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("re-indexing stored resources for this version's search parameters", "resources", n)
	}
	// In batches, each its own transaction: a large store does not hold one huge one, and
	// an interrupted run resumes from the start next time (re-indexing is idempotent).
	const batch = 1000
	for after := int64(0); ; {
		last, err := s.reindexBatch(ctx, after, batch)
		if err != nil {
			return fmt.Errorf("re-index: %w", err)
		}
		if last == after {
			break
		}
		after = last
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES ('index_version', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, indexVersion)
	return err
}

// reindexBatch re-indexes up to n live resources with rid > after and returns the last rid
// done (after itself when none were left).
func (s *Store) reindexBatch(ctx context.Context, after int64, n int) (int64, error) {
	last := after
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT c.rid, c.type, h.json FROM resource_current c
			JOIN resource_history h ON h.hid = c.hid WHERE c.rid > ? AND c.deleted = 0 ORDER BY c.rid LIMIT ?`, after, n)
		if err != nil {
			return err
		}
		type doc struct {
			rid  int64
			typ  string
			json []byte
		}
		var docs []doc
		for rows.Next() {
			var d doc
			if err := rows.Scan(&d.rid, &d.typ, &d.json); err != nil {
				rows.Close()
				return err
			}
			docs = append(docs, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range docs {
			m, err := decodeJSON(d.json)
			if err != nil {
				return fmt.Errorf("%s rid %d: %w", d.typ, d.rid, err)
			}
			if err := s.writeIndex(ctx, tx, d.rid, d.typ, m, false); err != nil {
				return err
			}
			last = d.rid
		}
		return nil
	})
	return last, err
}
