package fhirstore

import (
	clist "container/list"
	"context"
	"database/sql"
	"sync"
)

// stmtCache is a querier over the read pool that keeps prepared statements by SQL text.
// The planner emits parameterised SQL, so the same search shape repeats with new values;
// compiling it again cost more than running it (a patient-scoped search spent a quarter of
// its time in sqlite3_prepare). Bounded: the least recently used statement is closed.
type stmtCache struct {
	db  *sql.DB
	max int

	mu    sync.Mutex
	lru   *clist.List // of *cachedStmt, most recent first
	bySQL map[string]*clist.Element
}

type cachedStmt struct {
	sql     string
	stmt    *sql.Stmt
	users   int  // callers between get and the end of their Query/Exec call
	evicted bool // out of the cache; closed when users reaches 0
}

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, lru: clist.New(), bySQL: map[string]*clist.Element{}}
}

// get returns the prepared statement for query, preparing it on a miss. The caller must
// call put once its Query or Exec call has returned: open Rows keep the statement alive
// on their own (database/sql tracks that), so only that window needs guarding.
func (c *stmtCache) get(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	if e, ok := c.bySQL[query]; ok {
		c.lru.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		cs.users++
		c.mu.Unlock()
		return cs, nil
	}
	c.mu.Unlock()
	stmt, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.bySQL[query]; ok { // prepared concurrently: keep the first
		stmt.Close()
		c.lru.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		cs.users++
		return cs, nil
	}
	cs := &cachedStmt{sql: query, stmt: stmt, users: 1}
	c.bySQL[query] = c.lru.PushFront(cs)
	for c.lru.Len() > c.max {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.bySQL, old.sql)
		old.evicted = true
		if old.users == 0 {
			old.stmt.Close()
		}
	}
	return cs, nil
}

func (c *stmtCache) put(cs *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.users--
	if cs.evicted && cs.users == 0 {
		cs.stmt.Close()
	}
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	cs, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	defer c.put(cs)
	return cs.stmt.QueryContext(ctx, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	cs, err := c.get(ctx, query)
	if err != nil {
		// sql.Row carries its error only from a query; let the pool report it.
		return c.db.QueryRowContext(ctx, query, args...)
	}
	defer c.put(cs)
	return cs.stmt.QueryRowContext(ctx, args...)
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	cs, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	defer c.put(cs)
	return cs.stmt.ExecContext(ctx, args...)
}

// Close closes every cached statement.
func (c *stmtCache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.lru.Init()
	clear(c.bySQL)
}
