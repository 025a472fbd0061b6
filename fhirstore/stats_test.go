package fhirstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// The planner keeps only sqlite_stat1: with sqlite_stat4 samples SQLite re-prepares every
// statement binding an indexed value on each run, which tripled the cost of a read by id.
// Optimize must not gather samples, and a database that has them (from an older fhirbox)
// loses them when opened.
func TestPlannerStatisticsHaveNoSamples(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s := openAt(t, path)
	if _, err := seedInto(ctx, s, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Optimize(ctx); err != nil {
		t.Fatal(err)
	}
	stat1, stat4 := countStats(t, s.w)
	if stat1 == 0 || stat4 != 0 {
		t.Fatalf("after Optimize: %d sqlite_stat1 rows (want some), %d sqlite_stat4 rows (want none)", stat1, stat4)
	}
	s.Close()

	// An unlimited ANALYZE, as older versions ran, leaves samples behind.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
	if _, stat4 := countStats(t, db); stat4 == 0 {
		t.Fatal("an unlimited ANALYZE gathered no sqlite_stat4 samples: this test no longer tests anything")
	}
	db.Close()

	s = openAt(t, path)
	defer s.Close()
	if stat1, stat4 := countStats(t, s.w); stat1 == 0 || stat4 != 0 {
		t.Fatalf("after Open: %d sqlite_stat1 rows (want some), %d sqlite_stat4 rows (want none)", stat1, stat4)
	}
	if _, err := s.Read(ctx, "Patient", "pat-000001"); err != nil {
		t.Fatal(err)
	}
}

func countStats(t *testing.T, db *sql.DB) (stat1, stat4 int) {
	t.Helper()
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_stat1`).Scan(&stat1); err != nil {
		t.Fatal(err)
	}
	var exists int
	db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'`).Scan(&exists)
	if exists > 0 {
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_stat4`).Scan(&stat4); err != nil {
			t.Fatal(err)
		}
	}
	return stat1, stat4
}
