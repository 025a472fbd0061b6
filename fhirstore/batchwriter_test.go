package fhirstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBatchWriter(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var progress []int
	w := s.NewBatchWriter(ctx, BatchOptions{Size: 3, Progress: func(n int) { progress = append(progress, n) }})
	for i := range 7 {
		id := fmt.Sprintf("bw%d", i)
		if _, err := w.Put("Patient", id, []byte(`{"resourceType":"Patient","id":"`+id+`","name":[{"family":"Batch"}]}`)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := w.Close()
	if err != nil || n != 7 {
		t.Fatalf("Close: %d, %v; want 7 written", n, err)
	}
	if fmt.Sprint(progress) != "[3 6 7]" {
		t.Errorf("progress %v, want [3 6 7]", progress)
	}
	res, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: q("family=batch", "_summary=count")})
	if err != nil || *res.Total != 7 {
		t.Errorf("family=batch: %v %v, want 7 (searchable once written)", res, err)
	}

	// An invalid resource is refused on the producer's side, naming it...
	w = s.NewBatchWriter(ctx, BatchOptions{})
	_, err = w.Put("Patient", "bad", []byte(`{"resourceType":"Patient","id":"bad","gender":7}`))
	var be *BatchError
	if !errors.As(err, &be) || be.ID != "bad" || ErrorCode(err) != EInvalid {
		t.Errorf("invalid Patient: %v, want a BatchError for Patient/bad with EInvalid", err)
	}
	w.Close()
	// ... or stored and counted when lenient.
	w = s.NewBatchWriter(ctx, BatchOptions{Lenient: true})
	invalid, err := w.Put("Patient", "lenient", []byte(`{"resourceType":"Patient","id":"lenient","gender":7}`))
	if n, cerr := w.Close(); !invalid || err != nil || cerr != nil || n != 1 {
		t.Errorf("lenient invalid Patient: invalid=%v err=%v close=%v n=%d", invalid, err, cerr, n)
	}

	// A write that fails in the transaction stops the writer; Close reports it and nothing
	// of that batch lands.
	w = s.NewBatchWriter(ctx, BatchOptions{Size: 3})
	for _, id := range []string{"ok1", "dup", "dup"} { // one batch writing Patient/dup twice
		if _, err := w.Put("Patient", id, []byte(`{"resourceType":"Patient","id":"`+id+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Put("Patient", "late", []byte(`{"resourceType":"Patient","id":"late"}`)); err != nil && !errors.As(err, &be) {
		t.Errorf("Put after a failure: %v", err)
	}
	if _, err := w.Close(); !errors.As(err, &be) || be.ID != "dup" || ErrorCode(err) != EInvalid {
		t.Errorf("duplicate writes: %v, want a BatchError naming Patient/dup", err)
	}
	for _, id := range []string{"ok1", "dup", "late"} {
		if _, err := s.Read(ctx, "Patient", id); ErrorCode(err) != ENotFound {
			t.Errorf("Patient/%s after the failed batch: %v, want ENotFound", id, err)
		}
	}
}

// TestLoadFiles: documents decoded ahead and NDJSON streamed, in order, with per-file
// stats; a failing file stops the load and is named.
func TestLoadFiles(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bundle := write("b.json", `{
  "resourceType": "Bundle", "type": "transaction",
  "entry": [
    {"fullUrl": "urn:uuid:6f1e8a43-0000-4000-8000-000000000001",
     "resource": {"resourceType": "Patient", "name": [{"family": "Ahead"}]},
     "request": {"method": "POST", "url": "Patient"}},
    {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
      "subject": {"reference": "urn:uuid:6f1e8a43-0000-4000-8000-000000000001"}},
     "request": {"method": "POST", "url": "Observation"}}
  ]
}`)
	nd := write("p.ndjson", `{"resourceType":"Patient","id":"nd1","name":[{"family":"Streamed"}]}`+"\n"+
		`{"resourceType":"Patient","id":"nd2","name":[{"family":"Streamed"}]}`+"\n")
	var per []int
	st, err := s.LoadFiles(ctx, []string{bundle, nd}, LoadOptions{}, func(i int, st LoadStats) { per = append(per, st.Resources) })
	if err != nil || st.Resources != 4 || st.Bundles != 1 || fmt.Sprint(per) != "[2 2]" {
		t.Fatalf("LoadFiles: %+v %v per file %v; want 4 resources, 1 bundle, [2 2]", st, err, per)
	}
	res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("patient=6f1e8a43-0000-4000-8000-000000000001", "_summary=count")})
	if err != nil || *res.Total != 1 {
		t.Errorf("the Bundle's Observation by its patient: %v %v", res, err)
	}
	bad := write("bad.json", `{"resourceType":"Bundle","type":"transaction","entry":[`)
	after := write("after.ndjson", `{"resourceType":"Patient","id":"never"}`+"\n")
	per = nil
	if _, err := s.LoadFiles(ctx, []string{nd, bad, after}, LoadOptions{}, func(i int, st LoadStats) { per = append(per, i) }); err == nil ||
		!strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a truncated document: %v, want an error naming bad.json", err)
	}
	if fmt.Sprint(per) != "[0]" {
		t.Errorf("files done before the failure: %v, want [0]", per)
	}
	if _, err := s.Read(ctx, "Patient", "never"); ErrorCode(err) != ENotFound {
		t.Errorf("the file after the failure was loaded: %v", err)
	}
}

