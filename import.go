package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"fhirbox/fhirstore"
)

// importCmd loads Bundles and NDJSON files (or every .json/.ndjson file in a folder) into
// the database, printing progress on a terminal and a summary at the end.
func importCmd(ctx context.Context, g globalFlags, paths []string, stdout, stderr io.Writer) error {
	if len(paths) == 0 {
		return fmt.Errorf("import needs at least one file or folder")
	}
	files, err := importFiles(paths)
	if err != nil {
		return err
	}
	store, err := openDB(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	defer bulkGC()()
	tty := isTerminal(stderr)
	start := time.Now()
	total, invalid := 0, 0
	// The token index stays up: conditional references and creates search by identifier.
	err = store.BulkLoad(ctx, true, func() error {
		cur := 0 // files done
		st, err := store.LoadFiles(ctx, files, fhirstore.LoadOptions{Progress: func(n int) {
			if tty {
				fmt.Fprintf(stderr, "\r[%d/%d] %s: %d resources (%.0f/s)   ", cur+1, len(files), filepath.Base(files[cur]),
					total+n, float64(total+n)/time.Since(start).Seconds())
			}
		}}, func(i int, st fhirstore.LoadStats) {
			cur, total = i+1, total+st.Resources
		})
		total, invalid = st.Resources, st.Invalid
		return err
	})
	if tty {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	el := time.Since(start)
	if invalid > 0 {
		fmt.Fprintf(stdout, "note: %d resources did not pass R4 validation and were stored as given\n", invalid)
	}
	fmt.Fprintf(stdout, "imported %d resources from %d files in %s (%.0f resources/s)\n", total, len(files), el.Round(time.Millisecond), float64(total)/el.Seconds())
	return nil
}

// importFiles expands folders into their .json and .ndjson files. Within a folder, files
// whose names suggest shared reference data (Synthea's hospital and practitioner Bundles)
// load first so patient Bundles can refer to them.
func importFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// A Bulk Data export folder carries its export log beside the resources.
			if d.Name() == "log.ndjson" {
				return nil
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".ndjson")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(files, func(a, b string) int { return loadRank(a) - loadRank(b) })
		out = append(out, files...)
	}
	return out, nil
}

func loadRank(path string) int {
	name := strings.ToLower(filepath.Base(path))
	for i, prefix := range []string{"hospitalinformation", "practitionerinformation", "organization", "location", "practitioner", "patient"} {
		if strings.HasPrefix(name, prefix) {
			return i
		}
	}
	return 100
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
