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
	// anyway: the token index of a 1M-resource store took 10.0 s instead of 12.6–15.3 s on
	// two cores. The sorter sorts runs as large as the page
	// cache; runs of 8 MB instead of 64 MB built the indexes of a 1M-resource store in
	// 21–26 s instead of 30–32 s.
	for _, p := range []string{"PRAGMA threads = " + strconv.Itoa(runtime.GOMAXPROCS(0)), "PRAGMA temp_store = FILE", "PRAGMA cache_size = -8192"} {
		if _, err := s.w.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	defer func() {
		for _, p := range []string{"PRAGMA temp_store = MEMORY", "PRAGMA cache_size = " + strconv.Itoa(cacheKiB)} {
			s.w.ExecContext(context.WithoutCancel(ctx), p)
		}
	}()
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
	journal, err := s.beginLoad(ctx)
	defer s.endLoad(context.WithoutCancel(ctx), journal)
	if err == nil {
		err = load()
	}
	// The indexes come back even when the load failed: what it committed must be searchable.
	if rerr := s.restoreIndexes(context.WithoutCancel(ctx)); rerr != nil {
		return errors.Join(err, rerr)
	}
	if err != nil {
		return err
	}
	return s.Optimize(ctx)
}

// textMerges sets how FTS5 merges the full-text index's segments (each transaction
// writes one): with automerge, a write also merges levels of automerge segments; at
// crisismerge segments on a level, the whole level is merged at once.
type textMerges struct{ automerge, crisismerge int }

var (
	// defaultMerges are FTS5's defaults, which keep few segments for queries.
	defaultMerges = textMerges{4, 16}
	// loadMerges leave the merging to crisis merges of 64 segments, so a row is merged
	// fewer times than in merges of four: automerging was half of what commits cost in a
	// million-resource seed, and in a 1,000-patient one merges fell from 0.65 s to 0.21 s
	// of CPU. _content searches of the store that results take as long as before.
	loadMerges = textMerges{0, 64}
)

