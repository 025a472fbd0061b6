package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"fhirbox/fhirstore"
)

// exportCmd writes one NDJSON file per resource type (Type.ndjson) into dir; `fhirbox
// import dir` reads them back with the same ids and content.
func exportCmd(ctx context.Context, g globalFlags, types []string, dir string, stdout, stderr io.Writer) error {
	if dir == "" {
		return fmt.Errorf("export needs a target folder")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	store, err := openDB(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	var (
		cur   string
		f     *os.File
		w     *bufio.Writer
		total int
		files int
	)
	closeFile := func() error {
		if f == nil {
			return nil
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return f.Close()
	}
	err = store.Export(ctx, types, func(r *fhirstore.Resource) error {
		if r.Type != cur {
			if err := closeFile(); err != nil {
				return err
			}
			cur = r.Type
			var err error
			if f, err = os.Create(filepath.Join(dir, r.Type+".ndjson")); err != nil {
				return err
			}
			w = bufio.NewWriterSize(f, 1<<20)
			files++
		}
		total++
		w.Write(r.JSON)
		return w.WriteByte('\n')
	})
	if err != nil {
		return err
	}
	if err := closeFile(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %d resources into %d files in %s\n", total, files, dir)
	return nil
}

func splitTypes(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
