package fhirstore

import (
	"context"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"
)

// BenchmarkBigStore measures the common searches on an existing large store:
//
//	go run . seed --db /tmp/big.db --patients 5800   # about 1,030,000 resources
//	FHIRBOX_BENCH_DB=/tmp/big.db go test ./fhirstore -run XXX -bench BigStore
func BenchmarkBigStore(b *testing.B) {
	path := os.Getenv("FHIRBOX_BENCH_DB")
	if path == "" {
		b.Skip("set FHIRBOX_BENCH_DB to a store built with fhirbox seed")
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cases := []struct {
		name   string
		typ    string
		params url.Values
	}{
		{"Observation?patient&code", "Observation", url.Values{"patient": {"pat-002900"}, "code": {"http://loinc.org|8867-4"}}},
		{"Patient?family&_count=20", "Patient", url.Values{"family": {"wilson"}, "_count": {"20"}}},
		{"Patient?_id&_revinclude=Observation:patient", "Patient", url.Values{"_id": {"pat-002900"}, "_revinclude": {"Observation:patient"}, "_count": {"1"}}},
		{"Patient?family&_revinclude=Observation:patient&_count=3", "Patient", url.Values{"family": {"wilson"}, "_revinclude": {"Observation:patient"}, "_count": {"3"}}},
		{"Patient?_id&_revinclude=*", "Patient", url.Values{"_id": {"pat-002900"}, "_revinclude": {"*"}, "_count": {"1"}}},
		{"Patient?family&_revinclude=*&_count=3", "Patient", url.Values{"family": {"wilson"}, "_revinclude": {"*"}, "_count": {"3"}}},
		{"Observation?code&date=ge2025&_count=20", "Observation", url.Values{"code": {"8867-4"}, "date": {"ge2025-06"}, "_count": {"20"}, "_total": {"none"}}},
		{"Condition?patient.family&_count=20", "Condition", url.Values{"patient.family": {"carter"}, "_count": {"20"}, "_total": {"none"}}},
		{"Observation?code-value-quantity=8867-4$gt100&_count=20", "Observation", url.Values{"code-value-quantity": {"http://loinc.org|8867-4$gt100"}, "_count": {"20"}, "_total": {"none"}}},
		{"Observation?patient&code-value-quantity", "Observation", url.Values{"patient": {"pat-002900"}, "code-value-quantity": {"http://loinc.org|8867-4$gt60"}}},
		{"Observation?patient&_sort=-date&_count=20", "Observation", url.Values{"patient": {"pat-002900"}, "_sort": {"-date"}, "_count": {"20"}}},
		{"Condition?_content=diabetes&_count=20", "Condition", url.Values{"_content": {"diabetes"}, "_count": {"20"}, "_total": {"none"}}},
		{"Observation?patient&_content=heart", "Observation", url.Values{"patient": {"pat-002900"}, "_content": {"heart"}}},
	}
	if os.Getenv("FHIRBOX_BENCH_EXPLAIN") != "" {
		// EXPLAIN QUERY PLAN of each search's page query.
		for _, c := range cases {
			traceSearch = func(sqlText string, args []any) {
				rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+sqlText, args...)
				if err != nil {
					b.Fatal(err)
				}
				defer rows.Close()
				b.Logf("%s\n%s", c.name, sqlText)
				for rows.Next() {
					var id, parent, notused int
					var detail string
					rows.Scan(&id, &parent, &notused, &detail)
					b.Logf("  %d %d %s", id, parent, detail)
				}
			}
			if _, err := s.Search(ctx, SearchRequest{Type: c.typ, Params: c.params}); err != nil {
				b.Fatal(err)
			}
		}
		traceSearch = nil
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var times []time.Duration
			var n int
			for i := 0; i < b.N; i++ {
				start := time.Now()
				res, err := s.Search(ctx, SearchRequest{Type: c.typ, Params: c.params})
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
				n = len(res.Entries)
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(n), "entries")
		})
	}
}
