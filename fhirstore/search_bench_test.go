package fhirstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"fhirbox/seed"
)

// benchPatients is the size of the seeded population (about 175 resources per patient);
// FHIRBOX_BENCH_PATIENTS overrides it for the million-resource runs.
func benchPatients() int {
	if n, err := strconv.Atoi(os.Getenv("FHIRBOX_BENCH_PATIENTS")); err == nil && n > 0 {
		return n
	}
	return 200
}

// seedInto loads the seed population into s with PUT batches, as `fhirbox seed` does.
func seedInto(ctx context.Context, s *Store, patients int) (int, error) {
	const batch = 2000
	var pending []*TxEntry
	total := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if _, i, err := s.Transaction(ctx, pending, TxOptions{}); err != nil {
			return fmt.Errorf("seed %s/%s: %w", pending[i].Type, pending[i].ID, err)
		}
		total += len(pending)
		pending = pending[:0]
		return nil
	}
	err := seed.Generate(seed.Options{Patients: patients, Seed: 1}, func(r seed.Resource) error {
		m, err := decodeJSON(r.JSON)
		if err != nil {
			return err
		}
		pending = append(pending, &TxEntry{Method: "PUT", Type: r.Type, ID: r.ID, Resource: m})
		if len(pending) >= batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return total, err
	}
	return total, flush()
}

// benchWorld is one seeded store shared by the search benchmarks of a run, with the values
// the benchmarks query: a patient, one of its Observation codes, and its family name.
type benchWorld struct {
	s                      *Store
	resources              int
	patient, code, family  string
	dbBytes, loadResPerSec float64
}

var (
	benchOnce sync.Once
	bench     *benchWorld
	benchErr  error
)

func seededStore(b *testing.B) *benchWorld {
	b.Helper()
	benchOnce.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "fhirstore-bench-*")
		if err != nil {
			benchErr = err
			return
		}
		s, err := Open(ctx, Options{Path: filepath.Join(dir, "s.db")})
		if err != nil {
			benchErr = err
			return
		}
		start := time.Now()
		n, err := seedInto(ctx, s, benchPatients())
		if err != nil {
			benchErr = err
			return
		}
		w := &benchWorld{s: s, resources: n, loadResPerSec: float64(n) / time.Since(start).Seconds()}
		if fi, err := os.Stat(filepath.Join(dir, "s.db")); err == nil {
			w.dbBytes = float64(fi.Size())
		}
		// A patient in the middle of the population, one of its codes and its family name.
		res, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: url.Values{"_count": {"1"}, "_sort": {"_id"}}})
		if err != nil || len(res.Entries) == 0 {
			benchErr = fmt.Errorf("no patient: %v", err)
			return
		}
		var p struct {
			ID   string `json:"id"`
			Name []struct {
				Family string `json:"family"`
			} `json:"name"`
		}
		if err := json.Unmarshal(res.Entries[0].JSON, &p); err != nil || len(p.Name) == 0 {
			benchErr = fmt.Errorf("patient without a name: %v", err)
			return
		}
		w.patient, w.family = p.ID, p.Name[0].Family
		res, err = s.Search(ctx, SearchRequest{Type: "Observation", Params: url.Values{"patient": {w.patient}, "_count": {"1"}}})
		if err != nil || len(res.Entries) == 0 {
			benchErr = fmt.Errorf("no observation of %s: %v", w.patient, err)
			return
		}
		var o struct {
			Code struct {
				Coding []struct{ System, Code string } `json:"coding"`
			} `json:"code"`
		}
		if err := json.Unmarshal(res.Entries[0].JSON, &o); err != nil || len(o.Code.Coding) == 0 {
			benchErr = fmt.Errorf("observation without a code: %v", err)
			return
		}
		w.code = o.Code.Coding[0].System + "|" + o.Code.Coding[0].Code
		bench = w
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

// runSearchBench runs req b.N times and reports the median latency as well as the mean.
func runSearchBench(b *testing.B, w *benchWorld, req SearchRequest, minEntries int) {
	ctx := context.Background()
	res, err := w.s.Search(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Entries) < minEntries {
		b.Fatalf("%s?%s: %d entries, want at least %d", req.Type, req.Params.Encode(), len(res.Entries), minEntries)
	}
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := w.s.Search(ctx, req); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(w.resources), "store-resources")
	b.ReportMetric(float64(len(res.Entries)), "entries")
}

