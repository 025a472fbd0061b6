package fhirstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
)

// LoadStats counts what a load wrote.
type LoadStats struct {
	Resources int // entries written or matched
	Bundles   int
	Invalid   int // resources stored despite validation issues
}

// LoadOptions tune Load.
type LoadOptions struct {
	// BatchSize is how many NDJSON lines share one transaction (default 1000).
	BatchSize int
	// Progress, when set, is called after each transaction with the running total.
	Progress func(total int)
}

// Load reads one file's worth of FHIR JSON: a transaction or batch Bundle (applied as a
// transaction with stable ids: a POST with fullUrl urn:uuid:X writes id X, so shared
// Organizations and Practitioners are written once), any other Bundle or a single resource
// (each resource written by id), or NDJSON (one resource per line, in batches). Conditional
// references (Type?identifier=...) are resolved against what is already loaded.
func (s *Store) Load(ctx context.Context, r io.Reader, opts LoadOptions) (LoadStats, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var st LoadStats
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	// NDJSON lines are decoded and validated here while a BatchWriter commits the previous
	// batch; a Bundle is its own transaction, after what came before it.
	var w *BatchWriter
	base := 0 // resources written before the current writer
	startWriter := func() {
		w = s.NewBatchWriter(ctx, BatchOptions{Size: opts.BatchSize, Lenient: true, StableIDs: true, Progress: func(n int) {
			if opts.Progress != nil {
				opts.Progress(base + n)
			}
		}})
	}
	finish := func() error {
		if w == nil {
			return nil
		}
		n, err := w.Close()
		st.Resources, base, w = base+n, base+n, nil
		return err
	}
	abort := func(err error) (LoadStats, error) {
		if w != nil {
			st.Resources += w.Abort()
		}
		return st, err
	}
	var doc bytes.Buffer // a pretty-printed document, read whole
	line := 0
	handle := func(b []byte) error {
		m, err := decodeJSON(b)
		if err != nil {
			return fmt.Errorf("line %d: not a JSON resource: %w", line, err)
		}
		if rt, _ := m["resourceType"].(string); rt == "Bundle" {
			if err := finish(); err != nil {
				return err
			}
			n, err := s.loadBundle(ctx, m, &st.Invalid)
			st.Resources += n
			base = st.Resources
			st.Bundles++
			if opts.Progress != nil {
				opts.Progress(st.Resources)
			}
			return err
		}
		e, err := resourceEntry(m)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if w == nil {
			startWriter()
		}
		invalid, err := w.Add(e)
		if invalid {
			st.Invalid++
		}
		return err // only the writer fails here (the load is lenient): it names its resource
	}
	for sc.Scan() {
		line++
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 {
			continue
		}
		if line == 1 || doc.Len() == 0 && st.Resources == 0 && w == nil {
			if !(t[0] == '{' && t[len(t)-1] == '}' && jsonComplete(t)) {
				// Not NDJSON: the file is one (pretty-printed) JSON document.
				doc.Write(t)
				doc.WriteByte('\n')
				for sc.Scan() {
					doc.Write(sc.Bytes())
					doc.WriteByte('\n')
				}
				if err := sc.Err(); err != nil {
					return abort(err)
				}
				if err := handle(doc.Bytes()); err != nil {
					return abort(err)
				}
				return st, finish()
			}
		}
		if err := handle(t); err != nil {
			return abort(err)
		}
	}
	if err := sc.Err(); err != nil {
		return abort(err)
	}
	return st, finish()
}

// jsonComplete reports whether b holds a whole JSON object (braces balanced outside strings).
func jsonComplete(b []byte) bool {
	depth, inStr, esc := 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return depth == 0 && !inStr && len(b) > 0
}

func resourceEntry(m map[string]any) (*TxEntry, error) {
	rt, _ := m["resourceType"].(string)
	if !knownType(rt) {
		return nil, Errorf(EInvalid, "unknown resourceType %q", rt)
	}
	if id, _ := m["id"].(string); id != "" {
		return &TxEntry{Method: "PUT", Type: rt, ID: id, Resource: m}, nil
	}
	return &TxEntry{Method: "POST", Type: rt, Resource: m}, nil
}

