-- The decision log: why each FHIR request was allowed or denied, for the teaching pages
-- and for debugging an app's scopes. Bounded: old rows are pruned as new ones arrive.
CREATE TABLE decision_log (
  id       INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,   -- unix microseconds
  method   TEXT NOT NULL,
  path     TEXT NOT NULL,
  client   TEXT NOT NULL DEFAULT '',
  user     TEXT NOT NULL DEFAULT '',
  patient  TEXT NOT NULL DEFAULT '',
  scopes   TEXT NOT NULL DEFAULT '',
  decision TEXT NOT NULL,      -- allow or deny
  status   INTEGER NOT NULL,
  reason   TEXT NOT NULL DEFAULT ''
);
