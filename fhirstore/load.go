package fhirstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
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
	var pending []*TxEntry
	var doc bytes.Buffer // a pretty-printed document, read whole
	line := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if _, i, err := s.Transaction(ctx, pending, TxOptions{StableIDs: true, Lenient: true, Warnings: &st.Invalid}); err != nil {
			return fmt.Errorf("resource %d of the batch ending at line %d: %w", i+1, line, err)
		}
		st.Resources += len(pending)
		pending = pending[:0]
		if opts.Progress != nil {
			opts.Progress(st.Resources)
		}
		return nil
	}
	handle := func(b []byte) error {
		m, err := decodeJSON(b)
		if err != nil {
			return fmt.Errorf("line %d: not a JSON resource: %w", line, err)
		}
		if rt, _ := m["resourceType"].(string); rt == "Bundle" {
			if err := flush(); err != nil {
				return err
			}
			n, err := s.loadBundle(ctx, m, &st.Invalid)
			st.Resources += n
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
		pending = append(pending, e)
		if len(pending) >= opts.BatchSize {
			return flush()
		}
		return nil
	}
	for sc.Scan() {
		line++
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 {
			continue
		}
		if line == 1 || doc.Len() == 0 && st.Resources == 0 && len(pending) == 0 {
			if !(t[0] == '{' && t[len(t)-1] == '}' && jsonComplete(t)) {
				// Not NDJSON: the file is one (pretty-printed) JSON document.
				doc.Write(t)
				doc.WriteByte('\n')
				for sc.Scan() {
					doc.Write(sc.Bytes())
					doc.WriteByte('\n')
				}
				if err := sc.Err(); err != nil {
					return st, err
				}
				if err := handle(doc.Bytes()); err != nil {
					return st, err
				}
				return st, flush()
			}
		}
		if err := handle(t); err != nil {
			return st, err
		}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	return st, flush()
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
		return 0, fmt.Errorf("entry %d: %w", i, err)
	}
	return len(entries), nil
}