func (s *Store) textMerges(ctx context.Context, m textMerges) error {
	for _, kv := range []struct {
		key string
		val int
	}{{"automerge", m.automerge}, {"crisismerge", m.crisismerge}} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO search_text (search_text, rank) VALUES (?, ?)`, kv.key, kv.val); err != nil {
			return err
		}
	}
	return nil
}

// loadKey marks a bulk load in progress in store_meta; its value is the journal mode the
// load runs in.
const loadKey = "bulk_load"

// The writer's settings while a load lasts, which endLoad undoes:
//   - fewer, larger checkpoints: each one syncs the WAL and the database file, and a bulk
//     load fills the default 1,000-page WAL every few batches;
//   - no fsync: waiting on the disk for the checkpoints was a tenth of a seed's time. If
//     fhirbox itself crashes, nothing committed is lost (the OS holds the writes); an OS
//     crash or power cut during the load can damage the database, so run the load again
//     after one. endLoad syncs everything once the load ends;
//   - full-text merges left to crisis merges (loadMerges).
var (
	loadSettings  = []string{"PRAGMA wal_autocheckpoint = 16384", "PRAGMA synchronous = OFF"}
	serveSettings = []string{"PRAGMA wal_autocheckpoint = 1000", "PRAGMA synchronous = NORMAL"}
)

// beginLoad switches the writer to the load's settings, records the load and, when this
// store's Open created the database and no resource is in it yet, takes its journal out of
// WAL mode for the load: SQLite then writes each page once, into the database file, where
// WAL mode wrote it to the WAL and copied it again at every checkpoint. That made a first
// seed about 18% faster. The rollback journal stays in memory, so a failed transaction
// still rolls back, but a load killed in the middle of a commit can leave the file
// damaged: the mark stays behind and Open refuses the store (see checkLoad). Only a
// database with nothing in it is risked this way: loads into one that holds resources, or
// that a server used (its users, clients and keys share the file), keep the WAL. It
// returns the journal mode the load runs in, "wal" also when it fails: the journal is then
// still the WAL.
func (s *Store) beginLoad(ctx context.Context) (string, error) {
	for _, p := range loadSettings {
		if _, err := s.w.ExecContext(ctx, p); err != nil {
			return "wal", err
		}
	}
	empty := s.created
	if empty {
		if err := s.w.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM resource_history)`).Scan(&empty); err != nil {
			return "wal", err
		}
	}
	journal := "wal"
	if empty {
		journal = "memory"
	}
	// The mark is committed before the journal leaves the WAL, so no unjournaled write
	// happens without it.
	if _, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)`, loadKey, journal); err != nil {
		return "wal", err
	}
	if journal == "memory" {
		// Leaving WAL mode needs the database to itself; another connection (a server on
		// the same file) keeps it in WAL, and the load runs there.
		var mode string
		if err := s.w.QueryRowContext(ctx, `PRAGMA journal_mode = MEMORY`).Scan(&mode); err != nil || mode != "memory" {
			s.log.Debug("bulk load keeps the WAL", "journal_mode", mode, "err", err)
			journal = "wal"
			if _, err := s.w.ExecContext(ctx, `UPDATE store_meta SET value = 'wal' WHERE key = ?`, loadKey); err != nil {
				return journal, err
			}
		}
	}
	return journal, s.textMerges(ctx, loadMerges)
}

// endLoad puts the writer's settings for serving back, then the WAL, removes the load's
// mark in a WAL commit and checkpoints: the checkpoint syncs the WAL and then the database
// file, so everything written while the load ran unsynced is on disk.
func (s *Store) endLoad(ctx context.Context, journal string) {
	for _, p := range serveSettings {
		if _, err := s.w.ExecContext(ctx, p); err != nil {
			s.log.Warn("ending a bulk load", "step", p, "err", err)
		}
	}
	if err := s.textMerges(ctx, defaultMerges); err != nil {
		s.log.Warn("ending a bulk load: full-text merges", "err", err)
	}
	if journal == "memory" {
		var mode string
		if err := s.w.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil || mode != "wal" {
			// The mark stays: the next Open tries WAL mode again and then refuses the store.
			s.log.Error("restoring WAL mode after a bulk load", "journal_mode", mode, "err", err)
			return
		}
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM store_meta WHERE key = ?`, []any{loadKey}},
		{`PRAGMA wal_checkpoint(PASSIVE)`, nil},
	} {
		if _, err := s.w.ExecContext(ctx, q.sql, q.args...); err != nil {
			s.log.Warn("ending a bulk load", "step", q.sql, "err", err)
			return
		}
	}
}

// checkLoad runs at Open. A load into an empty store that did not end ran without a WAL
// and may have been killed halfway through a commit: the file cannot be trusted, and as
// the store was empty before it, building it again loses nothing. A load that kept the WAL
// left a consistent store, whose deferred indexes Open builds and whose full-text merges
// go back to the defaults.
func (s *Store) checkLoad(ctx context.Context, path string) error {
	var journal string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = ?`, loadKey).Scan(&journal)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if journal == "memory" {
		return fmt.Errorf("%s: the first load into this new database (fhirbox seed or import) did not finish, and it ran without a WAL for speed, "+
			"so the file may be damaged; remove it (or run fhirbox reset for the default database) and load again", path)
	}
	if err := s.textMerges(ctx, defaultMerges); err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `DELETE FROM store_meta WHERE key = ?`, loadKey)
	return err
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
				return s.inTx(ctx, func(tx *sql.Tx) error {
					// The compartments may have changed with the definitions:
					// resource_current.patient follows the rebuilt rows, in one pass that
					// rewrites only the rows whose value changed.
					p := currentPatientOf("resource_current")
					if _, err := tx.ExecContext(ctx, `UPDATE resource_current SET patient = `+p+` WHERE patient IS NOT `+p); err != nil {
						return err
					}
					// Recorded last: an interrupted re-index is redone at the next Open.
					return recordIndexVersion(ctx, tx)
				})
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
