package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// demoPatients fixes the names of the first patients (the portal users).
var demoPatients = []struct{ Given, Family, Gender string }{
	{"Emily", "Carter", "female"},
	{"James", "Wilson", "male"},
	{"Sofia", "Martinez", "female"},
}

// patientBuilder generates one patient and everything recorded about them.
type patientBuilder struct {
	g     *generator
	r     *rand.Rand
	idx   int
	id    string
	subj  reference
	birth time.Time
	male  bool

	gp   pracInfo // general practitioner
	org  orgInfo  // managing organization
	name string

	counters map[string]int

	// physiology baselines
	heightCM, bmi, hr, rr, spo2, sys, dia float64

	conds []*condPlan
	encs  []*encPlan

	fluSeason   int    // last year (of the Sep-Dec season) with a flu shot
	vaxGiven    uint32 // bit k set when otherVaccines[k] was given
	foodAllergy bool
}

type condPlan struct {
	def     *conditionDef
	id      string
	enc     int // index of the diagnosing encounter
	onset   time.Time
	abated  time.Time
	med2Enc int // encounter adding the second-line drug (0 for none)

	// Encounters writing a prescription for the condition's drug and for the
	// second-line drug: the first, then a renewal at the first visit a year or more on.
	rx, rx2 []int
}

type encPlan struct {
	id       string
	start    time.Time
	end      time.Time
	prac     pracInfo
	location string
	typ      code
	reason   *condPlan
}

func (g *generator) newPatient(i int) *patientBuilder {
	pb := &patientBuilder{g: g, r: g.rng(i), idx: i, id: patientID(i), counters: make(map[string]int, 12)}
	pb.subj = ref("Patient", pb.id)
	return pb
}

// next returns the next id with the given prefix for this patient.
func (pb *patientBuilder) next(prefix string) string {
	pb.counters[prefix]++
	return childID(prefix, pb.idx, pb.counters[prefix])
}

func (pb *patientBuilder) age(at time.Time) int {
	y := at.Year() - pb.birth.Year()
	if at.YearDay() < pb.birth.YearDay() {
		y--
	}
	return y
}

func (pb *patientBuilder) put(typ, id string, v any) error { return pb.g.put(typ, id, v) }

func (pb *patientBuilder) build() error {
	if err := pb.patient(); err != nil {
		return err
	}
	pb.plan()
	if err := pb.allergies(); err != nil {
		return err
	}
	for i := range pb.encs {
		if err := pb.encounter(i); err != nil {
			return err
		}
	}
	return pb.care()
}

func (pb *patientBuilder) patient() error {
	r, g := pb.r, pb.g
	var given, family, gender string
	if pb.idx <= len(demoPatients) {
		d := demoPatients[pb.idx-1]
		given, family, gender = d.Given, d.Family, d.Gender
	} else {
		if chance(r, 51) {
			given, gender = pick(r, femaleNames), "female"
		} else {
			given, gender = pick(r, maleNames), "male"
		}
		family = pick(r, familyNames)
	}
	pb.male = gender == "male"
	middle := pick(r, femaleNames)
	if pb.male {
		middle = pick(r, maleNames)
	}
	pb.name = given + " " + family

	// Adults from 19 to 92 years old on the reference date (at least a year of adult visits).
	ageDays := between(r, 19*365+40, 92*365)
	pb.birth = time.Date(g.now.Year(), g.now.Month(), g.now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -ageDays)

	pb.gp = g.practitioners[r.IntN(len(g.practitioners))]
	if pb.idx <= len(DemoPractitionerIDs) && pb.idx <= len(g.practitioners) {
		pb.gp = g.practitioners[pb.idx-1]
	}
	pb.org = g.orgs[pb.gp.Org]
	pl := places[pb.gp.Org*4%len(places)+r.IntN(4)]

	// race and ethnicity
	w := r.IntN(100)
	race := races[0]
	for k, cw := range raceWeights {
		if w < cw {
			race = races[k]
			break
		}
	}
	eth := coding{System: sysOMBRace, Code: "2186-5", Display: "Not Hispanic or Latino"}
	if chance(r, 18) {
		eth = coding{System: sysOMBRace, Code: "2135-2", Display: "Hispanic or Latino"}
	}
	birthSex := "F"
	if pb.male {
		birthSex = "M"
	}
	lang := languages[0]
	if eth.Code == "2135-2" && chance(r, 50) {
		lang = languages[1]
	} else if race.Code == "2028-9" && chance(r, 30) {
		lang = languages[2]
	} else if chance(r, 2) {
		lang = languages[3]
	}
	marital := pick(r, []coding{
		{System: "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", Code: "M", Display: "Married"},
		{System: "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", Code: "S", Display: "Never Married"},
		{System: "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", Code: "D", Display: "Divorced"},
		{System: "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", Code: "W", Display: "Widowed"},
	})
	emailName := strings.ToLower(strings.ReplaceAll(given+"."+family, "'", ""))

	res := patient{
		ResourceType: "Patient",
		ID:           pb.id,
		Meta:         metaPatient,
		Extension: []extension{
			{URL: extRace, Extension: []extension{
				{URL: "ombCategory", ValueCoding: &coding{System: sysOMBRace, Code: race.Code, Display: race.Display}},
				{URL: "text", ValueString: race.Display},
			}},
			{URL: extEthnicity, Extension: []extension{
				{URL: "ombCategory", ValueCoding: &eth},
				{URL: "text", ValueString: eth.Display},
			}},
			{URL: extBirthSex, ValueCode: birthSex},
		},
		Identifier: []identifier{{
			Use: "usual",
			Type: &codeableConcept{
				Coding: []coding{{System: sysV2IDType, Code: "MR", Display: "Medical Record Number"}},
				Text:   "Medical Record Number",
			},
			System: sysMRN,
			Value:  fmt.Sprintf("MRN%08d", pb.idx),
		}},
		Active: true,
		Name: []humanName{{
			Use: "official", Text: given + " " + middle + " " + family,
			Family: family, Given: []string{given, middle},
		}},
		Telecom: []contactPoint{
			{System: "phone", Value: phone(r, pl.Area), Use: pick(r, []string{"home", "mobile"})},
			{System: "email", Value: fmt.Sprintf("%s%d@example.com", emailName, pb.idx), Use: "home"},
		},
		Gender:    gender,
		BirthDate: fmtDate(pb.birth),
		Address: []address{{
			Use: "home", Type: "physical",
			Line: []string{fmt.Sprintf("%d %s", between(r, 1, 9999), pick(r, streetNames))},
			City: pl.City, State: pl.State, PostalCode: pl.Zip, Country: "US",
		}},
		MaritalStatus:        &codeableConcept{Coding: []coding{marital}, Text: marital.Display},
		Communication:        []patientCommunication{{Language: codeableConcept{Coding: []coding{lang}, Text: lang.Display}, Preferred: true}},
		GeneralPractitioner:  []reference{{Reference: "Practitioner/" + pb.gp.ID, Display: pb.gp.Name}},
		ManagingOrganization: &reference{Reference: "Organization/" + pb.org.ID, Display: pb.org.Name},
	}
	return pb.put("Patient", pb.id, res)
}
