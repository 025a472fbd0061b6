-- The composite lookup index also carries the second component's values (a quantity's
-- value, a concept's code), so "code X with a value above Y" is answered from the index
-- alone instead of one table lookup per tuple of code X. rid stays right after the code:
-- the per-row check of a composite criterion seeks on (pid, code, system, rid).
DROP INDEX idx_composite_lookup;
CREATE INDEX idx_composite_lookup ON idx_composite (pid, c1, s1, rid, lo2, c2);