// TestConcurrentWrites: writers and the decision log share the one writer connection; the
// state a transaction keeps (pending index rows, bound statements) must not leak into the
// next one. Every write must succeed and be searchable.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	const writers, each = 4, 40
	errs := make(chan error, writers*each)
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				id := fmt.Sprintf("cw-%d-%d", w, i)
				_, _, err := s.Update(ctx, "Patient", id, []byte(`{"resourceType":"Patient","id":"`+id+`","name":[{"family":"Concurrent"}]}`), WriteOptions{})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
				}
				s.LogDecision(Decision{Method: "PUT", Path: "/Patient/" + id, Decision: "allow", Status: 200})
			}
		}()
	}
	for range writers {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: q("family=concurrent", "_summary=count")})
	if err != nil {
		t.Fatal(err)
	}
	if *res.Total != writers*each {
		t.Errorf("family=concurrent: %d, want %d (every write indexed)", *res.Total, writers*each)
	}
}

// TestBatchWriterPreparedEarly: a full batch is extracted and encoded before its
// transaction (prepareEarly). Entries with references only the transaction can resolve
// (conditional ones) are left to it; updates of existing resources are encoded again at
// their real version; every write is indexed and stamped as if prepared in the
// transaction.
func TestBatchWriterPreparedEarly(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, _, err := s.Update(ctx, "Patient", "pe", []byte(`{"resourceType":"Patient","id":"pe",
		"identifier":[{"system":"http://mrn","value":"PE-1"}]}`), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Update(ctx, "Observation", "pe-old", []byte(`{"resourceType":"Observation","id":"pe-old","status":"preliminary",
		"code":{"text":"x"}}`), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	w := s.NewBatchWriter(ctx, BatchOptions{Size: 32})
	put := func(id, subject, status string) {
		t.Helper()
		body := `{"resourceType":"Observation","id":"` + id + `","status":"` + status + `",
			"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"` + subject + `"}}`
		if _, err := w.Put("Observation", id, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		switch {
		case i%5 == 0:
			put(fmt.Sprintf("pe-%d", i), "Patient?identifier=http://mrn|PE-1", "final") // rewritten by the transaction
		default:
			put(fmt.Sprintf("pe-%d", i), "Patient/pe", "final")
		}
	}
	put("pe-old", "Patient/pe", "final") // an update: version 2
	if n, err := w.Close(); err != nil || n != 41 {
		t.Fatalf("Close: %d %v", n, err)
	}
	res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("subject=Patient/pe", "code=8867-4", "_count=100")})
	if err != nil || len(res.Entries) != 41 {
		t.Fatalf("Observations of Patient/pe by code: %d, %v; want 41 (all indexed)", len(res.Entries), err)
	}
	for _, e := range res.Entries {
		r, err := s.Read(ctx, "Observation", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeJSON(r.JSON)
		if err != nil {
			t.Fatal(err)
		}
		meta := m["meta"].(map[string]any)
		if meta["versionId"] != r.VersionID() || meta["lastUpdated"] != FormatInstant(r.LastUpdated) {
			t.Errorf("%s: meta %v, stored version %s at %s", e.ID, meta, r.VersionID(), FormatInstant(r.LastUpdated))
		}
		if ref := m["subject"].(map[string]any)["reference"]; ref != "Patient/pe" {
			t.Errorf("%s: subject %v, want Patient/pe", e.ID, ref)
		}
		if want := map[bool]string{true: "2", false: "1"}[e.ID == "pe-old"]; r.VersionID() != want {
			t.Errorf("%s: version %s, want %s", e.ID, r.VersionID(), want)
		}
	}
	// The update's old index rows are gone: it is no longer preliminary.
	if res, err := s.Search(ctx, SearchRequest{Type: "Observation", Params: q("status=preliminary")}); err != nil || len(res.Entries) != 0 {
		t.Errorf("status=preliminary after the update: %d, %v", len(res.Entries), err)
	}
}

// TestBatchWriterExistingIDs: a transaction large enough for the batched absence check
// (absentIDs) still updates what exists, revives what was deleted, and creates the rest,
// whether its entries are prepared early (BatchWriter) or in the transaction.
func TestBatchWriterExistingIDs(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	body := func(id, family string) []byte {
		return []byte(`{"resourceType":"Patient","id":"` + id + `","name":[{"family":"` + family + `"}]}`)
	}
	for i := range 10 {
		id := fmt.Sprintf("tx%02d", i)
		if _, _, err := s.Update(ctx, "Patient", id, body(id, "Before"), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"tx08", "tx09"} {
		if err := s.Delete(ctx, "Patient", id, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Versions after the load: tx00..07 updated (2), tx08..09 revived after their deletion
	// (3), tx10..29 created (1); a DELETE in the same transaction leaves a tombstone the
	// PUT after it revives (tx07 → 3).
	want := map[string]int{}
	var entries []*TxEntry
	for i := range 30 {
		id := fmt.Sprintf("tx%02d", i)
		m, err := decodeJSON(body(id, "After"))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, &TxEntry{Method: "PUT", Type: "Patient", ID: id, Resource: m})
		switch {
		case i < 8:
			want[id] = 2
		case i < 10:
			want[id] = 3
		default:
			want[id] = 1
		}
	}
	entries = append(entries, &TxEntry{Method: "DELETE", Type: "Patient", ID: "tx07"})
	want["tx07"] = 3
	results, i, err := s.Transaction(ctx, entries, TxOptions{})
	if err != nil {
		t.Fatalf("transaction: entry %d: %v", i, err)
	}
	for k, r := range results[:30] {
		id := entries[k].ID
		// Everything but a plain update creates: new ids, and ids revived after a deletion.
		if r.Resource.Version != int64(want[id]) || r.Created != (want[id] != 2) {
			t.Errorf("%s: version %d created %v, want version %d created %v", id, r.Resource.Version, r.Created, want[id], want[id] != 2)
		}
	}
	res, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: q("family=after", "_summary=count")})
	if err != nil || *res.Total != 30 {
		t.Errorf("family=after: %v %v, want 30", res, err)
	}

	// The same through a BatchWriter, whose batches are prepared before their transaction.
	w := s.NewBatchWriter(ctx, BatchOptions{Size: 20})
	for i := range 40 {
		id := fmt.Sprintf("tx%02d", i)
		if _, err := w.Put("Patient", id, body(id, "Again")); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.Close(); err != nil || n != 40 {
		t.Fatalf("BatchWriter: %d %v", n, err)
	}
	for i, v := range map[int]int64{0: 3, 7: 4, 9: 4, 10: 2, 29: 2, 30: 1, 39: 1} {
		id := fmt.Sprintf("tx%02d", i)
		if r, err := s.Read(ctx, "Patient", id); err != nil || r.Version != v {
			t.Errorf("Patient/%s after the BatchWriter: %v %v, want version %d", id, r, err, v)
		}
	}
}

// TestTransactionDeferredVersions: the creates of a large transaction reach
// resource_history and resource_current only when the transaction flushes them (see
// writeVersion), so what reads those tables inside the transaction must flush them
// first: the access check of each written resource, a read and a delete's lookup, each of
// which finds none of them without the flush. A failed entry leaves none of them behind.
func TestTransactionDeferredVersions(t *testing.T) {
	bg := context.Background()
	s := newAccessStore(t)
	p1 := WithAccess(bg, &Access{Rules: []AccessRule{{Type: "*", Interactions: "cruds", Patient: "p1"}}, Level: "patient", Patient: "p1"})
	obs := func(id, patient string) *TxEntry {
		m, err := decodeJSON([]byte(`{"resourceType":"Observation","id":"` + id + `","status":"final",
			"code":{"coding":[{"system":"urn:fhirbox:test","code":"deferred"}]},"subject":{"reference":"Patient/` + patient + `"}}`))
		if err != nil {
			t.Fatal(err)
		}
		return &TxEntry{Method: "PUT", Type: "Observation", ID: id, Resource: m}
	}
	var entries []*TxEntry
	for i := range 20 {
		entries = append(entries, obs(fmt.Sprintf("def%02d", i), "p1"))
	}
	// A patient token's creates are checked against its compartment after each write:
	// that check must find the new rows.
	if _, i, err := s.Transaction(p1, entries, TxOptions{}); err != nil {
		t.Fatalf("patient transaction of 20 creates: entry %d: %v", i, err)
	}
	for _, id := range []string{"def00", "def19"} {
		if r, err := s.VRead(bg, "Observation", id, "1"); err != nil || r.Version != 1 {
			t.Errorf("VRead Observation/%s/_history/1: %v %v", id, r, err)
		}
	}
	res, err := s.Search(p1, SearchRequest{Type: "Observation", Params: q("code=urn:fhirbox:test|deferred", "_summary=count")})
	if err != nil || res.Total == nil || *res.Total != 20 {
		t.Errorf("code=urn:fhirbox:test|deferred through the patient token: %v, want 20", countOf(res, err))
	}

	// One entry for another patient fails the whole transaction, and none of its creates
	// is left behind.
	entries = entries[:0]
	for i := range 19 {
		entries = append(entries, obs(fmt.Sprintf("bad%02d", i), "p1"))
	}
	entries = append(entries, obs("bad19", "p2"))
	if _, i, err := s.Transaction(p1, entries, TxOptions{}); !deniedOrHidden(err) || i != 19 {
		t.Errorf("transaction with an entry in p2's compartment: entry %d, %v; want entry 19 refused", i, err)
	}
	if _, err := s.Read(bg, "Observation", "bad00"); ErrorCode(err) != ENotFound {
		t.Errorf("Observation/bad00 after the failed transaction: %v, want not found", err)
	}

	// Inside the transaction that queued them, the new versions can be read, deleted or
	// updated: the read, and the lookups of the delete and the update, find nothing without
	// the flush. Each goes first in a transaction of its own, so none relies on another's
	// flush.
	for _, c := range []struct {
		from int
		then func(tx *sql.Tx) error
	}{
		{0, func(tx *sql.Tx) error {
			if r, err := s.read(bg, tx, "Observation", "new00"); err != nil || r.Version != 1 {
				return fmt.Errorf("read of new00 in its transaction: %v %v, want version 1", r, err)
			}
			return nil
		}},
		{20, func(tx *sql.Tx) error { return s.delete(bg, tx, "Observation", "new21", "") }},
		{40, func(tx *sql.Tx) error {
			m, _ := decodeJSON([]byte(`{"resourceType":"Observation","id":"new41","status":"amended","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`))
			if r, err := s.put(bg, tx, "Observation", "new41", m, "PUT", "", nil); err != nil || r.Version != 2 {
				return fmt.Errorf("update of new41 in its transaction: %v %v, want version 2", r, err)
			}
			return nil
		}},
	} {
		entries = entries[:0]
		for i := c.from; i < c.from+20; i++ { // 20: enough for the batched absence check
			entries = append(entries, obs(fmt.Sprintf("new%02d", i), "p1"))
		}
		if err := s.inTx(bg, func(tx *sql.Tx) error {
			if i, err := s.transaction(bg, tx, entries, make([]TxResult, len(entries)), TxOptions{}); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			return c.then(tx)
		}); err != nil {
			t.Fatalf("creates from new%02d, then a read, delete or update in the same transaction: %v", c.from, err)
		}
	}
	if r, err := s.Read(bg, "Observation", "new21"); ErrorCode(err) != EGone || r == nil || r.Version != 2 {
		t.Errorf("Observation/new21 deleted in the transaction that created it: %v %v, want gone at version 2", r, err)
	}
	res, err = s.Search(bg, SearchRequest{Type: "Observation", Params: q("subject=Patient/p1", "code=urn:fhirbox:test|deferred", "_summary=count")})
	if err != nil || res.Total == nil || *res.Total != 78 {
		t.Errorf("subject=Patient/p1&code=urn:fhirbox:test|deferred: %v, want 78 (new21 deleted, new41 recoded)", countOf(res, err))
	}
}

// countOf describes a _summary=count answer for a failure message.
func countOf(res *SearchResult, err error) string {
	if err != nil {
		return err.Error()
	}
	if res.Total == nil {
		return "no total"
	}
	return fmt.Sprint(*res.Total)
}
