package main

import (
	"context"
	"path/filepath"
	"testing"

	"fhirbox/fhirstore"
)

// BenchmarkSeedLoad measures generation plus loading with full indexing, in resources/s.
func BenchmarkSeedLoad(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		store, err := fhirstore.Open(ctx, fhirstore.Options{Path: filepath.Join(b.TempDir(), "s.db")})
		if err != nil {
			b.Fatal(err)
		}
		n, err := loadSeed(ctx, store, 50, 1, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds()*float64(i+1)/float64(i+1), "resources/s")
		store.Close()
	}
}
