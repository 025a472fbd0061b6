package fhirstore

import (
	"context"
	"database/sql"
	"errors"
)

// indexVersion names what the index tables hold. A database indexed by an older version
// (before composites and full text, say) lacks rows that searches now expect, so Open
// re-indexes it: bump this whenever what a write indexes changes.
//
// 6: resource_current.patient. A build from before it updates a resource without that
// column, which would then name a compartment the resource has left; opening the file with
// an older build records that build's version, so the next newer Open re-indexes and sets
// the column again.
const indexVersion = "6"

// indexStale reports whether the database must be re-indexed before it is searched: its
// search parameter ids are not this build's (pidsStale) or its index version is older.
// A database with no resources only records the current version.
func (s *Store) indexStale(ctx context.Context, pidsStale bool) (bool, error) {
	var have string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'index_version'`).Scan(&have)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if have == indexVersion && !pidsStale {
		return false, nil
	}
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM resource_current WHERE deleted = 0`).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return true, nil
	}
	return false, s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.recordPIDs(ctx, tx); err != nil {
			return err
		}
		return recordIndexVersion(ctx, tx)
	})
}

func recordIndexVersion(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES ('index_version', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, indexVersion)
	return err
}
