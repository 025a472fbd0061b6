package seed

import "time"

// Shared, read-only concepts (the encoder does not mutate them).
var (
	catVitals      = []codeableConcept{{Coding: []coding{{System: sysObsCategory, Code: "vital-signs", Display: "Vital Signs"}}, Text: "Vital Signs"}}
	catLab         = []codeableConcept{{Coding: []coding{{System: sysObsCategory, Code: "laboratory", Display: "Laboratory"}}, Text: "Laboratory"}}
	catDRLab       = []codeableConcept{{Coding: []coding{{System: sysV2DiagService, Code: "LAB", Display: "Laboratory"}}}}
	catProblemList = []codeableConcept{{Coding: []coding{{System: sysCondCategory, Code: "problem-list-item", Display: "Problem List Item"}}, Text: "Problem List Item"}}
	classAMB       = coding{System: sysActCode, Code: "AMB", Display: "ambulatory"}
	partPrimary    = []codeableConcept{{Coding: []coding{{System: sysPartType, Code: "PPRF", Display: "primary performer"}}, Text: "primary performer"}}
	condActive     = ccNoText(sysCondClinical, "active", "Active")
	condResolved   = ccNoText(sysCondClinical, "resolved", "Resolved")
	condConfirmed  = ccNoText(sysCondVerStatus, "confirmed", "Confirmed")
	interpH        = []codeableConcept{{Coding: []coding{{System: sysInterpretation, Code: "H", Display: "High"}}, Text: "High"}}
	interpL        = []codeableConcept{{Coding: []coding{{System: sysInterpretation, Code: "L", Display: "Low"}}, Text: "Low"}}
	interpN        = []codeableConcept{{Coding: []coding{{System: sysInterpretation, Code: "N", Display: "Normal"}}, Text: "Normal"}}
)

// encounter emits encounter i and everything recorded during it.
func (pb *patientBuilder) encounter(i int) error {
	e := pb.encs[i]
	res := encounter{
		ResourceType: "Encounter",
		ID:           e.id,
		Meta:         metaEncounter,
		Identifier:   []identifier{{Use: "official", System: "http://fhirbox.local/encounter", Value: e.id}},
		Status:       "finished",
		Class:        classAMB,
		Type:         []codeableConcept{cc(sysSNOMED, e.typ.Code, e.typ.Display)},
		Subject:      reference{Reference: pb.subj.Reference, Display: pb.name},
		Participant: []encounterParticipant{{
			Type:       partPrimary,
			Period:     &period{Start: fmtDateTime(e.start), End: fmtDateTime(e.end)},
			Individual: reference{Reference: "Practitioner/" + e.prac.ID, Display: e.prac.Name},
		}},
		Period:          period{Start: fmtDateTime(e.start), End: fmtDateTime(e.end)},
		Location:        []encounterLocation{{Location: ref("Location", e.location)}},
		ServiceProvider: reference{Reference: "Organization/" + pb.g.orgs[e.prac.Org].ID, Display: pb.g.orgs[e.prac.Org].Name},
	}
	if e.reason != nil {
		res.ReasonCode = []codeableConcept{cc(sysSNOMED, e.reason.def.SNOMED, e.reason.def.Display)}
	}
	if err := pb.put("Encounter", e.id, res); err != nil {
		return err
	}
	encRef := refp("Encounter", e.id)

	// Diagnoses made at this visit.
	for _, c := range pb.conds {
		if c.enc != i {
			continue
		}
		cr := condition{
			ResourceType:       "Condition",
			ID:                 c.id,
			Meta:               metaCondition,
			ClinicalStatus:     condActive,
			VerificationStatus: condConfirmed,
			Category:           catProblemList,
			Code:               cc(sysSNOMED, c.def.SNOMED, c.def.Display),
			Subject:            pb.subj,
			Encounter:          encRef,
			OnsetDateTime:      fmtDateTime(c.onset),
			RecordedDate:       fmtDateTime(e.end),
			Recorder:           refp("Practitioner", e.prac.ID),
		}
		if !c.abated.IsZero() {
			cr.ClinicalStatus = condResolved
			cr.AbatementDateTime = fmtDateTime(c.abated)
		}
		if err := pb.put("Condition", c.id, cr); err != nil {
			return err
		}
	}

	if err := pb.vitals(i, encRef); err != nil {
		return err
	}
	if err := pb.labs(i, encRef); err != nil {
		return err
	}
	if err := pb.prescriptions(i, encRef); err != nil {
		return err
	}
	if err := pb.immunizations(i, encRef); err != nil {
		return err
	}
	return pb.procedures(i, encRef)
}