func BenchmarkSearchObservationPatientCode(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Observation", Params: url.Values{"patient": {w.patient}, "code": {w.code}}}, 1)
}

func BenchmarkSearchPatientFamily(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Patient", Params: url.Values{"family": {w.family}, "_count": {"20"}}}, 1)
}

func BenchmarkSearchPatientRevincludeObservations(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Patient", Params: url.Values{"_id": {w.patient}, "_revinclude": {"Observation:patient"}}}, 2)
}

func BenchmarkSearchObservationChainFamily(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Observation", Params: url.Values{"patient.family": {w.family}, "_count": {"20"}}}, 1)
}

func BenchmarkSearchObservationSortedPage(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Observation", Params: url.Values{"code": {w.code}, "_sort": {"-date"}, "_count": {"20"}}}, 1)
}

func BenchmarkSearchObservationComposite(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Observation", Params: url.Values{
		"component-code-value-quantity": {"http://loinc.org|8480-6$gt140"}, "_count": {"20"}}}, 1)
}

func BenchmarkSearchObservationPatientComposite(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Observation", Params: url.Values{"patient": {w.patient},
		"component-code-value-quantity": {"http://loinc.org|8480-6$gt0"}}}, 1)
}

func BenchmarkSearchConditionContent(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Condition", Params: url.Values{"_content": {"hypertension OR asthma"}, "_count": {"20"}}}, 1)
}

func BenchmarkSearchObservationPatientContent(b *testing.B) {
	w := seededStore(b)
	runSearchBench(b, w, SearchRequest{Type: "Observation", Params: url.Values{"patient": {w.patient}, "_content": {"heart rate"}}}, 1)
}

// BenchmarkLoad measures import with full indexing, in resources/s. Generation (JSON) is
// done before the timer; decoding is part of the load, as for an import.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	patients := min(benchPatients(), 50)
	var docs []seed.Resource
	if err := seed.Generate(seed.Options{Patients: patients, Seed: 1}, func(r seed.Resource) error {
		docs = append(docs, seed.Resource{Type: r.Type, ID: r.ID, JSON: slices.Clone(r.JSON)})
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var raw int
	for _, d := range docs {
		raw += len(d.JSON)
	}
	b.ResetTimer()
	var loaded int
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "s.db")
		s, err := Open(ctx, Options{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		var pending []*TxEntry
		for j, d := range docs {
			m, err := decodeJSON(d.JSON)
			if err != nil {
				b.Fatal(err)
			}
			pending = append(pending, &TxEntry{Method: "PUT", Type: d.Type, ID: d.ID, Resource: m})
			if len(pending) == 2000 || j == len(docs)-1 {
				if _, k, err := s.Transaction(ctx, pending, TxOptions{}); err != nil {
					b.Fatalf("%s/%s: %v", pending[k].Type, pending[k].ID, err)
				}
				pending = pending[:0]
			}
		}
		elapsed += time.Since(t0)
		loaded += len(docs)
		b.StopTimer()
		if fi, err := os.Stat(path); err == nil && i == 0 {
			b.ReportMetric(float64(fi.Size())/float64(raw), "db/raw-json")
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(loaded)/elapsed.Seconds(), "resources/s")
}

// TestSearchBenchSmoke runs each benchmark query once on a small seeded store, so a
// broken benchmark shows up in ordinary test runs. Skipped with -short.
func TestSearchBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a store")
	}
	ctx := context.Background()
	s := openTestStore(t)
	n, err := seedInto(ctx, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctx, SearchRequest{Type: "Patient", Params: url.Values{"_summary": {"count"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total == nil || *res.Total != 2 {
		t.Errorf("%d resources seeded; Patient total %v, want 2", n, res.Total)
	}
	res, err = s.Search(ctx, SearchRequest{Type: "Patient", Params: url.Values{"_count": {"1"}, "_revinclude": {"Observation:patient"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) < 2 {
		t.Errorf("_revinclude of a seeded patient: %d entries", len(res.Entries))
	}
	t.Logf("seeded %d resources for 2 patients; first patient has %d revincluded Observations", n, len(res.Entries)-1)
}
