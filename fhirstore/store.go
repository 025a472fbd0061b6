// Package fhirstore keeps FHIR R4 resources in SQLite: current versions, full history, search
// indexes and compartment membership, every write in one transaction. It knows nothing about
// HTTP or OAuth; callers pass an access filter (later) and get *Error values back.
package fhirstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options configure a Store. Zero values get sensible defaults.
type Options struct {
	// Path of the SQLite file. Empty with Memory set gives a throwaway store.
	Path string
	// Memory makes a store in a temporary file that Close removes.
	Memory bool
	// Now is the clock; tests inject their own.
	Now func() time.Time
	// Logger receives operator-facing messages.
	Logger *slog.Logger
	// Readers is the size of the read pool (default: 2 × CPUs, at least 4).
	Readers int
}

// Store is the FHIR resource store. It is safe for concurrent use: one writer connection
// serialises writes (SQLite allows one writer anyway, and a single connection avoids
// "database is locked" between our own writers) while a pool of readers serves reads.
type Store struct {
	w *sql.DB
	r *sql.DB
	// rq is the read pool through prepared statements kept by SQL text.
	rq     *stmtCache
	now    func() time.Time
	log    *slog.Logger
	tmpDir string
	// created: this Open created the database file's tables.
	created bool
	// idxStmts insert and delete search index rows; pending holds the rows of the current
	// write transaction until it reads the index or commits.
	idxStmts idxStatements
	pending  pendingIndex
	// pendingText holds the search_text rows (rid -> narrative, content) written by the
	// open write transaction, inserted in one statement just before it commits (see
	// flushText). Only the transaction holding the single writer connection touches it.
	pendingText map[int64][2]string
	// Hot write statements, prepared once on the writer connection: re-preparing them
	// per resource cost a tenth of import time.
	stmtCurrent, stmtInsert, stmtUpdate, stmtHistory, stmtMaxIDs *sql.Stmt
	// decisionStmts are the decision log writer's (see decisions.go).
	decisionStmts decisionStmts
	// txs is the state of the current write transaction (they are serial: one writer).
	txs txState
	// cursorKey signs paging cursors.
	cursorKey []byte
	// decisions feeds the decision log's background writer.
	decisions *decisionQueue
}

// cacheKiB is each connection's page cache, as PRAGMA cache_size gives it: negative, in
// KiB (64 MB).
const cacheKiB = -65536

// Open opens (creating if needed) the store at opts.Path and applies pending migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	s := &Store{now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	path := opts.Path
	if opts.Memory || path == "" {
		dir, err := os.MkdirTemp("", "fhirbox-*")
		if err != nil {
			return nil, err
		}
		s.tmpDir = dir
		path = filepath.Join(dir, "fhirbox.db")
	}
	// busy_timeout first so every later pragma already waits instead of failing.
	base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(" + strconv.Itoa(cacheKiB) + ")" +
		"&_pragma=temp_store(MEMORY)"
	var err error
	// analysis_limit: ANALYZE on the writer samples at most that many rows per index and so
	// gathers no sqlite_stat4 (see dropStat4).
	if s.w, err = sql.Open("sqlite", base+"&_txlock=immediate&_pragma=analysis_limit(100000)"); err != nil {
		return nil, err
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(0)
	if s.r, err = sql.Open("sqlite", base+"&_pragma=query_only(1)"); err != nil {
		s.w.Close()
		return nil, err
	}
	n := opts.Readers
	if n <= 0 {
		n = max(4, 2*runtime.NumCPU())
	}
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	s.rq = newStmtCache(s.r, 256)
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// A file with no tables yet is one this Open creates: the only kind a first bulk load
	// may take out of WAL mode (see beginLoad).
	if err := s.w.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM sqlite_schema)`).Scan(&s.created); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	if err := s.sizeDecisionLog(ctx, MaxDecisions); err != nil {
		s.Close()
		return nil, fmt.Errorf("decision log %s: %w", path, err)
	}
	if err := s.dropStat4(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadCursorKey(ctx); err != nil {
		s.Close()
		return nil, err
	}
	stale, err := s.assignPIDs(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareIndex(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.checkLoad(ctx, path); err != nil {
		s.Close()
		return nil, err
	}
	// A bulk load that was killed left its indexes down; build them before serving.
	if err := s.restoreIndexes(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if stale, err = s.indexStale(ctx, stale); err != nil {
		s.Close()
		return nil, err
	}
	if stale {
		s.log.Warn("this database was indexed by another version of fhirbox: re-indexing every resource")
		if _, err := s.Reindex(ctx, nil); err != nil {
			s.Close()
			return nil, fmt.Errorf("re-index: %w", err)
		}
	}
	s.decisions = newDecisionQueue()
	go s.decisionWriter()
	return s, nil
}

// dropStat4 removes the planner's per-value samples, which older versions gathered. With
// sqlite_stat4 present SQLite re-plans, by re-preparing it, every statement that binds a
// value compared with the first columns of an index, each time it runs: a read by id paid
// about 20 µs for it, three times the rest of the read. Our queries are written for
// stable plans, so sqlite_stat1's rows-per-key are all the planner needs.
func (s *Store) dropStat4(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM sqlite_stat4 LIMIT 1)`).Scan(&n); err != nil || n == 0 {
		return err
	}
	// ANALYZE sqlite_schema reloads the statistics without analysing anything.
	_, err := s.w.ExecContext(ctx, `DELETE FROM sqlite_stat4; ANALYZE sqlite_schema`)
	return err
}

