-- References are found by (pid, target_id, target_type) in idx_reference_lookup on every
-- path, _revinclude=* included (it names the parameters that may point at the targets'
-- types), so the (target_type, target_id) index only cost writes: the largest index build
-- of a bulk load and a B-tree insert per reference on every write. A bulk load that was
-- killed with its indexes down must not bring it back either.
DROP INDEX IF EXISTS idx_reference_target;
UPDATE store_meta SET value = json_remove(CAST(value AS TEXT), '$.idx_reference_target') WHERE key = 'deferred_indexes';