func (s *Store) loadBundle(ctx context.Context, b map[string]any, invalid *int) (int, error) {
	typ, _ := b["type"].(string)
	raw, _ := b["entry"].([]any)
	var entries []*TxEntry
	for i, x := range raw {
		var e *TxEntry
		var err error
		if typ == "transaction" || typ == "batch" {
			var get string
			e, get, err = ParseEntry(x, "")
			if get != "" {
				continue // reads have nothing to load
			}
		} else {
			m, _ := x.(map[string]any)
			res, _ := m["resource"].(map[string]any)
			if res == nil {
				continue
			}
			e, err = resourceEntry(res)
		}
		if err != nil {
			return 0, fmt.Errorf("entry %d: %w", i, err)
		}
		entries = append(entries, e)
	}
	if _, i, err := s.Transaction(ctx, entries, TxOptions{StableIDs: true, Lenient: true, Warnings: invalid}); err != nil {
		if i < 0 {
			return 0, err
		}
		return 0, fmt.Errorf("entry %d: %w", i, err)
	}
	return len(entries), nil
}

// maxPrefetch is the largest whole-document file LoadFiles decodes ahead; bigger ones,
// and NDJSON of any size, are streamed by Load when their turn comes.
const maxPrefetch = 256 << 20

// LoadFiles loads files in order, as Load does each one, while the next file is read and
// decoded on another goroutine: a Synthea export is hundreds of Bundles, each decoded
// whole before its transaction, so decoding them ahead takes that work off the writer's
// path. done, when set, is called after each file with that file's stats.
func (s *Store) LoadFiles(ctx context.Context, paths []string, opts LoadOptions, done func(i int, st LoadStats)) (LoadStats, error) {
	type item struct {
		doc map[string]any // a decoded whole document, or nil: stream the file
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan item, 1)
	go func() {
		defer close(items)
		for _, path := range paths {
			it := item{}
			if b, ok, err := readDocument(path); err != nil {
				it.err = err
			} else if ok {
				if it.doc, it.err = decodeJSON(b); it.err != nil {
					it.err = fmt.Errorf("not a JSON document: %w", it.err)
				}
			}
			select {
			case items <- it:
			case <-ctx.Done():
				return
			}
		}
	}()
	var total LoadStats
	for i, path := range paths {
		it := <-items
		var st LoadStats
		err := it.err
		if err == nil && it.doc != nil {
			st, err = s.loadDocument(ctx, it.doc)
			if opts.Progress != nil {
				opts.Progress(st.Resources)
			}
		} else if err == nil {
			var f *os.File
			if f, err = os.Open(path); err == nil {
				st, err = s.Load(ctx, f, opts)
				f.Close()
			}
		}
		total.Resources += st.Resources
		total.Bundles += st.Bundles
		total.Invalid += st.Invalid
		if err != nil {
			return total, fmt.Errorf("%s: %w", path, err)
		}
		if done != nil {
			done(i, st)
		}
	}
	return total, nil
}

// readDocument reads path whole when it holds one JSON document (not NDJSON) small
// enough to decode ahead; ok=false means it is to be streamed.
func readDocument(path string) (b []byte, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.Size() > maxPrefetch {
		return nil, false, err
	}
	b, err = io.ReadAll(f)
	if err != nil {
		return nil, false, err
	}
	first, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
	first = bytes.TrimSpace(first)
	if len(first) > 0 && first[0] == '{' && first[len(first)-1] == '}' && jsonComplete(first) {
		return nil, false, nil // NDJSON, or a one-line document: Load streams it
	}
	return b, true, nil
}

// loadDocument loads one decoded document: a Bundle as loadBundle does, any other
// resource by id.
func (s *Store) loadDocument(ctx context.Context, m map[string]any) (LoadStats, error) {
	var st LoadStats
	if rt, _ := m["resourceType"].(string); rt == "Bundle" {
		n, err := s.loadBundle(ctx, m, &st.Invalid)
		st.Resources, st.Bundles = n, 1
		return st, err
	}
	e, err := resourceEntry(m)
	if err != nil {
		return st, err
	}
	if _, _, err := s.Transaction(ctx, []*TxEntry{e}, TxOptions{StableIDs: true, Lenient: true, Warnings: &st.Invalid}); err != nil {
		return st, err
	}
	st.Resources = 1
	return st, nil
}