func (pb *patientBuilder) vitalObs(v *vitalDef, encRef *reference, at string, q *quantity) observation {
	return observation{
		ResourceType:      "Observation",
		ID:                pb.next("obs"),
		Meta:              v.Meta,
		Status:            "final",
		Category:          catVitals,
		Code:              codeableConcept{Coding: []coding{{System: sysLOINC, Code: v.LOINC, Display: v.Display}}, Text: v.Text},
		Subject:           pb.subj,
		Encounter:         encRef,
		EffectiveDateTime: at,
		ValueQuantity:     q,
	}
}

// vitals emits the vital signs taken at encounter i.
func (pb *patientBuilder) vitals(i int, encRef *reference) error {
	r, e := pb.r, pb.encs[i]
	at := fmtDateTime(e.start.Add(time.Duration(between(r, 2, 8)) * time.Minute))

	pb.bmi += normal(r, 0, 0.35) // weight drifts between visits
	pb.bmi = max(17, min(pb.bmi, 45))
	h := pb.heightCM + normal(r, 0, 0.3)
	weight := round(pb.bmi*(pb.heightCM/100)*(pb.heightCM/100), 1)
	bmi := weight / ((h / 100) * (h / 100))

	temp := normal(r, 36.8, 0.25)
	hr := normal(r, pb.hr, 5)
	rr := normal(r, pb.rr, 1.2)
	if e.reason != nil && !e.reason.def.Chronic {
		temp = 37.4 + r.Float64()*1.2
		hr += 8
		rr += 2
	}
	spo2 := min(100, normal(r, pb.spo2, 0.8))
	sys, dia := normal(r, pb.sys, 6), normal(r, pb.dia, 4)
	if c := pb.cond("38341003"); c != nil && c.enc < i {
		sys -= 14
		dia -= 8
		if c.med2Enc > 0 && c.med2Enc < i {
			sys -= 6
			dia -= 3
		}
	}

	obs := [...]observation{
		pb.vitalObs(&vitalHeartRate, encRef, at, ucum(hr, 0, vitalHeartRate.Unit, vitalHeartRate.UCUM)),
		pb.vitalObs(&vitalResp, encRef, at, ucum(rr, 0, vitalResp.Unit, vitalResp.UCUM)),
		pb.vitalObs(&vitalTemp, encRef, at, ucum(temp, 1, vitalTemp.Unit, vitalTemp.UCUM)),
		pb.vitalObs(&vitalWeight, encRef, at, ucum(weight, 1, vitalWeight.Unit, vitalWeight.UCUM)),
		pb.vitalObs(&vitalHeight, encRef, at, ucum(h, 1, vitalHeight.Unit, vitalHeight.UCUM)),
		pb.vitalObs(&vitalBMI, encRef, at, ucum(bmi, 1, vitalBMI.Unit, vitalBMI.UCUM)),
		pb.vitalObs(&vitalSpO2, encRef, at, ucum(spo2, 0, vitalSpO2.Unit, vitalSpO2.UCUM)),
		pb.vitalObs(&vitalDef{LOINC: bpPanelLOINC, Display: bpPanelDisplay, Text: "Blood pressure", Meta: metaBloodPressure}, encRef, at, nil),
	}
	// US Core pulse oximetry carries both codes.
	obs[6].Code.Coding = append(obs[6].Code.Coding, coding{System: sysLOINC, Code: spo2AltLOINC, Display: spo2AltDisplay})
	obs[7].Component = []obsComponent{
		{Code: cc(sysLOINC, vitalSystolic.LOINC, vitalSystolic.Display), ValueQuantity: ucum(sys, 0, vitalSystolic.Unit, vitalSystolic.UCUM)},
		{Code: cc(sysLOINC, vitalDiastolic.LOINC, vitalDiastolic.Display), ValueQuantity: ucum(dia, 0, vitalDiastolic.Unit, vitalDiastolic.UCUM)},
	}
	for k := range obs {
		if err := pb.put("Observation", obs[k].ID, &obs[k]); err != nil {
			return err
		}
	}
	return nil
}
