package fhirstore

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// benchPaths are the paths benchDecision reads, built once so that the benchmark measures
// the log rather than fmt.
var benchPaths = func() []string {
	p := make([]string, 5000)
	for i := range p {
		p[i] = fmt.Sprintf("/fhir/Patient/pat-%06d", i)
	}
	return p
}()

// benchDecision is the i-th decision of a busy app: the same token (client, user, patient,
// scopes) reading patients, one request in ten denied. With distinct set every decision
// has a reason of its own instead, the worst case for a log that stores each reason once:
// a client probing for ids that do not exist.
func benchDecision(at time.Time, i int, distinct bool) Decision {
	d := Decision{At: at.Add(time.Duration(i) * time.Microsecond), Method: "GET",
		Path: benchPaths[i%len(benchPaths)], Client: "sample-app", User: "Practitioner/prac-0001",
		Patient: "pat-000001", Scopes: "launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs",
		Decision: "allow", Status: 200, Reason: "allowed by the token's scopes"}
	if i%10 == 9 {
		d.Path = "/fhir/MedicationRequest?patient=pat-000001"
		d.Decision, d.Status = "deny", 403
		d.Reason = "the token's scopes do not allow searching MedicationRequest (needs patient/MedicationRequest.s)"
	}
	if distinct {
		d.Status, d.Reason = 404, "Patient/x-"+strconv.Itoa(i)+" is not known"
	}
	return d
}

// processCPU is the CPU time (user + system) this process has used, the decision
// writer's goroutine included.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecisionLog logs decisions through LogDecision and FlushDecisions on a log that
// is already full, so every batch also replaces (or prunes) old ones. cpu-ns/decision is
// the process's CPU time per decision (the background writer's included), the cost the
// log takes from request handling. batch=256 is a busy server (the writer's full
// batches), batch=16 a quieter one; distinct gives every decision a reason of its own.
func BenchmarkDecisionLog(b *testing.B) {
	for _, bc := range []struct {
		batch    int
		distinct bool
	}{{256, false}, {16, false}, {256, true}} {
		name := fmt.Sprintf("batch=%d", bc.batch)
		if bc.distinct {
			name += "/distinct"
		}
		b.Run(name, func(b *testing.B) {
			batch := bc.batch
			s := openTestStore(b)
			at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range MaxDecisions {
				s.LogDecision(benchDecision(at, i, bc.distinct))
				if i%1000 == 999 {
					s.FlushDecisions()
				}
			}
			s.FlushDecisions()
			n := MaxDecisions
			b.ReportAllocs()
			cpu0 := processCPU(b)
			b.ResetTimer()
			for b.Loop() {
				s.LogDecision(benchDecision(at, n, bc.distinct))
				n++
				if n%batch == 0 {
					s.FlushDecisions()
				}
			}
			s.FlushDecisions()
			b.StopTimer()
			logged := n - MaxDecisions
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(logged), "cpu-ns/decision")
			ds, err := s.Decisions(b.Context(), DecisionFilter{Limit: MaxDecisions})
			if err != nil {
				b.Fatal(err)
			}
			// Nothing dropped (the queue never fills) and the log stays bounded.
			if newest := at.Add(time.Duration(n-1) * time.Microsecond); len(ds) != MaxDecisions || !ds[0].At.Equal(newest) {
				b.Fatalf("log holds %d decisions; want %d, the newest at %v", len(ds), MaxDecisions, newest)
			}
		})
	}
}
