// Package seed builds a deterministic synthetic population of FHIR R4 resources
// (patients with coherent clinical histories, plus the practitioners, organizations and
// locations they reference), and describes the demo users and SMART clients that go with
// it.
//
// The same Options always produce the same resources, byte for byte: every random
// choice comes from a math/rand/v2 PCG stream seeded from Options.Seed (one stream for the
// shared resources, one per patient, so patient N is the same whatever the population
// size). Resources carry no meta; the server sets it on load.
package seed

import (
	"fmt"
	"time"
)

// Resource is one generated FHIR resource: its type, its id and its compact JSON, with
// resourceType as the first member.
type Resource struct {
	Type, ID string
	JSON     []byte
}

// Options controls a generation run.
type Options struct {
	// Patients is the number of patients to generate (0 means none; the shared
	// organizations, locations and practitioners are still emitted).
	Patients int
	// Seed selects the population; the same seed gives the same resources.
	Seed int64
	// Now is the reference date: every clinical date lies before it. The zero value
	// means DefaultNow, so that output does not depend on the clock.
	Now time.Time
}

// DefaultNow is the reference date used when Options.Now is zero.
var DefaultNow = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// DefaultPatients is the size of the default demo population.
const DefaultPatients = 50

// Well-known ids, stable across seeds (only their clinical content depends on the seed).
const (
	// DemoPatientID is the first patient, "Emily Carter", portal user patient1.
	DemoPatientID = "pat-000001"
	// DemoPatient2ID is "James Wilson", portal user patient2.
	DemoPatient2ID = "pat-000002"
	// DemoPatient3ID is "Sofia Martinez", portal user patient3.
	DemoPatient3ID = "pat-000003"

	// DemoOrganizationID is the main clinic, "Fhirbox General Hospital".
	DemoOrganizationID = "org-0001"
	// DemoLocationID is the main clinic's outpatient location.
	DemoLocationID = "loc-0001"
)

// DemoPatientIDs lists the fixed patient ids in order (present when Patients >= 3).
var DemoPatientIDs = []string{DemoPatientID, DemoPatient2ID, DemoPatient3ID}

// DemoPractitionerIDs are the practitioners behind the demo users dr.smith, dr.jones and
// dr.garcia (always generated, whatever the seed).
var DemoPractitionerIDs = []string{"prac-0001", "prac-0002", "prac-0003"}

// Counts of the shared resources.
const (
	numOrganizations = 5
	numLocations     = 10
	minPractitioners = 20
)

// numPractitioners scales the practitioner pool with the population (about one per 100
// patients, at least minPractitioners).
func numPractitioners(patients int) int {
	n := patients / 100
	if n < minPractitioners {
		n = minPractitioners
	}
	return n
}

func patientID(i int) string      { return fmt.Sprintf("pat-%06d", i) }
func organizationID(i int) string { return fmt.Sprintf("org-%04d", i) }
func locationID(i int) string     { return fmt.Sprintf("loc-%04d", i) }
func practitionerID(i int) string { return fmt.Sprintf("prac-%04d", i) }

// childID builds the id of a patient's resource: prefix-PPPPPP-NNNN.
func childID(prefix string, patient, n int) string {
	return fmt.Sprintf("%s-%06d-%04d", prefix, patient, n)
}
