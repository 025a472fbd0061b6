package fhirstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// staleCurrentPatients counts the resource_current rows whose patient column disagrees
// with their compartment rows (see migrations/0011_current_patient.sql).
func staleCurrentPatients(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.w.QueryRow(`SELECT count(*) FROM resource_current r WHERE r.patient IS NOT ` + currentPatientOf("r")).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func currentPatient(t *testing.T, s *Store, typ, id string) any {
	t.Helper()
	var p any
	if err := s.w.QueryRow(`SELECT patient FROM resource_current WHERE type = ? AND id = ?`, typ, id).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// openFixtureFile opens a store at path holding the search and access fixtures.
func openFixtureFile(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	loadFixture(t, s, fixture)
	loadFixture(t, s, accessFixture)
	return s
}

// reopen closes s and opens its file again, running whatever Open does to an older file.
func reopen(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	s.Close()
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func patientOnly(id string) *Access {
	return &Access{Rules: []AccessRule{{Scope: "patient/*.rs", Type: "*", Interactions: "rs", Patient: id}}, Level: "patient", Patient: id}
}

// The patient column that confined reads and searches test first must follow every write:
// a resource in two compartments (NULL: both patients see it through the compartment
// table), one moved to another patient, one deleted, a transaction's deferred creates, a
// re-index, and a database from before the column.
func TestCurrentPatientColumn(t *testing.T) {
	ctx := context.Background()
	s := newFixtureStore(t)
	if n := staleCurrentPatients(t, s.Store); n != 0 {
		t.Fatalf("%d stale rows after loading the fixture", n)
	}
	// performer is a Patient compartment parameter of Observation too.
	shared := `{"resourceType":"Observation","id":"shared","status":"final",
		"code":{"coding":[{"system":"http://local","code":"SH"}]},
		"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Patient/p2"}]}`
	if _, _, err := s.Update(ctx, "Observation", "shared", []byte(shared), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := currentPatient(t, s.Store, "Observation", "shared"); p != nil {
		t.Fatalf("patient of a resource in two compartments = %v, want NULL", p)
	}
	visible := func(patient, id string) bool {
		t.Helper()
		actx := WithAccess(ctx, patientOnly(patient))
		_, err := s.Read(actx, "Observation", id)
		var e *Error
		if err != nil && !(errors.As(err, &e) && e.Code == ENotFound) {
			t.Fatalf("read Observation/%s as %s: %v", id, patient, err)
		}
		res, serr := s.Search(actx, SearchRequest{Type: "Observation", Params: q("code=SH,SH2")})
		if serr != nil {
			t.Fatal(serr)
		}
		found := false
		for _, e := range res.Entries {
			found = found || e.ID == id
		}
		if found != (err == nil) {
			t.Fatalf("Observation/%s as %s: read says %v, search says %v", id, patient, err == nil, found)
		}
		return err == nil
	}
	if !visible("p1", "shared") || !visible("p2", "shared") || visible("p3", "shared") {
		t.Errorf("shared Observation: p1 %v, p2 %v, p3 %v; want true, true, false",
			visible("p1", "shared"), visible("p2", "shared"), visible("p3", "shared"))
	}

	// Moved to p2 alone: p1 loses it.
	moved := strings.Replace(strings.Replace(shared, `"Patient/p1"`, `"Patient/p2"`, 1), `,"performer":[{"reference":"Patient/p2"}]`, "", 1)
	if _, _, err := s.Update(ctx, "Observation", "shared", []byte(moved), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := currentPatient(t, s.Store, "Observation", "shared"); p != "p2" {
		t.Fatalf("patient after the move = %v, want p2", p)
	}
	if visible("p1", "shared") || !visible("p2", "shared") {
		t.Errorf("moved Observation: p1 %v, p2 %v; want false, true", visible("p1", "shared"), visible("p2", "shared"))
	}

	// Deleted: in no compartment.
	if err := s.Delete(ctx, "Observation", "shared", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := currentPatient(t, s.Store, "Observation", "shared"); p != "" {
		t.Fatalf("patient after delete = %v, want ''", p)
	}
	if visible("p2", "shared") {
		t.Error("a deleted Observation is visible to its patient's token")
	}

	// A transaction's creates wait in the deferred rows, with their column.
	entries := []*TxEntry{}
	for _, id := range []string{"t1", "t2"} {
		e, err := resourceEntry(map[string]any{"resourceType": "Observation", "id": id, "status": "final",
			"code":    map[string]any{"coding": []any{map[string]any{"system": "http://local", "code": "SH2"}}},
			"subject": map[string]any{"reference": "Patient/p1"}})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if _, _, err := s.Transaction(ctx, entries, TxOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := currentPatient(t, s.Store, "Observation", "t1"); p != "p1" {
		t.Fatalf("patient of a transaction's create = %v, want p1", p)
	}
	if !visible("p1", "t2") || visible("p2", "t2") {
		t.Error("a transaction's create: wrong visibility")
	}
	if n := staleCurrentPatients(t, s.Store); n != 0 {
		t.Fatalf("%d stale rows after the writes", n)
	}

	// Re-indexing sets the column from the compartments it rebuilds.
	if _, err := s.w.Exec(`UPDATE resource_current SET patient = 'nobody'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := staleCurrentPatients(t, s.Store); n != 0 {
		t.Fatalf("%d stale rows after Reindex", n)
	}
}

// A database from before the column gets it filled from its compartment rows at Open.
func TestCurrentPatientMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s := openFixtureFile(t, path)
	if _, err := s.w.Exec(`ALTER TABLE resource_current DROP COLUMN patient;
		DELETE FROM schema_migrations WHERE name = 'store/0011_current_patient.sql'`); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, path)
	if n := staleCurrentPatients(t, s); n != 0 {
		t.Fatalf("%d stale rows after the migration", n)
	}
	if p := currentPatient(t, s, "Observation", "leak1"); p != "p1" {
		t.Errorf("leak1's patient = %v, want p1", p)
	}
	if _, err := s.Read(WithAccess(ctx, patientOnly("p2")), "Observation", "leak1"); ErrorCode(err) != ENotFound {
		t.Errorf("p2 reads p1's Observation after the migration: %v, want not found", err)
	}
	if _, err := s.Read(WithAccess(ctx, patientOnly("p1")), "Observation", "leak1"); err != nil {
		t.Errorf("p1 reads its own Observation after the migration: %v", err)
	}
}

// An older build writing to the file leaves the patient column stale; it also records its
// own index version, so the next Open re-indexes and the column is right again.
func TestCurrentPatientAfterOlderBuild(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s := openFixtureFile(t, path)
	// leak1 moved to p2 by a build that does not know the column, which re-indexed the
	// file at its own version ("5") when it opened it.
	moved := strings.Replace(accessFixture[0].body, `"subject":{"reference":"Patient/p1"}`, `"subject":{"reference":"Patient/p2"}`, 1)
	if _, _, err := s.Update(ctx, "Observation", "leak1", []byte(moved), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`UPDATE resource_current SET patient = 'p1' WHERE id = 'leak1';
		UPDATE store_meta SET value = '5' WHERE key = 'index_version'`); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, path)
	if n := staleCurrentPatients(t, s); n != 0 {
		t.Fatalf("%d stale rows after reopening", n)
	}
	if _, err := s.Read(WithAccess(ctx, patientOnly("p1")), "Observation", "leak1"); ErrorCode(err) != ENotFound {
		t.Errorf("p1 reads the Observation moved to p2: %v, want not found", err)
	}
	if _, err := s.Read(WithAccess(ctx, patientOnly("p2")), "Observation", "leak1"); err != nil {
		t.Errorf("p2 reads the Observation moved to it: %v", err)
	}
}
