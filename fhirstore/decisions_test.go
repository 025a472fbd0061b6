package fhirstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

var decisionEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// testDecision is the i-th of a mix of decisions: two apps' tokens and tokenless requests,
// allowed and denied, some failing after they were allowed.
func testDecision(i int) Decision {
	d := Decision{At: decisionEpoch.Add(time.Duration(i) * time.Microsecond), Method: "GET",
		Path: "/fhir/Patient/pat-" + strconv.Itoa(i%37), Client: "app-a", User: "Practitioner/prac-0001",
		Scopes: "user/Patient.rs", Decision: "allow", Status: 200, Reason: "allowed by the token's scopes"}
	switch {
	case i%5 == 1:
		d.Client, d.User, d.Patient, d.Scopes = "app-b", "Patient/pat-1", "pat-1", "launch/patient patient/*.rs"
	case i%11 == 3:
		d.Client, d.User, d.Scopes = "", "", ""
		d.Decision, d.Status, d.Reason = "deny", 401, "the access token is invalid, expired or revoked"
	case i%7 == 2:
		d.Method, d.Path, d.Decision, d.Status = "POST", "/fhir/Observation", "deny", 403
		d.Reason = "the token's scopes do not allow creating Observation (needs user/Observation.c)"
	case i%13 == 4:
		d.Status, d.Reason = 404, "Patient/pat-"+strconv.Itoa(i%37)+" is not known"
	}
	return d
}

// logDecisions logs ds and waits until they are stored, flushing before the queue can
// fill (LogDecision drops decisions rather than wait).
func logDecisions(s *Store, ds []Decision) {
	for i, d := range ds {
		s.LogDecision(d)
		if i%1000 == 999 {
			s.FlushDecisions()
		}
	}
	s.FlushDecisions()
}

// expectDecisions is what Decisions(f) must answer when logged were logged in order.
func expectDecisions(logged []Decision, f DecisionFilter) []Decision {
	limit := min(f.Limit, MaxDecisions)
	if f.Limit <= 0 {
		limit = 100
	}
	var want []Decision
	for i := len(logged) - 1; i >= max(0, len(logged)-MaxDecisions) && len(want) < limit; i-- {
		d := logged[i]
		if (f.Client == "" || d.Client == f.Client) && (f.Decision == "" || d.Decision == f.Decision) {
			want = append(want, d)
		}
	}
	return want
}

