-- Every version ever written, for read, vread and history. The JSON of a version is stored
-- once, here; the current version is found through resource_current.hid. method is POST,
-- PUT, PATCH or DELETE; a deletion has deleted = 1 and empty json.
CREATE TABLE resource_history (
  hid          INTEGER PRIMARY KEY,       -- global, monotonic: orders system history
  rid          INTEGER NOT NULL,
  type         TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,          -- unix microseconds, UTC
  method       TEXT    NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  json         BLOB    NOT NULL
);
CREATE UNIQUE INDEX resource_history_version ON resource_history (type, id, version);
CREATE INDEX resource_history_type ON resource_history (type, hid);

-- The current version of every resource (deleted ones keep a tombstone so reads give 410).
-- rid is the internal id every index table keys on: integers keep the indexes small.
CREATE TABLE resource_current (
  rid          INTEGER PRIMARY KEY,
  type         TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  hid          INTEGER NOT NULL,          -- resource_history row of the current version
  UNIQUE (type, id)
);
CREATE INDEX resource_current_type_updated ON resource_current (type, last_updated);

-- resources is what readers (the search engine among them) query: the current version with
-- its JSON.
CREATE VIEW resources AS
  SELECT c.rid, c.type, c.id, c.version, c.last_updated, c.deleted, h.json
  FROM resource_current c JOIN resource_history h ON h.hid = c.hid;
