package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"fhirbox/fhirstore"
	"fhirbox/seed"
)

// loadSeed generates the synthetic population into the store in batches, calling progress
// with the running count. Generated resources go through the same validation as any write.
// The caller refreshes the planner's statistics (BulkLoad does, once its indexes are back).
func loadSeed(ctx context.Context, store *fhirstore.Store, patients int, seedNum int64, progress func(n int)) (int, error) {
	// Generation, decoding and validation run here while the writer commits the previous
	// batch on its own goroutine.
	w := store.NewBatchWriter(ctx, fhirstore.BatchOptions{Size: 2000, Progress: progress})
	err := seed.Generate(seed.Options{Patients: patients, Seed: seedNum}, func(r seed.Resource) error {
		_, err := w.Put(r.Type, r.ID, r.JSON)
		return err
	})
	n, werr := w.Close()
	if err = errors.Join(err, werr); err != nil {
		return n, fmt.Errorf("seed: %w", err)
	}
	return n, nil
}

// seedCmd builds (or adds to) a database with a synthetic population.
func seedCmd(ctx context.Context, g globalFlags, patients int, seedNum int64, stdout, stderr io.Writer) error {
	store, err := openDB(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	defer bulkGC()()
	start := time.Now()
	tty := isTerminal(stderr)
	var n int
	err = store.BulkLoad(ctx, false, func() (err error) {
		n, err = loadSeed(ctx, store, patients, seedNum, func(n int) {
			if tty {
				fmt.Fprintf(stderr, "\r%d resources (%.0f/s)   ", n, float64(n)/time.Since(start).Seconds())
			}
		})
		if tty {
			fmt.Fprintln(stderr)
			fmt.Fprintln(stderr, "building the search indexes")
		}
		return err
	})
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "seeded %d patients: %d resources in %s (%.0f resources/s)\n", patients, n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

// resetCmd restores the default state: the database file is removed and rebuilt with the
// demo population.
func resetCmd(ctx context.Context, g globalFlags, stdout, stderr io.Writer) error {
	if g.memory {
		return fmt.Errorf("reset works on a database file; --memory stores start fresh anyway")
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(g.db + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return seedCmd(ctx, g, seed.DefaultPatients, 1, stdout, stderr)
}

// reindexCmd rebuilds the search indexes of the database with this fhirbox's definitions.
func reindexCmd(ctx context.Context, g globalFlags, stdout, stderr io.Writer) error {
	store, err := openDB(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	defer bulkGC()()
	start := time.Now()
	tty := isTerminal(stderr)
	n, err := store.Reindex(ctx, func(done, total int) {
		if tty {
			fmt.Fprintf(stderr, "\r%d of %d resources   ", done, total)
		}
	})
	if tty {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	el := time.Since(start)
	_, err = fmt.Fprintf(stdout, "re-indexed %d resources in %s (%.0f resources/s)\n", n, el.Round(time.Millisecond), float64(n)/max(el.Seconds(), 1e-9))
	return err
}

// bulkGC lets the heap grow to 5× the live data during a bulk command, and returns the
// function that restores the setting. A load allocates heavily on every core; collecting
// less often made fhirbox seed about 7% faster for about 200 MB more memory at peak.
func bulkGC() (restore func()) {
	old := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(old) }
}
