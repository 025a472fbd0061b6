package fhirstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bulk loads and re-indexing drop the lookup indexes of the index tables, write the rows
// into the bare tables, and build the indexes again at the end: SQLite builds an index by
// sorting, far cheaper than millions of inserts at random places in a B-tree. The rid
// indexes stay, so replacing a resource still finds its old rows.
//
// Which indexes are down is recorded in store_meta before they are dropped, so a load
// that is killed midway leaves a store that Open repairs.

const deferredKey = "deferred_indexes"

// deferIndexes drops the lookup indexes of the index tables for which keep is false and
// records their definitions.
func (s *Store) deferIndexes(ctx context.Context, keep func(name string) bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM store_meta WHERE key = ?`, deferredKey).Scan(&one); err == nil {
			return Errorf(EConflict, "another bulk load or re-index is running on this database")
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		in := marks(len(lookupTables()))
		rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
			AND tbl_name IN (`+in+`) ORDER BY name`, lookupTables()...)
		if err != nil {
			return err
		}
		defs := map[string]string{}
		for rows.Next() {
			var name, ddl string
			if err := rows.Scan(&name, &ddl); err != nil {
				rows.Close()
				return err
			}
			if !strings.HasSuffix(name, "_rid") && !keep(name) {
				defs[name] = ddl
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b, _ := json.Marshal(defs)
		if _, err := tx.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES (?, ?)`, deferredKey, b); err != nil {
			return err
		}
		for name := range defs {
			// name comes from sqlite_master, not from input.
			if _, err := tx.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
				return err
			}
		}
		return nil
	})
}

// restoreIndexes builds the indexes deferIndexes dropped, if any are recorded.
func (s *Store) restoreIndexes(ctx context.Context) error {
	var b []byte
	err := s.w.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = ?`, deferredKey).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var defs map[string]string
	if err := json.Unmarshal(b, &defs); err != nil {
		return fmt.Errorf("store_meta %s: %w", deferredKey, err)
	}
	s.log.Info("building search indexes", "indexes", len(defs))
	start := time.Now()
	defer func() { s.log.Info("built search indexes", "took", time.Since(start).Round(time.Millisecond).String()) }()
	// Let SQLite's sorter use every core for the builds (the writer has one connection, so
	// the settings stay with it). SQLite starts no sorter threads while temp_store is
	// MEMORY, so the builds sort through temporary files, which the OS keeps in its cache
	// anyway: about a third faster on two cores.
	for _, p := range []string{"PRAGMA threads = " + strconv.Itoa(runtime.GOMAXPROCS(0)), "PRAGMA temp_store = FILE"} {
		if _, err := s.w.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	defer s.w.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = MEMORY")
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, ddl := range defs {
			ddl = strings.Replace(ddl, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
			if _, err := tx.ExecContext(ctx, ddl); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM store_meta WHERE key = ?`, deferredKey)
		return err
	})
}

// lookupTables are the tables whose indexes a bulk load may defer, as query arguments.
func lookupTables() []any {
	out := make([]any, len(indexTables))
	for i, t := range indexTables {
		out[i] = t
	}
	return out
}

// BulkLoad runs load with the search indexes deferred, then builds them and refreshes the
// planner's statistics. Searches stay correct meanwhile, only slow. With keepTokens the
// token index stays up, for loads whose conditional references and creates search by
// identifier as they go.
func (s *Store) BulkLoad(ctx context.Context, keepTokens bool, load func() error) error {
	if err := s.deferIndexes(ctx, func(name string) bool { return keepTokens && name == "idx_token_lookup" }); err != nil {
		return err
	}
	// Fewer, larger checkpoints while the load lasts: each one syncs the WAL and the
	// database file, and a bulk load fills the default 1,000-page WAL every few batches.
	if _, err := s.w.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 16384"); err != nil {
		return err
	}
	defer s.w.ExecContext(context.WithoutCancel(ctx), "PRAGMA wal_autocheckpoint = 1000")
	// No fsync while the load lasts: each checkpoint synced the WAL and the database file,
	// and waiting on the disk for those was a tenth of a seed's time. If fhirbox itself
	// crashes, nothing committed is lost (the OS holds the writes); an OS crash or power
	// cut during the load can damage the database, so run the load again after one.
	// durable syncs everything once the load ends.
	if _, err := s.w.ExecContext(ctx, "PRAGMA synchronous = OFF"); err != nil {
		return err
	}
	defer s.durable(context.WithoutCancel(ctx))
	err := load()
	// The indexes come back even when the load failed: what it committed must be searchable.
	if rerr := s.restoreIndexes(context.WithoutCancel(ctx)); rerr != nil {
		return errors.Join(err, rerr)
	}
	if err != nil {
		return err
	}
	return s.Optimize(ctx)
}

// durable restores synchronous = NORMAL and checkpoints with it, which syncs the WAL and
// then the database file: everything written while BulkLoad ran unsynced is on disk.
func (s *Store) durable(ctx context.Context) {
	if _, err := s.w.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		s.log.Warn("restoring synchronous = NORMAL", "err", err)
		return
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		s.log.Warn("checkpoint after a bulk load", "err", err)
	}
}

// reindexBatch is how many resources one re-index transaction rewrites.
const reindexBatch = 2000

// Reindex rebuilds every search index and compartment row from the stored resources with
// the current search parameter definitions, and records those definitions. progress, when
// set, is called after each batch. It returns the number of resources indexed.
func (s *Store) Reindex(ctx context.Context, progress func(done, total int)) (int, error) {
	var total int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM resource_current WHERE deleted = 0`).Scan(&total); err != nil {
		return 0, err
	}
	done := 0
	err := s.BulkLoad(ctx, false, func() error {
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			for _, t := range indexTables {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_text (search_text) VALUES ('delete-all')`); err != nil {
				return err
			}
			// Until the last batch is written the store counts as not indexed.
			if _, err := tx.ExecContext(ctx, `DELETE FROM store_meta WHERE key = 'index_version'`); err != nil {
				return err
			}
			return s.recordPIDs(ctx, tx)
		}); err != nil {
			return err
		}
		for after := int64(0); ; {
			last, n, err := s.reindexFrom(ctx, after)
			if err != nil {
				return err
			}
			if n == 0 {
				// Recorded last: an interrupted re-index is redone at the next Open.
				return s.inTx(ctx, func(tx *sql.Tx) error { return recordIndexVersion(ctx, tx) })
			}
			after, done = last, done+n
			if progress != nil {
				progress(done, total)
			}
		}
	})
	return done, err
}

// reindexFrom re-indexes the next batch of live resources with rid > after, extracting on
// every core while it reads, and returns the last rid and how many it indexed.
func (s *Store) reindexFrom(ctx context.Context, after int64) (last int64, n int, err error) {
	type item struct {
		rid      int64
		typ, id  string
		json     []byte
		rows     *indexRows
		extractE error
	}
	var items []*item
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT c.rid, c.type, c.id, h.json FROM resource_current c
			JOIN resource_history h ON h.hid = c.hid WHERE c.rid > ? AND c.deleted = 0 ORDER BY c.rid LIMIT ?`, after, reindexBatch)
		if err != nil {
			return err
		}
		for rows.Next() {
			it := &item{}
			if err := rows.Scan(&it.rid, &it.typ, &it.id, &it.json); err != nil {
				rows.Close()
				return err
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := w; k < len(items); k += workers {
					it := items[k]
					m, err := decodeJSON(it.json)
					if err == nil {
						it.rows, err = extract(it.typ, it.id, m)
					}
					it.extractE = err
				}
			}()
		}
		wg.Wait()
		for _, it := range items {
			if it.extractE != nil {
				return fmt.Errorf("%s/%s: %w", it.typ, it.id, it.extractE)
			}
			s.queueRows(it.rid, it.rows)
		}
		return nil
	})
	if err != nil || len(items) == 0 {
		return 0, 0, err
	}
	return items[len(items)-1].rid, len(items), nil
}
