package fhirstore

import (
	"context"
	"sync"
	"time"
)

// BatchWriter loads resources in large transactions on its own goroutine while the caller
// produces more: decoding and validation run on the caller's goroutine, index extraction
// and encoding on another, started as soon as a batch is full (see prepareEarly), SQLite
// on the writer's. A load is then bound by the slowest of the three, not by their sum:
// extraction started only with the batch's transaction paced the writer through it.
//
// Each resource is written by id (PUT semantics, no version growth for unchanged content).
// The first failure stops the writer; Put and Close report it.
type BatchWriter struct {
	s     *Store
	ctx   context.Context
	opts  TxOptions
	size  int
	batch []*TxEntry
	work  chan batchJob
	done  chan struct{}

	mu      sync.Mutex
	err     error
	written int
	// Progress, when set, is called on the writer's goroutine after each transaction
	// with the number of resources written so far.
	progress func(int)
}

// BatchOptions tune a BatchWriter.
type BatchOptions struct {
	// Size is how many resources share one transaction (default 2000).
	Size int
	// Lenient stores resources that fail validation as they are (Put reports them).
	Lenient bool
	// StableIDs is TxOptions.StableIDs for the writer's transactions.
	StableIDs bool
	// Progress is called after each transaction with the running total.
	Progress func(written int)
}

// NewBatchWriter starts a writer. Close must be called to write the last batch.
func (s *Store) NewBatchWriter(ctx context.Context, o BatchOptions) *BatchWriter {
	if o.Size <= 0 {
		o.Size = 2000
	}
	w := &BatchWriter{s: s, ctx: ctx, size: o.Size, opts: TxOptions{Lenient: o.Lenient, StableIDs: o.StableIDs, validated: true},
		work: make(chan batchJob, 1), done: make(chan struct{}), progress: o.Progress}
	go w.run()
	return w
}

// batchJob is a full batch and its writes, already being prepared.
type batchJob struct {
	entries []*TxEntry
	ahead   *writesAhead
}

// send starts preparing the batch and queues it for the writer.
func (w *BatchWriter) send(batch []*TxEntry) {
	w.work <- batchJob{batch, prepareEarly(batch, w.s.now().UTC().Truncate(time.Millisecond))}
}

func (w *BatchWriter) run() {
	defer close(w.done)
	for job := range w.work {
		batch := job.entries
		if w.failed() != nil {
			if job.ahead != nil {
				job.ahead.stop()
			}
			continue // drain, so Put never blocks on a dead writer
		}
		opts := w.opts
		opts.ahead = job.ahead
		if _, i, err := w.s.Transaction(w.ctx, batch, opts); err != nil {
			be := &BatchError{Err: err}
			if i >= 0 { // else no entry failed: the context ended, or the commit did
				be.Type, be.ID = batch[i].Type, batch[i].ID
			}
			w.mu.Lock()
			w.err = be
			w.mu.Unlock()
			continue
		}
		w.mu.Lock()
		w.written += len(batch)
		n := w.written
		w.mu.Unlock()
		if w.progress != nil {
			w.progress(n)
		}
	}
}

func (w *BatchWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Put decodes and validates one resource and queues it for writing as typ/id. It returns
// the error of an invalid resource (unless lenient), or the writer's first failure.
func (w *BatchWriter) Put(typ, id string, body []byte) (invalid bool, err error) {
	m, err := decodeJSON(body)
	if err != nil {
		return false, &BatchError{Type: typ, ID: id, Err: Errorf(EInvalid, "not a JSON resource: %v", err)}
	}
	return w.Add(&TxEntry{Method: "PUT", Type: typ, ID: id, Resource: m})
}

// Add validates a decoded entry and queues it. Entries of one batch are one transaction,
// with its semantics (urn:uuid and conditional references, conditional creates).
func (w *BatchWriter) Add(e *TxEntry) (invalid bool, err error) {
	if err := w.failed(); err != nil {
		return false, err
	}
	if e.Resource != nil {
		if issues := validateResource(e.Resource); len(issues) > 0 {
			if !w.opts.Lenient {
				return false, &BatchError{Type: e.Type, ID: e.ID, Err: &Error{Code: EInvalid, Message: "the " + e.Type + " is not valid", Issues: issues}}
			}
			invalid = true
		}
	}
	w.batch = append(w.batch, e)
	if len(w.batch) >= w.size {
		w.send(w.batch)
		w.batch = make([]*TxEntry, 0, w.size)
	}
	return invalid, nil
}

// Close writes what is queued, waits for the writer and returns how many resources it
// wrote and its first failure.
func (w *BatchWriter) Close() (int, error) {
	if len(w.batch) > 0 {
		w.send(w.batch)
		w.batch = nil
	}
	close(w.work)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written, w.err
}

// Abort drops what is queued but not yet sent, waits for the writer and returns its
// count: for a producer that failed midway and must not commit a partial batch.
func (w *BatchWriter) Abort() int {
	w.batch = nil
	n, _ := w.Close()
	return n
}

// BatchError names the resource a batch write failed on.
type BatchError struct {
	Type, ID string
	Err      error
}

func (e *BatchError) Error() string {
	if e.Type == "" {
		return e.Err.Error()
	}
	if e.ID == "" {
		return e.Type + ": " + e.Err.Error()
	}
	return e.Type + "/" + e.ID + ": " + e.Err.Error()
}
func (e *BatchError) Unwrap() error { return e.Err }
