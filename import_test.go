package main

// Tests of `fhirbox import` run as users run it (run(ctx, ["import", ...])), checked by
// opening the resulting database with fhirstore and by serving it over HTTP.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"fhirbox/fhirstore"
)

// dataDir is a folder of ../shared/data (or $FHIRBOX_TESTDATA); the test is skipped when
// it is absent.
func dataDir(tb testing.TB, name string) string {
	tb.Helper()
	root := filepath.Join("..", "shared", "data")
	if v := os.Getenv("FHIRBOX_TESTDATA"); v != "" {
		root = v
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("test data %s is absent (%v); set FHIRBOX_TESTDATA to the shared/data folder to run this test", dir, err)
	}
	return dir
}

// runImport runs `fhirbox import --db db paths...` and returns its stdout.
func runImport(tb testing.TB, db string, paths ...string) (string, error) {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"import", "--db", db}, paths...), &stdout, &stderr)
	return stdout.String(), err
}

func mustImport(tb testing.TB, db string, paths ...string) string {
	tb.Helper()
	out, err := runImport(tb, db, paths...)
	if err != nil {
		tb.Fatalf("import %v: %v\n%s", paths, err, out)
	}
	return out
}

var importedRE = regexp.MustCompile(`imported (\d+) resources from (\d+) files`)

func importedCount(tb testing.TB, out string) (resources, files int) {
	tb.Helper()
	m := importedRE.FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("no summary line in %q", out)
	}
	resources, _ = strconv.Atoi(m[1])
	files, _ = strconv.Atoi(m[2])
	return resources, files
}

