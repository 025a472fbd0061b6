package fhirstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Export calls fn for every live resource, ordered by type then id, optionally limited to
// types. It reads from one snapshot, so a concurrent write never tears the export.
func (s *Store) Export(ctx context.Context, types []string, fn func(*Resource) error) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	q := `SELECT type, id, version, last_updated, json FROM resources WHERE deleted = 0`
	var args []any
	if len(types) > 0 {
		q += ` AND type IN (SELECT value FROM json_each(?))`
		args = append(args, jsonArray(types))
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY type, id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r := &Resource{}
		var lu int64
		if err := rows.Scan(&r.Type, &r.ID, &r.Version, &lu, &r.JSON); err != nil {
			return err
		}
		r.LastUpdated = time.UnixMicro(lu).UTC()
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Counts returns the number of live resources per type.
func (s *Store) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT type, count(*) FROM resource_current WHERE deleted = 0 GROUP BY type`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var t string
		var n int
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, rows.Err()
}

func jsonArray(ss []string) string {
	b, _ := encodeJSONValue(ss)
	return string(b)
}

// Meta returns a small per-database value (nil when unset).
func (s *Store) Meta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// SetMeta stores a small per-database value.
func (s *Store) SetMeta(ctx context.Context, key string, value []byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Optimize refreshes the query planner's statistics; run it after bulk loads so searches
// pick the most selective index. The writer's analysis_limit keeps it to sqlite_stat1.
func (s *Store) Optimize(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, "PRAGMA optimize=0x10002")
	return err
}