// Close closes the database; a throwaway store is removed.
func (s *Store) Close() error {
	var errs []error
	if s.decisions != nil {
		s.decisions.closeQueue()
	}
	if s.r != nil {
		s.rq.Close()
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		// Fold the WAL back so the file is self-contained for the next start or a copy.
		_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, s.w.Close())
	}
	if s.tmpDir != "" {
		errs = append(errs, os.RemoveAll(s.tmpDir))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// DB returns the writer and the read pool, for packages (auth) that keep their own tables in
// the same file. Writes must go through the writer.
func (s *Store) DB() (writer, reader *sql.DB) { return s.w, s.r }

// Migration is one named schema step. Names sort in application order.
type Migration struct {
	Name string
	SQL  string
}

func (s *Store) migrations() ([]Migration, error) {
	var ms []Migration
	err := fs.WalkDir(migrationFS, "migrations", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := migrationFS.ReadFile(p)
		ms = append(ms, Migration{Name: "store/" + d.Name(), SQL: string(b)})
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ms, func(a, b Migration) int { return strings.Compare(a.Name, b.Name) })
	return ms, nil
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE name = ?`, m.Name).Scan(&one)
			if err == nil {
				return nil
			}
			if err != sql.ErrNoRows {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
				m.Name, s.now().UnixMicro())
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a write transaction: begin, defer rollback, commit.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// The per-transaction state (pending rows, bound statements) is cleared while this
	// transaction still holds the writer connection: once Commit or Rollback gives it up,
	// the next transaction may already be using that state.
	done := false
	defer func() {
		if !done { // fn panicked
			s.clearTxState()
			tx.Rollback()
		}
	}()
	s.pendingText = nil
	err = fn(tx)
	if err == nil {
		err = s.flushIndex(ctx, tx)
	}
	if err == nil {
		err = s.flushText(ctx, tx)
	}
	s.clearTxState()
	done = true
	if err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// clearTxState forgets what the current write transaction kept between its statements.
func (s *Store) clearTxState() {
	s.pending.reset()
	s.txs.reset()
	s.pendingText = nil
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.stmtCurrent, `SELECT c.rid, c.version, c.deleted, h.json FROM resource_current c
			JOIN resource_history h ON h.hid = c.hid WHERE c.type = ? AND c.id = ?`},
		{&s.stmtHistory, `INSERT INTO resource_history (hid, rid, type, id, version, last_updated, method, deleted, json)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.stmtInsert, `INSERT INTO resource_current (rid, type, id, version, last_updated, deleted, hid, patient)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?)`},
		{&s.stmtUpdate, `UPDATE resource_current SET version = ?, last_updated = ?, deleted = ?, hid = ?, patient = ? WHERE rid = ?`},
		{&s.stmtMaxIDs, `SELECT (SELECT coalesce(max(rid), 0) FROM resource_current), (SELECT coalesce(max(hid), 0) FROM resource_history)`},
	} {
		st, err := s.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return err
		}
		*p.dst = st
	}
	return s.prepareDecisions(ctx)
}

// txState is what one write transaction keeps between its statements: the hot statements
// bound to it (binding costs an allocation and a lock per call), and the next rid and hid,
// read once under the write lock instead of a max() query per resource.
type txState struct {
	bound            map[*sql.Stmt]*sql.Stmt
	lastRID, lastHID int64
	counted          bool
}

func (t *txState) reset() {
	clear(t.bound)
	t.counted = false
}

// stmt returns st bound to tx.
func (s *Store) stmt(ctx context.Context, tx *sql.Tx, st *sql.Stmt) *sql.Stmt {
	if b, ok := s.txs.bound[st]; ok {
		return b
	}
	if s.txs.bound == nil {
		s.txs.bound = map[*sql.Stmt]*sql.Stmt{}
	}
	b := tx.StmtContext(ctx, st)
	s.txs.bound[st] = b
	return b
}

// nextIDs allocates the rid (when newRID) and the hid of a write.
func (s *Store) nextIDs(ctx context.Context, tx *sql.Tx, newRID bool) (rid, hid int64, err error) {
	t := &s.txs
	if !t.counted {
		if err := s.stmt(ctx, tx, s.stmtMaxIDs).QueryRowContext(ctx).Scan(&t.lastRID, &t.lastHID); err != nil {
			return 0, 0, err
		}
		t.counted = true
	}
	if newRID {
		t.lastRID++
		rid = t.lastRID
	}
	t.lastHID++
	return rid, t.lastHID, nil
}
