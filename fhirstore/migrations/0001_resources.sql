-- Current version of every resource (deleted ones keep a tombstone row so reads give 410).
-- rid is the internal row id every index table keys on: integers keep the indexes small.
CREATE TABLE resources (
  rid          INTEGER PRIMARY KEY,
  type         TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,          -- unix microseconds, UTC
  deleted      INTEGER NOT NULL DEFAULT 0,
  json         BLOB    NOT NULL,          -- the resource as served (meta set); '' for a tombstone
  UNIQUE (type, id)
);
CREATE INDEX resources_type_updated ON resources (type, last_updated);

-- Every version ever written, for vread and history. method is POST, PUT, PATCH or DELETE.
CREATE TABLE resource_history (
  hid          INTEGER PRIMARY KEY,       -- global, monotonic: orders system history
  rid          INTEGER NOT NULL,
  type         TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  method       TEXT    NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  json         BLOB    NOT NULL,
  UNIQUE (type, id, version)
);
CREATE INDEX resource_history_type_updated ON resource_history (type, last_updated);
CREATE INDEX resource_history_updated ON resource_history (last_updated);
