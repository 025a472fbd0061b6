package fhirstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// indexFingerprint is what a store's search indexes hold: per index table its row count
// and a digest of its rows (without the row ordinal n), then the index definitions.
func indexFingerprint(t *testing.T, s *Store) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, tb := range indexTables {
		rows, err := s.w.QueryContext(ctx, `SELECT * FROM `+tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			// n only tells a resource's rows apart; which row gets which n is arbitrary.
			if cols[len(cols)-1] == "n" {
				vals = vals[:len(vals)-1]
			}
			lines = append(lines, fmt.Sprint(vals...))
		}
		rows.Close()
		slices.Sort(lines)
		fmt.Fprintf(&b, "%s:%d:%x ", tb, len(lines), sha256.Sum256([]byte(strings.Join(lines, "\n"))))
	}
	rows, err := s.w.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ddl string
		rows.Scan(&ddl)
		b.WriteString("\n" + ddl)
	}
	return b.String()
}

// searchAnswers runs searches that touch every index table and returns their ids.
func searchAnswers(t *testing.T, s *Store) string {
	t.Helper()
	var out []string
	for _, c := range []struct{ typ, q string }{
		{"Patient", "family=mül"},
		{"Observation", "code=http://loinc.org|2339-0"},
		{"Observation", "subject=Patient/p1"},
		{"Observation", "date=ge2020-03-01"},
		{"Observation", "value-quantity=gt5"},
		{"Patient", "_profile=http://example.org/fhir/StructureDefinition/my-patient"},
		{"Observation", "patient.family=müller"},
	} {
		res, err := s.Search(context.Background(), SearchRequest{Type: c.typ, Params: q(strings.Split(c.q, "&")...)})
		if err != nil {
			t.Fatalf("%s?%s: %v", c.typ, c.q, err)
		}
		m, _ := refsOf(res)
		out = append(out, c.typ+"?"+c.q+" → "+strings.Join(m, ","))
	}
	// The compartment: everything of p1.
	res, err := s.Search(WithAccess(context.Background(), p1Only()), SearchRequest{Params: q("_count=1000")})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := refsOf(res)
	return strings.Join(append(out, "compartment p1 → "+strings.Join(m, ",")), "\n")
}

// TestReindex: re-indexing rebuilds exactly the rows the writes made, with the same
// indexes, and searches answer as before.
func TestReindex(t *testing.T) {
	s := newFixtureStore(t).Store
	ctx := context.Background()
	before, answers := indexFingerprint(t, s), searchAnswers(t, s)
	if !strings.Contains(answers, "Observation/obs1") || !strings.Contains(answers, "compartment p1 → Encounter/e1") {
		t.Fatalf("the fixture searches find too little:\n%s", answers)
	}
	// Lose some rows, as a store indexed by other definitions would have other rows.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM idx_token WHERE n % 2 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM compartment`); err != nil {
		t.Fatal(err)
	}
	n, err := s.Reindex(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var live int
	s.w.QueryRowContext(ctx, `SELECT count(*) FROM resource_current WHERE deleted = 0`).Scan(&live)
	if n != live {
		t.Errorf("Reindex indexed %d resources, want all %d", n, live)
	}
	if after := indexFingerprint(t, s); after != before {
		t.Errorf("after Reindex the indexes differ:\nbefore %s\nafter  %s", before, after)
	}
	if got := searchAnswers(t, s); got != answers {
		t.Errorf("after Reindex searches answer\n%s\nwant\n%s", got, answers)
	}
}

// TestOpenReindexesStaleDefinitions: a database whose search_param ids are not the current
// definitions' is re-indexed when it is opened, instead of answering from wrong rows.
func TestOpenReindexesStaleDefinitions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixture {
		if _, _, err := s.Update(ctx, f.typ, f.id, []byte(f.body), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	answers := searchAnswers(t, s)
	// An older definitions table: one parameter less, every index row of it gone.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM search_param WHERE pid = (SELECT max(pid) FROM search_param)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM idx_token`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatalf("reopening a store indexed with other definitions: %v", err)
	}
	defer s.Close()
	if got := searchAnswers(t, s); got != answers {
		t.Errorf("after the re-index on open searches answer\n%s\nwant\n%s", got, answers)
	}
	if stale, err := s.assignPIDs(ctx); err != nil || stale {
		t.Errorf("search_param still stale after the re-index: %v %v", stale, err)
	}
}

