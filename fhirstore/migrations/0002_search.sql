-- Search parameters get small stable integer ids: index rows repeat them millions of times.
CREATE TABLE search_param (
  pid  INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  code TEXT NOT NULL,
  UNIQUE (type, code)
);

-- One table per value shape. Every row: the parameter, the value, the resource's rid.
-- Each has a lookup index led by (pid, value) and an index on rid for re-indexing.
CREATE TABLE idx_string (pid INTEGER NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL, rid INTEGER NOT NULL);
CREATE INDEX idx_string_lookup ON idx_string (pid, norm, rid);
CREATE INDEX idx_string_rid ON idx_string (rid, pid);

-- token: system and code; display/text for :text (normalized).
CREATE TABLE idx_token (pid INTEGER NOT NULL, system TEXT, code TEXT, text TEXT, rid INTEGER NOT NULL);
CREATE INDEX idx_token_lookup ON idx_token (pid, code, system, rid);
CREATE INDEX idx_token_rid ON idx_token (rid, pid);

-- reference: target type and id for relative references; url for absolute/canonical ones.
CREATE TABLE idx_reference (pid INTEGER NOT NULL, target_type TEXT, target_id TEXT, url TEXT, rid INTEGER NOT NULL);
CREATE INDEX idx_reference_lookup ON idx_reference (pid, target_id, target_type, rid);
CREATE INDEX idx_reference_target ON idx_reference (target_type, target_id);
CREATE INDEX idx_reference_rid ON idx_reference (rid, pid);

-- date: every value as a closed range [low, high] of unix microseconds (UTC).
CREATE TABLE idx_date (pid INTEGER NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL, rid INTEGER NOT NULL);
CREATE INDEX idx_date_low ON idx_date (pid, low, high, rid);
CREATE INDEX idx_date_high ON idx_date (pid, high, low, rid);
CREATE INDEX idx_date_rid ON idx_date (rid, pid);

-- number and quantity: the value and its implicit precision range.
CREATE TABLE idx_number (pid INTEGER NOT NULL, value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
  system TEXT, code TEXT, rid INTEGER NOT NULL);
CREATE INDEX idx_number_lookup ON idx_number (pid, value, rid);
CREATE INDEX idx_number_rid ON idx_number (rid, pid);

CREATE TABLE idx_uri (pid INTEGER NOT NULL, uri TEXT NOT NULL, rid INTEGER NOT NULL);
CREATE INDEX idx_uri_lookup ON idx_uri (pid, uri, rid);
CREATE INDEX idx_uri_rid ON idx_uri (rid, pid);

-- Patient compartment membership, from the R4 Patient CompartmentDefinition.
CREATE TABLE compartment (patient_id TEXT NOT NULL, rid INTEGER NOT NULL);
CREATE INDEX compartment_patient ON compartment (patient_id, rid);
CREATE INDEX compartment_rid ON compartment (rid);
