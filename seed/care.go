package seed

import (
	"html"
	"strings"
)

var (
	allergyActive    = ccNoText(sysAllergyClin, "active", "Active")
	allergyConfirmed = ccNoText(sysAllergyVer, "confirmed", "Confirmed")
	allergyUnconf    = ccNoText(sysAllergyVer, "unconfirmed", "Unconfirmed")
	roleGP           = []codeableConcept{cc(sysSNOMED, "446050000", "Primary care physician")}
	roleOther        = []codeableConcept{cc(sysSNOMED, "158965000", "Medical practitioner")}
	rolePatient      = []codeableConcept{cc(sysSNOMED, "116154003", "Patient")}
	catAssessPlan    = codeableConcept{Coding: []coding{{System: sysCarePlanCat, Code: "assess-plan", Display: "Assessment and Plan of Treatment"}}, Text: "Assessment and Plan of Treatment"}
	carePlanActs     = []code{
		{"226234005", "Healthy diet"},
		{"229065009", "Exercise therapy"},
		{"409002", "Food allergy diet"},
		{"384758001", "Self-care interventions (procedure)"},
	}
)

// allergies emits 0 to 3 AllergyIntolerances, recorded at the first visit.
func (pb *patientBuilder) allergies() error {
	r := pb.r
	n := 0
	switch w := r.IntN(100); {
	case w < 55:
		n = 0
	case w < 85:
		n = 1
	case w < 95:
		n = 2
	default:
		n = 3
	}
	if n == 0 {
		return nil
	}
	recorded := pb.encs[0].start
	order := r.Perm(len(allergyDefs))[:n]
	for _, k := range order {
		a := &allergyDefs[k]
		onset := pb.birth.AddDate(between(r, 2, max(2, pb.age(recorded)-1)), between(r, 0, 11), 0)
		if onset.After(recorded) {
			onset = recorded.AddDate(0, -1, 0)
		}
		sev := "mild"
		if a.Criticality == "high" {
			sev = "severe"
		} else if chance(r, 30) {
			sev = "moderate"
		}
		ver := allergyConfirmed
		if chance(r, 10) {
			ver = allergyUnconf
		}
		if a.Category == "food" {
			pb.foodAllergy = true
		}
		id := pb.next("alg")
		ai := allergyIntolerance{
			ResourceType:       "AllergyIntolerance",
			ID:                 id,
			Meta:               metaAllergy,
			ClinicalStatus:     allergyActive,
			VerificationStatus: ver,
			Type:               "allergy",
			Category:           []string{a.Category},
			Criticality:        a.Criticality,
			Code:               cc(sysSNOMED, a.SNOMED, a.Display),
			Patient:            pb.subj,
			OnsetDateTime:      fmtDate(onset),
			RecordedDate:       fmtDateTime(recorded),
			Reaction: []allergyReaction{{
				Manifestation: []codeableConcept{cc(sysSNOMED, a.Reaction.Code, a.Reaction.Display)},
				Severity:      sev,
			}},
		}
		if err := pb.put("AllergyIntolerance", id, &ai); err != nil {
			return err
		}
	}
	return nil
}

// care emits the patient's CareTeam and then the CarePlan that names it.
func (pb *patientBuilder) care() error {
	r, g := pb.r, pb.g
	start := fmtDateTime(pb.encs[0].start)

	// A second practitioner, never the GP.
	other := g.practitioners[(indexOfPrac(g, pb.gp.ID)+1+r.IntN(len(g.practitioners)-1))%len(g.practitioners)]
	ctID := pb.next("ct")
	ct := careTeam{
		ResourceType: "CareTeam",
		ID:           ctID,
		Meta:         metaCareTeam,
		Status:       "active",
		Name:         "Primary care team for " + pb.name,
		Subject:      pb.subj,
		Period:       &period{Start: start},
		Participant: []careTeamParticipant{
			{Role: roleGP, Member: reference{Reference: "Practitioner/" + pb.gp.ID, Display: pb.gp.Name}},
			{Role: roleOther, Member: reference{Reference: "Practitioner/" + other.ID, Display: other.Name}},
			{Role: rolePatient, Member: reference{Reference: pb.subj.Reference, Display: pb.name}},
		},
		ManagingOrganization: []reference{{Reference: "Organization/" + pb.org.ID, Display: pb.org.Name}},
	}
	if err := pb.put("CareTeam", ctID, &ct); err != nil {
		return err
	}

	var addresses []reference
	var problems []string
	for _, c := range pb.conds {
		if c.def.Chronic {
			addresses = append(addresses, reference{Reference: "Condition/" + c.id, Display: c.def.Display})
			problems = append(problems, c.def.Display)
		}
	}
	acts := []code{carePlanActs[0], carePlanActs[1]}
	if pb.foodAllergy {
		acts = append(acts, carePlanActs[2])
	}
	if len(addresses) > 0 {
		acts = append(acts, carePlanActs[3])
	}
	var div strings.Builder
	div.WriteString(`<div xmlns="http://www.w3.org/1999/xhtml"><p>Care plan for `)
	div.WriteString(html.EscapeString(pb.name))
	div.WriteString(`.</p>`)
	if len(problems) > 0 {
		div.WriteString(`<p>Addresses: `)
		div.WriteString(html.EscapeString(strings.Join(problems, "; ")))
		div.WriteString(`.</p>`)
	}
	div.WriteString(`<p>Activities: `)
	for k, a := range acts {
		if k > 0 {
			div.WriteString("; ")
		}
		div.WriteString(html.EscapeString(a.Display))
	}
	div.WriteString(`.</p></div>`)
	activities := make([]carePlanActivity, len(acts))
	for k, a := range acts {
		activities[k] = carePlanActivity{Detail: carePlanActivityDetail{Code: cc(sysSNOMED, a.Code, a.Display), Status: "in-progress"}}
	}

	cpID := pb.next("cp")
	cp := carePlan{
		ResourceType: "CarePlan",
		ID:           cpID,
		Meta:         metaCarePlan,
		Text:         narrative{Status: "generated", Div: div.String()},
		Status:       "active",
		Intent:       "plan",
		Category:     []codeableConcept{catAssessPlan, cc(sysSNOMED, "734163000", "Care plan")},
		Title:        "Primary care plan",
		Subject:      pb.subj,
		Period:       &period{Start: start},
		Created:      start,
		Author:       &reference{Reference: "Practitioner/" + pb.gp.ID, Display: pb.gp.Name},
		CareTeam:     []reference{{Reference: "CareTeam/" + ctID}},
		Addresses:    addresses,
		Activity:     activities,
	}
	return pb.put("CarePlan", cpID, &cp)
}

func indexOfPrac(g *generator, id string) int {
	for k, p := range g.practitioners {
		if p.ID == id {
			return k
		}
	}
	return 0
}