func checkDecisions(t *testing.T, s *Store, logged []Decision, f DecisionFilter) {
	t.Helper()
	got, err := s.Decisions(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	want := expectDecisions(logged, f)
	if len(got) != len(want) {
		t.Fatalf("%+v: %d decisions, want %d", f, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.At.Equal(w.At) || g.At.Location() != time.UTC {
			t.Fatalf("%+v: decision %d at %v, want %v (UTC)", f, i, g.At, w.At)
		}
		g.At = w.At
		if g != w {
			t.Fatalf("%+v: decision %d is\n%+v, want\n%+v", f, i, g, w)
		}
	}
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var decisionFilters = []DecisionFilter{
	{}, {Limit: MaxDecisions}, {Limit: MaxDecisions + 5}, {Limit: 50},
	{Client: "app-b"}, {Client: "app-b", Limit: MaxDecisions},
	{Decision: "deny", Limit: MaxDecisions}, {Decision: "allow", Limit: 300},
	{Client: "app-a", Decision: "deny", Limit: 7}, {Client: "nobody"},
}

// More decisions than the log keeps: it holds exactly the newest MaxDecisions, answers
// them newest first across the point where the ring came round, and filters and limits
// them as before; the tuples are stored once each.
func TestDecisionLogBounded(t *testing.T) {
	s := openTestStore(t)
	// 700 past a full log: not a whole number of batches, so the newest slot is mid-ring.
	var logged []Decision
	for i := range MaxDecisions + 700 {
		logged = append(logged, testDecision(i))
	}
	logDecisions(s, logged)
	if n := countRows(t, s, "decision_log"); n != MaxDecisions {
		t.Errorf("decision_log holds %d rows, want %d", n, MaxDecisions)
	}
	for _, f := range decisionFilters {
		checkDecisions(t, s, logged, f)
	}
	// Three who tuples (app-a, app-b, no token); three outcomes and a 404 per path.
	if n := countRows(t, s, "decision_who"); n != 3 {
		t.Errorf("decision_who holds %d rows, want 3", n)
	}
	if n := countRows(t, s, "decision_what"); n > 3+37 {
		t.Errorf("decision_what holds %d rows, want at most %d", n, 3+37)
	}

	// A store opened again continues the log.
	path := filepath.Join(t.TempDir(), "copy.db")
	if _, err := s.w.Exec(`VACUUM INTO ?`, path); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, path)
	defer s2.Close()
	more := []Decision{testDecision(len(logged)), testDecision(len(logged) + 1)}
	logDecisions(s2, more)
	logged = append(logged, more...)
	for _, f := range decisionFilters {
		checkDecisions(t, s2, logged, f)
	}
}

// Every decision with a reason of its own: the tuples the log no longer uses are
// collected, so the tuple table stays bounded too.
func TestDecisionTuplesCollected(t *testing.T) {
	s := openTestStore(t)
	var logged []Decision
	for i := range MaxDecisions + 3000 {
		d := testDecision(i)
		d.Reason = fmt.Sprintf("reason %d", i)
		logged = append(logged, d)
	}
	logDecisions(s, logged)
	if n := countRows(t, s, "decision_what"); n > MaxDecisions+3000 || n < MaxDecisions {
		t.Errorf("decision_what holds %d rows, want between %d and %d", n, MaxDecisions, MaxDecisions+3000)
	}
	for _, f := range decisionFilters {
		checkDecisions(t, s, logged, f)
	}
}

// Open lays the ring out again when its size differs from MaxDecisions, keeping the
// newest decisions that fit, in order.
func TestDecisionLogResize(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var logged []Decision
	add := func(n int) {
		t.Helper()
		var ds []Decision
		for range n {
			ds = append(ds, testDecision(len(logged)+len(ds)))
		}
		logDecisions(s, ds)
		logged = append(logged, ds...)
	}
	newest := func(n int) []Decision {
		t.Helper()
		got, err := s.Decisions(ctx, DecisionFilter{Limit: MaxDecisions})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(logged[len(logged)-n:])
		slices.Reverse(want)
		if len(got) != len(want) {
			t.Fatalf("%d decisions, want %d", len(got), len(want))
		}
		for i := range got {
			if !got[i].At.Equal(want[i].At) || got[i].Reason != want[i].Reason {
				t.Fatalf("decision %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		return got
	}
	add(25)
	if err := s.sizeDecisionLog(ctx, 7); err != nil {
		t.Fatal(err)
	}
	newest(7)
	add(10) // round a ring of 7 more than once in one batch
	newest(7)
	if err := s.sizeDecisionLog(ctx, MaxDecisions); err != nil {
		t.Fatal(err)
	}
	newest(7)
	add(3)
	newest(10)
	if n := countRows(t, s, "decision_log"); n != 10 {
		t.Errorf("decision_log holds %d rows, want 10", n)
	}
}

// Migration 0009 keeps the rows of the old decision_log (one row of strings per
// decision), which read the same afterwards.
func TestDecisionLogMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s := openAt(t, path)
	s.Close()
	old, err := migrationFS.ReadFile("migrations/0004_decisions.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TABLE decision_log; DROP TABLE decision_who; DROP TABLE decision_what; DROP TABLE decision_head;
		DELETE FROM schema_migrations WHERE name = 'store/0009_decision_ring.sql'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(old)); err != nil {
		t.Fatal(err)
	}
	// Ids as the old writer left them: contiguous, the oldest pruned, past 10000 so that
	// they wrap round the ring.
	var logged []Decision
	for id := 9990; id <= 10011; id++ {
		d := testDecision(id)
		if _, err := db.Exec(`INSERT INTO decision_log (id, at, method, path, client, user, patient, scopes, decision, status, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, d.At.UnixMicro(), d.Method, d.Path, d.Client, d.User, d.Patient,
			d.Scopes, d.Decision, d.Status, d.Reason); err != nil {
			t.Fatal(err)
		}
		logged = append(logged, d)
	}
	db.Close()

	s = openAt(t, path)
	defer s.Close()
	for _, f := range decisionFilters {
		checkDecisions(t, s, logged, f)
	}
	more := []Decision{testDecision(10012), testDecision(10013)}
	logDecisions(s, more)
	logged = append(logged, more...)
	for _, f := range decisionFilters {
		checkDecisions(t, s, logged, f)
	}
}

// Two stores on one file (two fhirbox processes): one collecting tuples the other has
// cached must not leave the other logging rows that reference nothing.
func TestDecisionLogTwoWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openAt(t, path)
	defer a.Close()
	first := testDecision(0)
	logDecisions(a, []Decision{first}) // a caches first's tuples
	b := openAt(t, path)
	defer b.Close()
	// Enough new tuples for b to collect after its decisions replaced a's.
	var logged []Decision
	for i := range MaxDecisions + decisionBatch {
		d := testDecision(i + 1)
		d.Reason = fmt.Sprintf("reason %d", i)
		logged = append(logged, d)
	}
	logDecisions(b, logged)
	again := first
	again.At = again.At.Add(time.Hour)
	logDecisions(a, []Decision{again})
	logged = append(logged, again)
	for _, f := range decisionFilters {
		checkDecisions(t, a, logged, f)
	}
}
