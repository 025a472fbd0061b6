package seed

import (
	"slices"
	"time"
)

// plan lays out the patient's history before anything is emitted: encounter dates,
// diagnoses, prescriptions and physiology baselines.
func (pb *patientBuilder) plan() {
	r, now := pb.r, pb.g.now

	// Encounters: 5 to 20 visits over the last 3 to 10 years (not before age 18), ending
	// at least a week before the reference date.
	n := between(r, 5, 20)
	years := between(r, 3, 10)
	if a := pb.age(now) - 18; a < years {
		years = max(a, 1)
	}
	last := now.AddDate(0, 0, -7)
	first := last.AddDate(-years, 0, 0)
	if adult := pb.birth.AddDate(18, 0, 1); first.Before(adult) {
		first = adult
	}
	spanDays := int(last.Sub(first).Hours()/24) - n
	days := make([]int, n)
	for i := range days {
		days[i] = r.IntN(spanDays)
	}
	slices.Sort(days)
	for i := range days {
		days[i] += i // distinct days, at most one visit a day
	}
	base := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
	pb.encs = make([]*encPlan, n)
	for i := range pb.encs {
		start := base.AddDate(0, 0, days[i]).Add(time.Duration(between(r, 8*4, 16*4)) * 15 * time.Minute)
		e := &encPlan{
			id:    pb.next("enc"),
			start: start,
			end:   start.Add(time.Duration(between(r, 2, 6)) * 10 * time.Minute),
			prac:  pb.gp,
			typ:   encounterTypes[1],
		}
		if chance(r, 15) {
			e.prac = pb.g.practitioners[r.IntN(len(pb.g.practitioners))]
		}
		locs := pb.g.orgs[e.prac.Org].Locations
		e.location = locs[0]
		if len(locs) > 1 && chance(r, 20) {
			e.location = locs[1]
		}
		pb.encs[i] = e
	}
	pb.encs[0].typ = encounterTypes[0]

	// Conditions: each definition rolls against its prevalence; keep 1 to 5.
	for k := range conditionDefs {
		def := &conditionDefs[k]
		if pb.age(now) >= def.MinAge+2 && chance(r, def.Prevalence) {
			pb.conds = append(pb.conds, &condPlan{def: def})
		}
	}
	if len(pb.conds) == 0 {
		pb.conds = append(pb.conds, &condPlan{def: &conditionDefs[12+r.IntN(3)]}) // an acute infection
	}
	if len(pb.conds) > 5 {
		r.Shuffle(len(pb.conds), func(i, j int) { pb.conds[i], pb.conds[j] = pb.conds[j], pb.conds[i] })
		pb.conds = pb.conds[:5]
		slices.SortFunc(pb.conds, func(a, b *condPlan) int { return comparePtrIndex(a.def, b.def) })
	}
	used := make(map[int]bool, len(pb.conds))
	for _, c := range pb.conds {
		// Chronic diagnoses tend to come early; acute ones anywhere. One new diagnosis a visit.
		hi := n
		if c.def.Chronic {
			hi = (n + 1) / 2
		}
		e := r.IntN(hi)
		for used[e] && e < n-1 {
			e++
		}
		used[e] = true
		c.enc = e
		c.id = pb.next("cond")
		c.onset = pb.encs[e].start
		if e > 0 || !c.def.Chronic {
			pb.encs[e].typ = encounterTypes[3]
		}
		pb.encs[e].reason = c
		if !c.def.Chronic {
			c.abated = c.onset.AddDate(0, 0, between(r, 7, 21))
			if !c.abated.Before(now) {
				c.abated = time.Time{}
			}
		}
		if c.def == &conditionDefs[0] && e < n-1 && chance(r, 35) {
			c.med2Enc = between(r, e+1, n-1)
		}
	}
	for _, c := range pb.conds {
		if c.def.Med != nil {
			c.rx = pb.renewals(c.enc)
		}
		if c.med2Enc > 0 {
			c.rx2 = pb.renewals(c.med2Enc)
		}
	}
	for i, e := range pb.encs {
		if i > 0 && e.reason == nil && pb.chronicBefore(i) {
			e.typ = encounterTypes[2]
		}
	}

	// Physiology baselines.
	if pb.male {
		pb.heightCM = normal(r, 176, 7)
	} else {
		pb.heightCM = normal(r, 162, 6.5)
	}
	pb.bmi = normal(r, 26, 3)
	if pb.has("162864005") {
		pb.bmi = 30.5 + r.Float64()*8
	} else if pb.bmi >= 30 {
		pb.bmi = 29.4
	}
	pb.hr = normal(r, 72, 7)
	pb.rr = normal(r, 15, 1.5)
	pb.spo2 = normal(r, 97.5, 0.8)
	if pb.has("195967001") {
		pb.spo2 -= 1.5
	}
	pb.sys, pb.dia = normal(r, 118, 7), normal(r, 76, 5)
	if pb.has("38341003") {
		pb.sys, pb.dia = normal(r, 146, 6), normal(r, 91, 4)
	}
}

// renewals returns encounter first and each later encounter at least 330 days after the
// previous prescription: long-term drugs are renewed about once a year, at a visit.
func (pb *patientBuilder) renewals(first int) []int {
	out := []int{first}
	last := pb.encs[first].start
	for i := first + 1; i < len(pb.encs); i++ {
		if pb.encs[i].start.Sub(last) >= 330*24*time.Hour {
			out = append(out, i)
			last = pb.encs[i].start
		}
	}
	return out
}

func comparePtrIndex(a, b *conditionDef) int {
	ia, ib := defIndex(a), defIndex(b)
	return ia - ib
}

func defIndex(d *conditionDef) int {
	for i := range conditionDefs {
		if &conditionDefs[i] == d {
			return i
		}
	}
	return -1
}

// has reports whether the patient is ever diagnosed with the SNOMED code.
func (pb *patientBuilder) has(snomed string) bool {
	return pb.cond(snomed) != nil
}

func (pb *patientBuilder) cond(snomed string) *condPlan {
	for _, c := range pb.conds {
		if c.def.SNOMED == snomed {
			return c
		}
	}
	return nil
}

// activeAt reports whether the condition has been diagnosed by encounter i.
func (c *condPlan) activeAt(i int) bool { return c != nil && c.enc <= i }

func (pb *patientBuilder) chronicBefore(i int) bool {
	for _, c := range pb.conds {
		if c.def.Chronic && c.enc < i {
			return true
		}
	}
	return false
}
