package seed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Generate builds the population described by opts and hands each resource to emit, in
// an order where every reference points to a resource emitted earlier: the shared
// Organizations, Locations and Practitioners first, then for each patient the Patient
// followed by its resources (each Encounter before what happened during it). Generation
// stops at the first error emit returns, and Generate returns that error.
func Generate(opts Options, emit func(Resource) error) error {
	if opts.Patients < 0 {
		return fmt.Errorf("seed: negative patient count %d", opts.Patients)
	}
	now := opts.Start
	if now.IsZero() {
		now = DefaultStart
	}
	now = now.UTC()
	g := &generator{seed: opts.Seed, now: now, emit: emit}
	g.enc = json.NewEncoder(&g.buf)
	g.enc.SetEscapeHTML(false) // narrative XHTML stays readable
	if err := g.shared(opts.Patients); err != nil {
		return err
	}
	for i := 1; i <= opts.Patients; i++ {
		pb := g.newPatient(i)
		if err := pb.build(); err != nil {
			return err
		}
	}
	return nil
}

// generator holds state shared by the whole run.
type generator struct {
	seed int64
	now  time.Time
	emit func(Resource) error

	practitioners []pracInfo
	orgs          []orgInfo

	buf bytes.Buffer
	enc *json.Encoder
}

type pracInfo struct {
	ID, Name string
	Org      int // index into orgs
}

type orgInfo struct {
	ID, Name  string
	Locations []string // location ids
}

// put encodes v and emits it. The JSON handed to emit is a fresh slice the callee may
// keep.
func (g *generator) put(typ, id string, v any) error {
	g.buf.Reset()
	if err := g.enc.Encode(v); err != nil {
		return fmt.Errorf("seed: encoding %s/%s: %w", typ, id, err)
	}
	b := bytes.Clone(bytes.TrimSuffix(g.buf.Bytes(), []byte{'\n'}))
	return g.emit(Resource{Type: typ, ID: id, JSON: b})
}

// splitmix64 scrambles seeds so that neighbouring patients get unrelated streams.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng returns the random stream number n of this run (0 for shared resources, i for
// patient i).
func (g *generator) rng(n int) *rand.Rand {
	a := splitmix64(uint64(g.seed) ^ splitmix64(uint64(n)))
	b := splitmix64(a + uint64(n) + 0x5eed)
	return rand.New(rand.NewPCG(a, b))
}

// Small random helpers.

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// between returns an int in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

func chance(r *rand.Rand, percent int) bool { return r.IntN(100) < percent }

// normal draws from N(mean, sd) clipped to [mean-3sd, mean+3sd].
func normal(r *rand.Rand, mean, sd float64) float64 {
	z := r.NormFloat64()
	if z > 3 {
		z = 3
	} else if z < -3 {
		z = -3
	}
	return mean + z*sd
}

func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}

func fmtDateTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
func fmtDate(t time.Time) string     { return t.UTC().Format(time.DateOnly) }

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func phone(r *rand.Rand, area string) string {
	return fmt.Sprintf("%s-555-%04d", area, r.IntN(10000))
}
