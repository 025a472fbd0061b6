package seed

import "time"

// labs emits the laboratory panels drawn at encounter i, each as its Observations
// followed by the DiagnosticReport that groups them.
func (pb *patientBuilder) labs(i int, encRef *reference) error {
	r, e := pb.r, pb.encs[i]
	var want [labA1c + 1]bool
	if e.typ == encounterTypes[0] {
		want[labBMP] = chance(r, 70)
		want[labLipid] = chance(r, 50)
		want[labCBC] = chance(r, 40)
	}
	for _, c := range pb.conds {
		if !c.activeAt(i) || !c.abated.IsZero() {
			continue
		}
		for _, p := range c.def.Labs {
			if c.enc == i || chance(r, 45) {
				want[p] = true
			}
		}
	}
	for p, ok := range want {
		if !ok {
			continue
		}
		if err := pb.panel(i, &labPanels[p], encRef); err != nil {
			return err
		}
	}
	return nil
}

func (pb *patientBuilder) panel(i int, p *labPanel, encRef *reference) error {
	r, e := pb.r, pb.encs[i]
	drawn := e.start.Add(time.Duration(between(r, 10, 25)) * time.Minute)
	issued := drawn.Add(time.Duration(between(r, 4, 40)) * time.Hour)
	eff, iss := fmtDateTime(drawn), fmtDateTime(issued)
	org := pb.g.orgs[e.prac.Org]
	performer := []reference{{Reference: "Organization/" + org.ID, Display: org.Name}}

	results := make([]reference, 0, len(p.Analytes))
	for k := range p.Analytes {
		a := &p.Analytes[k]
		mean, sd := pb.labDistribution(i, a)
		v := round(max(normal(r, mean, sd), a.Low*0.3, 0.01), a.Places)
		interp := interpN
		if v > a.High {
			interp = interpH
		} else if v < a.Low {
			interp = interpL
		}
		rr := referenceRange{High: &simpleQuantity{Value: dec(a.High, a.Places), Unit: a.Unit, System: sysUCUM, Code: a.UCUM}}
		if a.Low > 0 {
			rr.Low = &simpleQuantity{Value: dec(a.Low, a.Places), Unit: a.Unit, System: sysUCUM, Code: a.UCUM}
		}
		id := pb.next("obs")
		o := observation{
			ResourceType:      "Observation",
			ID:                id,
			Meta:              metaLabObs,
			Status:            "final",
			Category:          catLab,
			Code:              cc(sysLOINC, a.LOINC, a.Display),
			Subject:           pb.subj,
			Encounter:         encRef,
			EffectiveDateTime: eff,
			Issued:            iss,
			Performer:         performer,
			ValueQuantity:     ucum(v, a.Places, a.Unit, a.UCUM),
			Interpretation:    interp,
			ReferenceRange:    []referenceRange{rr},
		}
		if err := pb.put("Observation", id, &o); err != nil {
			return err
		}
		results = append(results, reference{Reference: "Observation/" + id})
	}
	id := pb.next("dr")
	dr := diagnosticReport{
		ResourceType:      "DiagnosticReport",
		ID:                id,
		Meta:              metaLabReport,
		Status:            "final",
		Category:          catDRLab,
		Code:              cc(sysLOINC, p.LOINC, p.Display),
		Subject:           pb.subj,
		Encounter:         encRef,
		EffectiveDateTime: eff,
		Issued:            iss,
		Performer:         performer,
		Result:            results,
	}
	return pb.put("DiagnosticReport", id, &dr)
}

// labDistribution returns the mean and standard deviation of an analyte for this
// patient at encounter i, shifted by the conditions diagnosed so far.
func (pb *patientBuilder) labDistribution(i int, a *analyte) (mean, sd float64) {
	mean, sd = a.Mean, a.SD
	active := func(snomed string) bool { return pb.cond(snomed).activeAt(i) }
	treated := func(snomed string) bool { c := pb.cond(snomed); return c != nil && c.enc < i }
	switch a.LOINC {
	case "2339-0": // glucose
		if active("44054006") {
			mean, sd = 150, 28
			if treated("44054006") {
				mean = 128
			}
		} else if active("15777000") {
			mean, sd = 108, 8
		}
	case "4548-4": // HbA1c
		if active("44054006") {
			mean, sd = 7.8, 0.8
			if treated("44054006") {
				mean = 7.0
			}
		} else if active("15777000") {
			mean, sd = 6.0, 0.2
		}
	case "2093-3", "18262-6", "2571-8": // cholesterol, LDL, triglycerides
		if active("55822004") {
			mean *= 1.3
			if treated("55822004") {
				mean *= 0.8
			}
		}
	case "2085-9": // HDL
		if pb.bmi >= 30 {
			mean -= 8
		}
	case "718-7", "4544-3": // hemoglobin, hematocrit
		if !pb.male {
			mean *= 0.95
		}
		if active("271737000") {
			mean *= 0.8
		}
	case "2160-0": // creatinine
		if pb.male {
			mean += 0.12
		}
		if active("44054006") && chance(pb.r, 20) {
			mean += 0.4
		}
	}
	return mean, sd
}
