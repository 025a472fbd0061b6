package fhirstore

import (
	"context"
	"database/sql"
)

// Indexer maintains the derived rows of a resource (search indexes, compartment membership)
// inside the write transaction that stores it, so indexes never lag the data.
type Indexer interface {
	Migrations() []Migration
	Index(ctx context.Context, tx *sql.Tx, rid int64, resourceType string, res map[string]any) error
	Unindex(ctx context.Context, tx *sql.Tx, rid int64) error
}