func openStore(tb testing.TB, db string) *fhirstore.Store {
	tb.Helper()
	st, err := fhirstore.Open(context.Background(), fhirstore.Options{Path: db})
	if err != nil {
		tb.Fatalf("open %s: %v", db, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// counts returns live resources per type, and history rows per type.
func counts(tb testing.TB, st *fhirstore.Store) (live, history map[string]int) {
	tb.Helper()
	_, r := st.DB()
	q := func(sql string) map[string]int {
		rows, err := r.Query(sql)
		if err != nil {
			tb.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var typ string
			var n int
			if err := rows.Scan(&typ, &n); err != nil {
				tb.Fatal(err)
			}
			out[typ] = n
		}
		return out
	}
	return q(`SELECT type, count(*) FROM resources WHERE deleted = 0 GROUP BY type`),
		q(`SELECT type, count(*) FROM resource_history GROUP BY type`)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func readJSON(tb testing.TB, st *fhirstore.Store, typ, id string) map[string]any {
	tb.Helper()
	res, err := st.Read(context.Background(), typ, id)
	if err != nil {
		tb.Fatalf("read %s/%s: %v", typ, id, err)
	}
	d := json.NewDecoder(bytes.NewReader(res.JSON))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		tb.Fatal(err)
	}
	return m
}

type bundleFile struct {
	Type  string `json:"type"`
	Entry []struct {
		FullURL  string         `json:"fullUrl"`
		Resource map[string]any `json:"resource"`
		Request  struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	} `json:"entry"`
}

// expectedFromBundles is the set of Type/id a load of these transaction Bundles must leave:
// a POST with a urn:uuid fullUrl keeps that uuid as its id, a PUT keeps the URL's id.
func expectedFromBundles(tb testing.TB, files []string) (ids map[string]bool, byType map[string]int, entries int) {
	tb.Helper()
	ids, byType = map[string]bool{}, map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var bf bundleFile
		if err := json.Unmarshal(b, &bf); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		for _, e := range bf.Entry {
			typ, _ := e.Resource["resourceType"].(string)
			var id string
			switch e.Request.Method {
			case "POST":
				id = strings.TrimPrefix(e.FullURL, "urn:uuid:")
			case "PUT":
				_, id, _ = strings.Cut(e.Request.URL, "/")
			default:
				tb.Fatalf("%s: unexpected method %s", f, e.Request.Method)
			}
			entries++
			if !ids[typ+"/"+id] {
				ids[typ+"/"+id] = true
				byType[typ]++
			}
		}
	}
	return ids, byType, entries
}

func TestImportSynthea(t *testing.T) {
	t.Parallel()
	dir := dataDir(t, "synthea-r4")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	want, wantByType, entries := expectedFromBundles(t, files)
	db := filepath.Join(t.TempDir(), "fhirbox.db")

	out := mustImport(t, db, dir)
	n, nf := importedCount(t, out)
	if n != entries || nf != len(files) {
		t.Errorf("summary says %d resources from %d files, want %d from %d", n, nf, entries, len(files))
	}
	st := openStore(t, db)
	live, hist1 := counts(t, st)
	if !maps.Equal(live, wantByType) {
		t.Errorf("resources per type after import:\n got %v\nwant %v", live, wantByType)
	}
	if sum(live) != len(want) {
		t.Errorf("%d resources, want %d", sum(live), len(want))
	}
	for _, typ := range []string{"Organization", "Practitioner"} {
		if live[typ] == 0 {
			t.Errorf("no %s loaded", typ)
		}
	}

	// Stable ids: a Patient is readable by its Bundle's urn:uuid, and the references to it
	// were rewritten to Patient/<that uuid>.
	var bf bundleFile
	b, _ := os.ReadFile(filepath.Join(dir, "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json"))
	if err := json.Unmarshal(b, &bf); err != nil {
		t.Fatal(err)
	}
	patientUUID := ""
	for _, e := range bf.Entry {
		if e.Resource["resourceType"] == "Patient" {
			patientUUID = strings.TrimPrefix(e.FullURL, "urn:uuid:")
			break
		}
	}
	p := readJSON(t, st, "Patient", patientUUID)
	if p["id"] != patientUUID {
		t.Errorf("Patient id %v, want %s", p["id"], patientUUID)
	}
	checkedObs := 0
	for _, e := range bf.Entry {
		if e.Resource["resourceType"] != "Observation" || checkedObs >= 5 {
			continue
		}
		checkedObs++
		o := readJSON(t, st, "Observation", strings.TrimPrefix(e.FullURL, "urn:uuid:"))
		if got := jstr(jget(o, "subject.reference")); got != "Patient/"+patientUUID {
			t.Errorf("Observation subject %s, want Patient/%s", got, patientUUID)
		}
		if enc := jstr(jget(o, "encounter.reference")); !strings.HasPrefix(enc, "Encounter/") {
			t.Errorf("Observation encounter reference %q was not rewritten", enc)
		}
	}
	_, r := st.DB()
	var leftovers int
	if err := r.QueryRow(`SELECT count(*) FROM resources WHERE json LIKE '%"reference":"urn:uuid:%'`).Scan(&leftovers); err != nil {
		t.Fatal(err)
	}
	if leftovers != 0 {
		t.Errorf("%d resources still hold urn:uuid references", leftovers)
	}
	// Every literal reference to a shared Organization or Practitioner resolves.
	checkReferentialIntegrity(t, st, "Organization", "Practitioner", "Patient", "Encounter")

	// A second import adds nothing: same rows, and no new versions except of the shared
	// Organizations and Practitioners whose Bundles disagree about their content.
	out = mustImport(t, db, dir)
	if n2, _ := importedCount(t, out); n2 != n {
		t.Errorf("second import reports %d resources, first %d", n2, n)
	}
	live2, hist2 := counts(t, st)
	if !maps.Equal(live2, live) {
		t.Errorf("resources per type changed on re-import:\n got %v\nwant %v", live2, live)
	}
	for typ, h := range hist2 {
		if typ == "Organization" || typ == "Practitioner" {
			continue
		}
		if h != hist1[typ] {
			t.Errorf("re-import wrote %d new %s versions", h-hist1[typ], typ)
		}
	}
	var dups int
	if err := r.QueryRow(`SELECT count(*) FROM (SELECT type, id FROM resources GROUP BY type, id HAVING count(*) > 1)`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if dups != 0 {
		t.Errorf("%d duplicated resources", dups)
	}
}

// checkReferentialIntegrity: every "Type/id" reference to one of types, in any stored
// resource, names a live resource.
func checkReferentialIntegrity(t *testing.T, st *fhirstore.Store, types ...string) {
	t.Helper()
	_, r := st.DB()
	rows, err := r.Query(`SELECT type, id, json FROM resources WHERE deleted = 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	refRE := regexp.MustCompile(`"reference":"(` + strings.Join(types, "|") + `)/([A-Za-z0-9\-\.]{1,64})"`)
	targets := map[string]bool{}
	from := map[string]string{}
	for rows.Next() {
		var typ, id string
		var js []byte
		if err := rows.Scan(&typ, &id, &js); err != nil {
			t.Fatal(err)
		}
		for _, m := range refRE.FindAllSubmatch(js, -1) {
			k := string(m[1]) + "/" + string(m[2])
			if !targets[k] {
				targets[k] = true
				from[k] = typ + "/" + id
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, k := range slices.Sorted(maps.Keys(targets)) {
		typ, id, _ := strings.Cut(k, "/")
		if _, err := st.Read(context.Background(), typ, id); err != nil {
			if missing++; missing <= 5 {
				t.Errorf("%s refers to %s: %v", from[k], k, err)
			}
		}
	}
	if missing > 5 {
		t.Errorf("... %d dangling references in all", missing)
	}
	if len(targets) == 0 {
		t.Errorf("no references to %v found at all", types)
	}
}

func ndjsonLines(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

func TestImportBulkNDJSON(t *testing.T) {
	t.Parallel()
	dir := dataDir(t, "bulk-10-patients")
	files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	wantByType := map[string]int{}
	ids := map[string]bool{}
	for _, f := range files {
		if filepath.Base(f) == "log.ndjson" {
			continue
		}
		for _, m := range ndjsonLines(t, f) {
			k := fmt.Sprint(m["resourceType"], "/", m["id"])
			if !ids[k] {
				ids[k] = true
				wantByType[m["resourceType"].(string)]++
			}
		}
	}
	db := filepath.Join(t.TempDir(), "fhirbox.db")
	out := mustImport(t, db, dir)
	if n, nf := importedCount(t, out); n != len(ids) || nf != len(files)-1 {
		t.Errorf("summary %d resources from %d files, want %d from %d (log.ndjson skipped)", n, nf, len(ids), len(files)-1)
	}
	st := openStore(t, db)
	live, _ := counts(t, st)
	if !maps.Equal(live, wantByType) {
		t.Errorf("resources per type:\n got %v\nwant %v", live, wantByType)
	}

	// Conditional references (Practitioner?identifier=system|value) were resolved to the
	// Practitioner with that identifier.
	_, r := st.DB()
	var conditional int
	if err := r.QueryRow(`SELECT count(*) FROM resources WHERE json LIKE '%"reference":"%?%'`).Scan(&conditional); err != nil {
		t.Fatal(err)
	}
	if conditional != 0 {
		t.Errorf("%d resources still hold conditional references", conditional)
	}
	encs := ndjsonLines(t, filepath.Join(dir, "Encounter.000.ndjson"))
	checked := 0
	for _, e := range encs[:min(len(encs), 20)] {
		orig := jstr(jget(e, "participant.0.individual.reference"))
		typ, query, ok := strings.Cut(orig, "?identifier=")
		if !ok || typ != "Practitioner" {
			continue
		}
		sys, val, _ := strings.Cut(query, "|")
		stored := readJSON(t, st, "Encounter", e["id"].(string))
		ref := jstr(jget(stored, "participant.0.individual.reference"))
		pid, ok := strings.CutPrefix(ref, "Practitioner/")
		if !ok {
			t.Errorf("Encounter/%s participant reference %q, want Practitioner/<id>", e["id"], ref)
			continue
		}
		pr := readJSON(t, st, "Practitioner", pid)
		found := false
		for _, x := range pr["identifier"].([]any) {
			if jstr(jget(x, "system")) == sys && jstr(jget(x, "value")) == val {
				found = true
			}
		}
		if !found {
			t.Errorf("Encounter/%s: %s resolved to Practitioner/%s, which lacks that identifier", e["id"], orig, pid)
		}
		checked++
	}
	if checked == 0 {
		t.Errorf("no Encounter with a conditional Practitioner reference was checked")
	}
	checkReferentialIntegrity(t, st, "Practitioner", "Organization", "Location", "Patient", "Encounter")

	// Re-import: nothing new.
	mustImport(t, db, dir)
	live2, _ := counts(t, st)
	if !maps.Equal(live2, live) {
		t.Errorf("re-import changed counts:\n got %v\nwant %v", live2, live)
	}
}

func TestImportInferno(t *testing.T) {
	t.Parallel()
	dir := dataDir(t, "inferno-uscore")
	files, _ := filepath.Glob(filepath.Join(dir, "uscore_bundle_*.json"))
	want, wantByType, _ := expectedFromBundles(t, files)
	wantByType["Group"]++ // uscore_group_1a.json: one Group resource, pretty-printed
	db := filepath.Join(t.TempDir(), "fhirbox.db")
	mustImport(t, db, dir)
	st := openStore(t, db)
	for _, id := range []string{"85", "355"} {
		p := readJSON(t, st, "Patient", id)
		if p["id"] != id {
			t.Errorf("Patient/%s has id %v", id, p["id"])
		}
	}
	live, _ := counts(t, st)
	if !maps.Equal(live, wantByType) {
		t.Errorf("resources per type:\n got %v\nwant %v", live, wantByType)
	}
	if sum(live) != len(want)+1 {
		t.Errorf("%d resources, want %d", sum(live), len(want)+1)
	}
	if _, err := st.Read(context.Background(), "Group", "1a"); err != nil {
		t.Errorf("Group/1a from uscore_group_1a.json: %v", err)
	}
	checkReferentialIntegrity(t, st, "Patient", "Encounter", "Organization", "Practitioner", "Location")
}

// TestImportThenServe: a database filled by `fhirbox import` is served over HTTP.
func TestImportThenServe(t *testing.T) {
	t.Parallel()
	dir := dataDir(t, "inferno-uscore")
	db := filepath.Join(t.TempDir(), "fhirbox.db")
	mustImport(t, db, filepath.Join(dir, "uscore_bundle_patient_85.json"))
	s := startApp(t, func(c *Config) { c.DB = db })
	runSteps(t, s, nil, []step{
		{name: "read an imported Patient", method: "GET", path: "/Patient/85", status: 200,
			header2: map[string]string{"ETag": `W/"1"`, "Content-Type": fhirJSON}, fields: map[string]string{"id": "85"}},
		{name: "type history counts it", method: "GET", path: "/Patient/_history?_count=0", status: 200, fields: map[string]string{"total": "1"}},
		{name: "update it", method: "PUT", path: "/Patient/85", body: patientJSON("85", "", `"gender":"female"`), status: 200,
			header2: map[string]string{"ETag": `W/"2"`}},
	})
}

func TestImportErrors(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badJSON := write("bad.json", `{"resourceType":"Bundle","type":"transaction","entry":[`)
	failingTx := write("failing-tx.json", bundle("transaction",
		entry("POST", "Patient", "urn:uuid:3c0ab9f4-2d8e-4c4e-9d7a-000000000001", patientJSON("", "", "")),
		entry("PUT", "Patient/x", "", patientJSON("y", "", ""))))
	badLine := write("bad.ndjson", patientJSON("n1", "", "")+"\n"+patientJSON("n2", "", "")+"\n{not json}\n")
	unknownType := write("unknown.ndjson", `{"resourceType":"Frobnicator","id":"f1"}`+"\n")
	cases := []struct {
		name     string
		args     []string
		errHas   string
		resource int // live resources afterwards
	}{
		{"no paths", nil, "at least one file", 0},
		{"missing path", []string{filepath.Join(tmp, "nope.json")}, "nope.json", 0},
		{"invalid JSON", []string{badJSON}, "bad.json", 0},
		{"failing transaction Bundle writes nothing", []string{failingTx}, "failing-tx.json", 0},
		{"bad NDJSON line", []string{badLine}, "line 3", 0},
		{"unknown resource type", []string{unknownType}, "Frobnicator", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "fhirbox.db")
			out, err := runImport(t, db, c.args...)
			if err == nil {
				t.Fatalf("import succeeded: %s", out)
			}
			if !strings.Contains(err.Error(), c.errHas) {
				t.Errorf("error %q does not mention %q", err, c.errHas)
			}
			if _, statErr := os.Stat(db); statErr == nil {
				live, _ := counts(t, openStore(t, db))
				if sum(live) != c.resource {
					t.Errorf("%d resources written, want %d: %v", sum(live), c.resource, live)
				}
			}
		})
	}
	t.Run("unknown command", func(t *testing.T) {
		if err := run(context.Background(), []string{"frobnicate"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Error("unknown command accepted")
		}
	})
	t.Run("single pretty-printed resource file", func(t *testing.T) {
		p := write("patient.json", "{\n  \"resourceType\": \"Patient\",\n  \"id\": \"pretty\",\n  \"gender\": \"male\"\n}\n")
		db := filepath.Join(t.TempDir(), "fhirbox.db")
		out := mustImport(t, db, p)
		if n, _ := importedCount(t, out); n != 1 {
			t.Errorf("summary reports %d resources, want 1", n)
		}
		if _, err := openStore(t, db).Read(context.Background(), "Patient", "pretty"); err != nil {
			t.Errorf("Patient/pretty: %v", err)
		}
	})
	t.Run("single-line resource file and NDJSON without ids", func(t *testing.T) {
		one := write("one.json", patientJSON("one", "", `"gender":"male"`)+"\n")
		noIDs := write("noids.ndjson", patientJSON("", "urn:sys|a", "")+"\n"+patientJSON("", "urn:sys|b", "")+"\n")
		db := filepath.Join(t.TempDir(), "fhirbox.db")
		mustImport(t, db, one, noIDs)
		st := openStore(t, db)
		if _, err := st.Read(context.Background(), "Patient", "one"); err != nil {
			t.Errorf("Patient/one: %v", err)
		}
		if live, _ := counts(t, st); live["Patient"] != 3 {
			t.Errorf("%d Patients, want 3", live["Patient"])
		}
	})
}
