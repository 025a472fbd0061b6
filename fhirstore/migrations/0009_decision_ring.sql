-- The decision log, made cheaper to write (see decisions.go).
--
-- Rows reference who asked (client, user, patient, scopes) and what was asked and
-- answered (method, decision, status, reason) by integer id: a busy app repeats the same
-- few of each, and the writer binds two cached ids where it bound eight strings. Tuples
-- are not unique: the writer's cache is their only index. It deletes the tuples no row
-- references any more.
--
-- The log is a ring: decision number seq (1, 2, 3 ...) goes into slot seq % slots and
-- replaces the one logged slots decisions before it, so nothing is pruned. On a table
-- without secondary indexes SQLite overwrites that row in place, where pruning the oldest
-- rows took a fifth of the writer's time. decision_head holds the newest seq and the
-- ring's size; Open lays the ring out again when MaxDecisions changes.
--
-- Existing rows are kept: their ids had no gaps, so an id serves as the row's seq.
CREATE TABLE decision_who (
  id      INTEGER PRIMARY KEY,
  client  TEXT NOT NULL,
  user    TEXT NOT NULL,
  patient TEXT NOT NULL,
  scopes  TEXT NOT NULL
);
CREATE TABLE decision_what (
  id       INTEGER PRIMARY KEY,
  method   TEXT NOT NULL,
  decision TEXT NOT NULL,      -- allow or deny
  status   INTEGER NOT NULL,
  reason   TEXT NOT NULL
);
CREATE TABLE decision_head (
  one   INTEGER PRIMARY KEY CHECK (one = 1),
  seq   INTEGER NOT NULL,      -- the newest decision's number, 0 before the first
  slots INTEGER NOT NULL       -- the ring's size
);
INSERT INTO decision_who (client, user, patient, scopes)
  SELECT DISTINCT client, user, patient, scopes FROM decision_log;
INSERT INTO decision_what (method, decision, status, reason)
  SELECT DISTINCT method, decision, status, reason FROM decision_log;
INSERT INTO decision_head (one, seq, slots) SELECT 1, coalesce(max(id), 0), 10000 FROM decision_log;

CREATE TABLE decision_ring (
  slot INTEGER PRIMARY KEY,   -- seq % decision_head.slots
  at   INTEGER NOT NULL,      -- unix microseconds
  path TEXT NOT NULL,
  who  INTEGER NOT NULL,      -- decision_who.id
  what INTEGER NOT NULL       -- decision_what.id
);
INSERT INTO decision_ring (slot, at, path, who, what)
  SELECT l.id % 10000, l.at, l.path, w.id, x.id FROM decision_log l
  JOIN decision_who w ON w.client = l.client AND w.user = l.user AND w.patient = l.patient AND w.scopes = l.scopes
  JOIN decision_what x ON x.method = l.method AND x.decision = l.decision AND x.status = l.status AND x.reason = l.reason
  WHERE l.id > (SELECT seq FROM decision_head) - 10000;
DROP TABLE decision_log;
ALTER TABLE decision_ring RENAME TO decision_log;