// TestBulkLoad: a load with deferred indexes ends with exactly the indexes and rows of an
// ordinary load, and a load killed midway is repaired by the next Open.
func TestBulkLoad(t *testing.T) {
	ctx := context.Background()
	plain := newFixtureStore(t).Store
	want, answers := indexFingerprint(t, plain), searchAnswers(t, plain)

	bulk := openTestStore(t)
	err := bulk.BulkLoad(ctx, true, func() error {
		var dropped int
		bulk.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('idx_string_lookup', 'idx_date_low', 'compartment_patient')`).Scan(&dropped)
		var kept int
		bulk.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'idx_token_lookup'`).Scan(&kept)
		if dropped != 0 || kept != 1 {
			t.Errorf("during the bulk load: %d lookup indexes still up (want 0), token index up: %d (want 1)", dropped, kept)
		}
		for _, f := range fixture {
			if _, _, err := bulk.Update(ctx, f.typ, f.id, []byte(f.body), WriteOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := indexFingerprint(t, bulk); got != want {
		t.Errorf("after BulkLoad:\n%s\nwant\n%s", got, want)
	}
	if got := searchAnswers(t, bulk); got != answers {
		t.Errorf("after BulkLoad searches answer\n%s\nwant\n%s", got, answers)
	}

	// Killed midway: the indexes are down and recorded; Open builds them.
	path := filepath.Join(t.TempDir(), "k.db")
	k := openAt(t, path)
	full := indexFingerprint(t, k)
	if err := k.deferIndexes(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if err := k.deferIndexes(ctx, func(string) bool { return false }); ErrorCode(err) != EConflict {
		t.Errorf("a second bulk load on the same store: %v, want EConflict", err)
	}
	if indexFingerprint(t, k) == full {
		t.Fatal("deferIndexes dropped nothing")
	}
	k.Close()
	k = openAt(t, path)
	defer k.Close()
	if got := indexFingerprint(t, k); got != full {
		t.Errorf("after reopening a killed bulk load:\n%s\nwant\n%s", got, full)
	}
}

// TestReferenceTargetIndexDropped: migration 0010 removes idx_reference_target from a store
// that has it, and from the indexes a killed bulk load left to rebuild, so the next Open
// does not bring it back; references are still found from either side.
func TestReferenceTargetIndexDropped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s := openAt(t, path)
	// The state an older fhirbox left after a load killed with its indexes down: the index
	// recorded as deferred (and dropped), next to one that really is down.
	for _, q := range []string{
		`DELETE FROM schema_migrations WHERE name = 'store/0010_drop_reference_target.sql'`,
		`DROP INDEX idx_date_high`,
		`INSERT INTO store_meta (key, value) VALUES ('deferred_indexes', CAST('{"idx_reference_target":"CREATE INDEX idx_reference_target ON idx_reference (target_type, target_id)","idx_date_high":"CREATE INDEX idx_date_high ON idx_date (pid, high, low, rid)"}' AS BLOB))`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	s.Close()
	s = openAt(t, path)
	defer s.Close()
	indexes := map[string]bool{}
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		indexes[n] = true
	}
	rows.Close()
	if indexes["idx_reference_target"] || !indexes["idx_date_high"] || !indexes["idx_reference_lookup"] {
		t.Errorf("after the migration and the repair: target %v, date_high %v, reference_lookup %v; want false, true, true",
			indexes["idx_reference_target"], indexes["idx_date_high"], indexes["idx_reference_lookup"])
	}
	for _, b := range []string{`{"resourceType":"Patient","id":"rt1"}`,
		`{"resourceType":"Observation","id":"rt-o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/rt1"}}`} {
		m, _ := decodeJSON([]byte(b))
		if _, _, err := s.Update(ctx, m["resourceType"].(string), m["id"].(string), []byte(b), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		typ  string
		p    url.Values
		want int
	}{
		{"Patient", q("_id=rt1", "_revinclude=*"), 2},
		{"Patient", q("_id=rt1", "_revinclude=Observation:subject"), 2},
		{"Observation", q("_id=rt-o", "_include=*"), 2},
		{"Observation", q("subject=Patient/rt1"), 1},
	} {
		res, err := s.Search(ctx, SearchRequest{Type: c.typ, Params: c.p})
		if err != nil || len(res.Entries) != c.want {
			t.Errorf("%s?%s: %d entries, %v; want %d", c.typ, c.p.Encode(), len(res.Entries), err, c.want)
		}
	}
}

// TestBulkLoadJournal: the first load into a store its Open created runs without a WAL
// and ends back in WAL mode with its mark gone; a load into a store with data, or into an
// empty one created earlier, keeps the WAL; a
// failed first load still rolls back its last transaction; a store whose unjournaled first
// load never ended is refused at Open with what to do, while one left by a load that kept
// the WAL opens.
func TestBulkLoadJournal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s := openAt(t, path)
	mode := func() string {
		var m string
		if err := s.w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	marks := func() int {
		var n int
		s.w.QueryRowContext(ctx, `SELECT count(*) FROM store_meta WHERE key = 'bulk_load'`).Scan(&n)
		return n
	}
	put := func(id string) error {
		_, _, err := s.Update(ctx, "Patient", id, []byte(`{"resourceType":"Patient","id":"`+id+`"}`), WriteOptions{})
		return err
	}
	// merges reads the full-text index's merge settings (FTS5 keeps them in its config
	// table; absent, they are the defaults).
	merges := func() textMerges {
		m := defaultMerges
		s.w.QueryRowContext(ctx, `SELECT v FROM search_text_config WHERE k = 'automerge'`).Scan(&m.automerge)
		s.w.QueryRowContext(ctx, `SELECT v FROM search_text_config WHERE k = 'crisismerge'`).Scan(&m.crisismerge)
		return m
	}
	for _, c := range []struct{ id, during string }{{"first", "memory"}, {"second", "wal"}} {
		var during, mark string
		var merging textMerges
		if err := s.BulkLoad(ctx, false, func() error {
			during, merging = mode(), merges()
			s.w.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'bulk_load'`).Scan(&mark)
			return put(c.id)
		}); err != nil {
			t.Fatal(err)
		}
		if merging != loadMerges || merges() != defaultMerges {
			t.Errorf("load of %s: full-text merges %v during the load, %v after; want %v, then %v", c.id, merging, merges(), loadMerges, defaultMerges)
		}
		if during != c.during || mark != c.during || mode() != "wal" || marks() != 0 {
			t.Errorf("load of %s: journal %q (mark %q) during the load, %q after, %d marks left; want %q, then wal and none",
				c.id, during, mark, mode(), marks(), c.during)
		}
		// The writer's settings for serving are back: fsync at checkpoints (synchronous 1 =
		// NORMAL), temporary tables in memory (temp_store 2), the full page cache.
		var sync, temp, cache int
		s.w.QueryRowContext(ctx, `SELECT (SELECT synchronous FROM pragma_synchronous), (SELECT temp_store FROM pragma_temp_store), (SELECT cache_size FROM pragma_cache_size)`).Scan(&sync, &temp, &cache)
		if sync != 1 || temp != 2 || cache != cacheKiB {
			t.Errorf("after the load of %s: synchronous %d, temp_store %d, cache_size %d; want 1, 2, %d", c.id, sync, temp, cache, cacheKiB)
		}
		if _, err := s.Read(ctx, "Patient", c.id); err != nil {
			t.Errorf("Patient/%s after its load: %v", c.id, err)
		}
	}
	s.Close()

	// A database with no resources that an earlier Open created (a server may have put its
	// users and clients in it) keeps the WAL.
	used := filepath.Join(t.TempDir(), "used.db")
	openAt(t, used).Close()
	s = openAt(t, used)
	var during string
	if err := s.BulkLoad(ctx, false, func() error { during = mode(); return put("p") }); err != nil || during != "wal" {
		t.Errorf("first load into a database created by an earlier Open: journal %q, %v; want wal", during, err)
	}
	s.Close()

	// A failed first load keeps what it committed, rolls back the rest, ends in WAL mode.
	s = openAt(t, filepath.Join(t.TempDir(), "s2.db"))
	err := s.BulkLoad(ctx, false, func() error {
		w := s.NewBatchWriter(ctx, BatchOptions{Size: 20})
		for i := range 39 {
			id := fmt.Sprintf("p%d", i)
			w.Put("Patient", id, []byte(`{"resourceType":"Patient","id":"`+id+`"}`))
		}
		w.Put("Patient", "p38", []byte(`{"resourceType":"Patient","id":"p38"}`)) // the second batch writes p38 twice
		_, err := w.Close()
		return err
	})
	n, _ := s.Counts(ctx)
	if err == nil || n["Patient"] != 20 || mode() != "wal" || marks() != 0 {
		t.Errorf("failed first load: err %v, %d Patients, journal %s, %d marks; want an error, the first batch's 20, wal, none",
			err, n["Patient"], mode(), marks())
	}
	s.Close()

	// The marks a killed load leaves behind.
	for _, c := range []struct{ journal, wantErr string }{{"wal", ""}, {"memory", "did not finish"}} {
		s = openAt(t, path)
		if _, err := s.w.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES ('bulk_load', ?)`, c.journal); err != nil {
			t.Fatal(err)
		}
		if err := s.textMerges(ctx, loadMerges); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = Open(ctx, Options{Path: path})
		if c.wantErr == "" {
			if err != nil {
				t.Fatalf("Open after a killed load that kept the WAL: %v", err)
			}
			if marks() != 0 || merges() != defaultMerges {
				t.Errorf("Open after a killed load that kept the WAL: %d marks, full-text merges %v; want none and %v", marks(), merges(), defaultMerges)
			}
			s.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "remove it") {
			t.Errorf("Open after a killed unjournaled load: %v; want an error saying it %s and what to do", err, c.wantErr)
		}
		if s != nil {
			s.Close()
		}
	}
}
