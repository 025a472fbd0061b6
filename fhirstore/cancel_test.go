package fhirstore

import (
	"context"
	"errors"
	"testing"
)

// Writes and reads by id run their statements without the request's cancellation (see
// noCancel), but a context that has already ended still refuses a write before it begins,
// and stops a batch writer between its transactions.
func TestWritesWithEndedContext(t *testing.T) {
	s := newFixtureStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := []byte(`{"resourceType":"Patient","id":"late","name":[{"family":"Late"}]}`)
	if _, _, err := s.Update(ctx, "Patient", "late", body, WriteOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with an ended context: %v, want context.Canceled", err)
	}
	if _, _, err := s.Create(ctx, "Patient", body, WriteOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with an ended context: %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "Patient", "p1", WriteOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with an ended context: %v, want context.Canceled", err)
	}
	e, err := resourceEntry(map[string]any{"resourceType": "Patient", "id": "late"})
	if err != nil {
		t.Fatal(err)
	}
	if _, i, err := s.Transaction(ctx, []*TxEntry{e}, TxOptions{}); !errors.Is(err, context.Canceled) || i != -1 {
		t.Errorf("Transaction with an ended context: entry %d, %v; want -1, context.Canceled", i, err)
	}
	for i, r := range s.Batch(ctx, []*TxEntry{e, e}) {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("Batch entry %d with an ended context: %v, want context.Canceled", i, r.Err)
		}
	}
	w := s.NewBatchWriter(ctx, BatchOptions{Size: 1})
	w.Put("Patient", "late", body)
	if n, err := w.Close(); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("BatchWriter with an ended context: %d written, %v; want 0, context.Canceled", n, err)
	}
	if _, err := s.Read(context.Background(), "Patient", "late"); ErrorCode(err) != ENotFound {
		t.Errorf("Patient/late after the refused writes: %v, want not found", err)
	}
	// Reads by id answer whatever the context: they are over in microseconds.
	if _, err := s.Read(ctx, "Patient", "p1"); err != nil {
		t.Errorf("read with an ended context: %v", err)
	}
}
