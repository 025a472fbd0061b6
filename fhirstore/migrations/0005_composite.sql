-- Composite parameters (Observation code-value-quantity, component-code-value-quantity,
-- Group characteristic-value...): one row per tuple, the values of all its components
-- side by side, so "this code AND this value" is a condition on one row and can only
-- match a code and a value taken from the same component. Component n (1..3) uses the
-- columns its type needs, with the encodings of the plain tables:
--   token     sN system, cN code
--   string    sN normalized value
--   reference sN target type, cN target id, xN absolute url
--   uri       cN uri
--   number    loN value
--   quantity  sN system, cN code (or the unit when there is no code), xN unit, loN value
--   date      loN low, hiN high (unix microseconds)
-- Unused columns are NULL. lo/hi have no declared type so integers (dates) and reals
-- (numbers) are stored and compared as given. n numbers a resource's tuples. Clustered by
-- (rid, pid, n), the table is itself the index that re-indexing and per-row checks use,
-- and rows arrive in rid order: one B-tree fewer to write than a rowid table with an
-- index on rid.
CREATE TABLE idx_composite (
  pid INTEGER NOT NULL,
  s1 TEXT, c1 TEXT, x1 TEXT, lo1, hi1,
  s2 TEXT, c2 TEXT, x2 TEXT, lo2, hi2,
  s3 TEXT, c3 TEXT, x3 TEXT, lo3, hi3,
  rid INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, n)
) WITHOUT ROWID;
-- Every R4 composite but one starts with a token (the code), the selective part.
CREATE INDEX idx_composite_lookup ON idx_composite (pid, c1, s1, rid);
