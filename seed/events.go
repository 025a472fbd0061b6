package seed

import (
	"slices"
	"strings"
	"time"
)

var (
	catCommunity = []codeableConcept{{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/medicationrequest-category", Code: "community", Display: "Community"}}, Text: "Community"}}
	routeOral    = &codeableConcept{Coding: []coding{{System: sysSNOMED, Code: "26643006", Display: "Oral route"}}, Text: "Oral route"}
	routeInhaled = &codeableConcept{Coding: []coding{{System: sysSNOMED, Code: "447694001", Display: "Respiratory tract route"}}, Text: "Respiratory tract route"}
)

// prescriptions emits the MedicationRequests written at encounter i.
func (pb *patientBuilder) prescriptions(i int, encRef *reference) error {
	for _, c := range pb.conds {
		if k := slices.Index(c.rx, i); k >= 0 {
			if err := pb.prescribe(i, c, c.def.Med, k == len(c.rx)-1, encRef); err != nil {
				return err
			}
		}
		if k := slices.Index(c.rx2, i); k >= 0 {
			if err := pb.prescribe(i, c, medSecondLineHTN, k == len(c.rx2)-1, encRef); err != nil {
				return err
			}
		}
	}
	return nil
}

// prescribe writes a MedicationRequest; latest says whether it is the newest for this
// drug (the one still active: renewals complete the earlier ones).
func (pb *patientBuilder) prescribe(i int, c *condPlan, m *medication, latest bool, encRef *reference) error {
	e := pb.encs[i]
	id := pb.next("medrx")
	d := dosage{
		Sequence:        1,
		Text:            m.Dosage,
		Timing:          &timing{Repeat: timingRepeat{Frequency: m.Frequency, Period: dec(m.Period, 0), PeriodUnit: m.PeriodUnit}},
		AsNeededBoolean: m.AsNeeded,
	}
	if strings.Contains(m.Display, "Oral") {
		d.Route = routeOral
	} else if strings.Contains(m.Display, "Inhaler") {
		d.Route = routeInhaled
	}
	status := "active"
	if !c.abated.IsZero() || !latest {
		status = "completed"
	}
	mr := medicationRequest{
		ResourceType:              "MedicationRequest",
		ID:                        id,
		Meta:                      metaMedRequest,
		Status:                    status,
		Intent:                    "order",
		Category:                  catCommunity,
		MedicationCodeableConcept: cc(sysRxNorm, m.RxNorm, m.Display),
		Subject:                   pb.subj,
		Encounter:                 encRef,
		AuthoredOn:                fmtDateTime(e.end.Add(-5 * time.Minute)),
		Requester:                 reference{Reference: "Practitioner/" + e.prac.ID, Display: e.prac.Name},
		ReasonReference:           []reference{{Reference: "Condition/" + c.id, Display: c.def.Display}},
		DosageInstruction:         []dosage{d},
	}
	return pb.put("MedicationRequest", id, &mr)
}

// immunizations emits the vaccines given at encounter i: a seasonal flu shot in the
// autumn, and now and then one of the adult schedule vaccines the patient is due for.
func (pb *patientBuilder) immunizations(i int, encRef *reference) error {
	r, e := pb.r, pb.encs[i]
	var due []vaccineDef
	if m := e.start.Month(); m >= time.September && e.start.Year() > pb.fluSeason && chance(r, 70) {
		pb.fluSeason = e.start.Year()
		due = append(due, vaxFlu)
	}
	age := pb.age(e.start)
	for k, v := range otherVaccines {
		if pb.vaxGiven&(1<<k) != 0 || age < v.MinAge {
			continue
		}
		if v.CVX == vaxCovid.CVX && e.start.Year() < 2021 {
			continue
		}
		if chance(r, 10) {
			pb.vaxGiven |= 1 << k
			due = append(due, v)
		}
	}
	for k, v := range due {
		id := pb.next("imm")
		im := immunization{
			ResourceType:       "Immunization",
			ID:                 id,
			Meta:               metaImmunization,
			Status:             "completed",
			VaccineCode:        cc(sysCVX, v.CVX, v.Display),
			Patient:            pb.subj,
			Encounter:          encRef,
			OccurrenceDateTime: fmtDateTime(e.start.Add(time.Duration(15+5*k) * time.Minute)),
			PrimarySource:      true,
			Location:           refp("Location", e.location),
		}
		if err := pb.put("Immunization", id, &im); err != nil {
			return err
		}
	}
	return nil
}

// procedures emits the procedures performed at encounter i.
func (pb *patientBuilder) procedures(i int, encRef *reference) error {
	r, e := pb.r, pb.encs[i]
	age := pb.age(e.start)
	for k := range procedureDefs {
		p := &procedureDefs[k]
		if age < p.MinAge || (p.SNOMED == "71651007" && pb.male) || !chance(r, p.Chance) {
			continue
		}
		id := pb.next("proc")
		pr := procedure{
			ResourceType:      "Procedure",
			ID:                id,
			Meta:              metaProcedure,
			Status:            "completed",
			Code:              cc(sysSNOMED, p.SNOMED, p.Display),
			Subject:           pb.subj,
			Encounter:         encRef,
			PerformedDateTime: fmtDateTime(e.start.Add(time.Duration(between(r, 5, 20)) * time.Minute)),
			Location:          refp("Location", e.location),
		}
		if p.SNOMED == "73761001" {
			if c := pb.cond("68496003"); c.activeAt(i) {
				pr.ReasonReference = []reference{{Reference: "Condition/" + c.id, Display: c.def.Display}}
			}
		}
		if err := pb.put("Procedure", id, &pr); err != nil {
			return err
		}
	}
	return nil
}
