package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// export → import → export round-trips: ids and content survive, so an export is a
// faithful backup of a sandbox.
func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	run1 := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(ctx, args, &out, &errb); err != nil {
			t.Fatalf("fhirbox %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	db1, db2 := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	run1("seed", "--db", db1, "--patients", "3")
	exp1, exp2 := filepath.Join(dir, "exp1"), filepath.Join(dir, "exp2")
	run1("export", "--db", db1, exp1)
	run1("import", "--db", db2, exp1)
	run1("export", "--db", db2, exp2)
	files, _ := filepath.Glob(filepath.Join(exp1, "*.ndjson"))
	if len(files) < 10 {
		t.Fatalf("export wrote %d files, want one per resource type (at least 10)", len(files))
	}
	for _, f := range files {
		a, _ := os.ReadFile(f)
		b, err := os.ReadFile(filepath.Join(exp2, filepath.Base(f)))
		if err != nil {
			t.Fatalf("%s missing from the second export", filepath.Base(f))
		}
		// meta.lastUpdated differs between the two loads; everything else must match.
		if la, lb := bytes.Count(a, []byte("\n")), bytes.Count(b, []byte("\n")); la != lb {
			t.Errorf("%s: %d resources exported, %d after the round trip", filepath.Base(f), la, lb)
		}
		if !bytes.Equal(stripLastUpdated(a), stripLastUpdated(b)) {
			t.Errorf("%s differs after export → import → export", filepath.Base(f))
		}
	}
	// --type limits the export.
	exp3 := filepath.Join(dir, "exp3")
	run1("export", "--db", db1, "--type", "Patient,Condition", exp3)
	got, _ := filepath.Glob(filepath.Join(exp3, "*.ndjson"))
	if len(got) != 2 {
		t.Errorf("export --type Patient,Condition wrote %v", got)
	}
}

func stripLastUpdated(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if i := bytes.Index(line, []byte(`"lastUpdated":"`)); i >= 0 {
			end := bytes.IndexByte(line[i+15:], '"')
			line = append(append([]byte{}, line[:i]...), line[i+15+end+1:]...)
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}
