-- The index tables become clustered by resource: WITHOUT ROWID, keyed (rid, pid, n) where
-- n numbers a resource's rows of one table. The table is then itself the index that
-- re-indexing, deletes and per-row checks use, one B-tree fewer to write per index row
-- than a rowid table plus an index on rid (idx_composite was built this way). The rows
-- are rebuilt from the resources: Open re-indexes, as index_version changes with this.
DROP TABLE idx_string;
DROP TABLE idx_token;
DROP TABLE idx_reference;
DROP TABLE idx_date;
DROP TABLE idx_number;
DROP TABLE idx_uri;
DROP TABLE compartment;

CREATE TABLE idx_string (pid INTEGER NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL, rid INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, n)) WITHOUT ROWID;
CREATE INDEX idx_string_lookup ON idx_string (pid, norm, rid);

CREATE TABLE idx_token (pid INTEGER NOT NULL, system TEXT, code TEXT, text TEXT, rid INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, n)) WITHOUT ROWID;
CREATE INDEX idx_token_lookup ON idx_token (pid, code, system, rid);

CREATE TABLE idx_reference (pid INTEGER NOT NULL, target_type TEXT, target_id TEXT, url TEXT, rid INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, n)) WITHOUT ROWID;
CREATE INDEX idx_reference_lookup ON idx_reference (pid, target_id, target_type, rid);
CREATE INDEX idx_reference_target ON idx_reference (target_type, target_id);

CREATE TABLE idx_date (pid INTEGER NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL, rid INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, n)) WITHOUT ROWID;
CREATE INDEX idx_date_low ON idx_date (pid, low, high, rid);
CREATE INDEX idx_date_high ON idx_date (pid, high, low, rid);

CREATE TABLE idx_number (pid INTEGER NOT NULL, value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
  system TEXT, code TEXT, rid INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, n)) WITHOUT ROWID;
CREATE INDEX idx_number_lookup ON idx_number (pid, value, rid);

CREATE TABLE idx_uri (pid INTEGER NOT NULL, uri TEXT NOT NULL, rid INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, n)) WITHOUT ROWID;
CREATE INDEX idx_uri_lookup ON idx_uri (pid, uri, rid);

-- A resource is in a patient's compartment at most once.
CREATE TABLE compartment (patient_id TEXT NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (rid, patient_id)) WITHOUT ROWID;
CREATE INDEX compartment_patient ON compartment (patient_id, rid);
