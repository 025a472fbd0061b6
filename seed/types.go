// Package seed builds a deterministic synthetic population of FHIR R4 resources
// (patients with coherent clinical histories, plus the practitioners, organizations and
// locations they reference), and describes the demo users and SMART clients that go with
// it.
//
// The same Options always produce the same resources, byte for byte: every random
// choice comes from a math/rand/v2 PCG stream seeded from Options.Seed (one stream for the
// shared resources, one per patient, so patient N is the same whatever the population
// size). Nothing depends on the clock: Options.Start stands for "now". Resources carry
// meta.profile (the US Core profile each aims at) and no other meta: the server sets
// versionId and lastUpdated on load.
//
// Besides the data: DemoUsers and DemoClients describe the demo logins and SMART clients
// to register, NewBackendKey makes the backend-service client's key pair, and SampleApp
// is the sample SMART app the server mounts at /app/.
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
	// Start is the fixed reference "now": every clinical date lies before it, and
	// ages are counted to it. The zero value means DefaultStart, so that output never
	// depends on the clock.
	Start time.Time
}

// DefaultStart is the reference date used when Options.Start is zero.
var DefaultStart = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

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

// Practitioners behind the demo users, always generated whatever the seed or size.
const (
	// DemoPractitionerID is "Dr. Alice Smith", user dr.smith, the general practitioner
	// of DemoPatientID.
	DemoPractitionerID = "prac-0001"
	// DemoPractitioner2ID is "Dr. Robert Jones", user dr.jones, GP of DemoPatient2ID.
	DemoPractitioner2ID = "prac-0002"
	// DemoPractitioner3ID is "Dr. Maria Garcia", user dr.garcia, GP of DemoPatient3ID.
	DemoPractitioner3ID = "prac-0003"
)

// DemoPractitionerIDs lists the demo practitioners in order.
var DemoPractitionerIDs = []string{DemoPractitionerID, DemoPractitioner2ID, DemoPractitioner3ID}

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
