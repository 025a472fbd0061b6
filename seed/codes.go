package seed

// Clinical code tables (SNOMED CT, LOINC, RxNorm, CVX). Order matters for determinism.

type code struct{ Code, Display string }

// medication is an RxNorm product with its usual dosage.
type medication struct {
	RxNorm, Display string
	Dosage          string  // dosageInstruction.text
	Frequency       int     // times per period
	Period          float64 // length of the period
	PeriodUnit      string  // UCUM-ish unit code from units-of-time
	AsNeeded        bool
}

// conditionDef is a diagnosis the generator may give a patient.
type conditionDef struct {
	SNOMED, Display string
	Chronic         bool
	Prevalence      int         // chance in percent, per patient
	MinAge          int         // youngest age at onset
	Med             *medication // drug prescribed for it, if any
	Labs            []int       // indexes into labPanels checked at follow-ups
}

var (
	medLisinopril = &medication{"314076", "lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once daily", 1, 1, "d", false}
	medHCTZ       = &medication{"316049", "hydrochlorothiazide 25 MG Oral Tablet", "Take 1 tablet by mouth every morning", 1, 1, "d", false}
	medMetformin  = &medication{"860975", "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet", "Take 1 tablet by mouth daily with the evening meal", 1, 1, "d", false}
	medSimva      = &medication{"316672", "simvastatin 10 MG Oral Tablet", "Take 1 tablet by mouth at bedtime", 1, 1, "d", false}
	medAlbuterol  = &medication{"745679", "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "Inhale 2 puffs every 4 to 6 hours as needed for wheezing", 1, 4, "h", true}
	medLoratadine = &medication{"311372", "loratadine 10 MG Oral Tablet", "Take 1 tablet by mouth once daily during allergy season", 1, 1, "d", false}
	medNaproxen   = &medication{"849574", "naproxen sodium 220 MG Oral Tablet", "Take 1 tablet by mouth every 12 hours as needed for pain", 1, 12, "h", true}
	medIron       = &medication{"310325", "ferrous sulfate 325 MG Oral Tablet", "Take 1 tablet by mouth once daily", 1, 1, "d", false}
	medAcetamin   = &medication{"313782", "acetaminophen 325 MG Oral Tablet", "Take 2 tablets by mouth every 6 hours as needed for pain", 1, 6, "h", true}
)

// Lab panel indexes.
const (
	labBMP = iota
	labLipid
	labCBC
	labA1c
)

var conditionDefs = []conditionDef{
	{"38341003", "Hypertensive disorder, systemic arterial (disorder)", true, 35, 25, medLisinopril, []int{labBMP}},
	{"44054006", "Diabetes mellitus type 2 (disorder)", true, 15, 30, medMetformin, []int{labA1c, labBMP}},
	{"55822004", "Hyperlipidemia (disorder)", true, 25, 30, medSimva, []int{labLipid}},
	{"195967001", "Asthma (disorder)", true, 10, 0, medAlbuterol, nil},
	{"61582004", "Allergic rhinitis (disorder)", true, 15, 0, medLoratadine, nil},
	{"239873007", "Osteoarthritis of knee (disorder)", true, 12, 45, medNaproxen, nil},
	{"271737000", "Anemia (disorder)", true, 8, 0, medIron, []int{labCBC}},
	{"162864005", "Body mass index 30+ - obesity (finding)", true, 20, 18, nil, []int{labLipid}},
	{"15777000", "Prediabetes (finding)", true, 12, 25, nil, []int{labA1c}},
	{"40930008", "Hypothyroidism (disorder)", true, 5, 20, nil, nil},
	{"278860009", "Chronic low back pain (finding)", true, 10, 25, medAcetamin, nil},
	{"37796009", "Migraine (disorder)", true, 8, 12, medAcetamin, nil},
	{"195662009", "Acute viral pharyngitis (disorder)", false, 30, 0, nil, nil},
	{"10509002", "Acute bronchitis (disorder)", false, 25, 0, nil, nil},
	{"444814009", "Viral sinusitis (disorder)", false, 35, 0, nil, nil},
	{"68496003", "Polyp of colon (disorder)", false, 6, 45, nil, nil},
}

// Hypertension's second-line drug, added for some hypertensive patients.
var medSecondLineHTN = medHCTZ

var encounterTypes = []code{
	{"185349003", "Encounter for check up (procedure)"},
	{"162673000", "General examination of patient (procedure)"},
	{"390906007", "Follow-up encounter (procedure)"},
	{"185345009", "Encounter for symptom (procedure)"},
}

type allergyDef struct {
	SNOMED, Display, Category, Criticality string
	Reaction                               code // SNOMED manifestation
}

var allergyDefs = []allergyDef{
	{"91935009", "Allergy to peanuts", "food", "high", code{"39579001", "Anaphylaxis (disorder)"}},
	{"91930004", "Allergy to eggs", "food", "low", code{"271807003", "Eruption of skin (disorder)"}},
	{"417532002", "Allergy to fish", "food", "high", code{"247472004", "Wheal (finding)"}},
	{"300916003", "Latex allergy", "environment", "low", code{"271807003", "Eruption of skin (disorder)"}},
	{"418689008", "Allergy to grass pollen", "environment", "low", code{"49727002", "Cough (finding)"}},
	{"232347008", "Dander (animal) allergy", "environment", "low", code{"76067001", "Sneezing (finding)"}},
	{"419474003", "Allergy to mould", "environment", "low", code{"267036007", "Dyspnea (finding)"}},
	{"294505008", "Allergy to penicillin", "medication", "high", code{"247472004", "Wheal (finding)"}},
}

type vaccineDef struct {
	CVX, Display string
	MinAge       int
}

var (
	vaxFlu   = vaccineDef{"140", "Influenza, seasonal, injectable, preservative free", 0}
	vaxTd    = vaccineDef{"113", "Td (adult) preservative free", 18}
	vaxTdap  = vaccineDef{"115", "Tdap", 11}
	vaxPCV   = vaccineDef{"133", "Pneumococcal conjugate PCV 13", 65}
	vaxPPSV  = vaccineDef{"33", "pneumococcal polysaccharide vaccine, 23 valent", 65}
	vaxZost  = vaccineDef{"187", "zoster vaccine recombinant", 50}
	vaxHepB  = vaccineDef{"43", "Hep B, adult", 18}
	vaxCovid = vaccineDef{"208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose", 12}
)

var otherVaccines = []vaccineDef{vaxTd, vaxTdap, vaxPCV, vaxPPSV, vaxZost, vaxHepB, vaxCovid}

type procedureDef struct {
	SNOMED, Display string
	MinAge          int
	Chance          int // percent per eligible encounter
}

var procedureDefs = []procedureDef{
	{"430193006", "Medication reconciliation (procedure)", 0, 20},
	{"171207006", "Depression screening (procedure)", 12, 15},
	{"710824005", "Assessment of health and social care needs (procedure)", 18, 10},
	{"117015009", "Throat culture (procedure)", 0, 3},
	{"399208008", "Plain chest X-ray (procedure)", 0, 3},
	{"71651007", "Mammography (procedure)", 40, 4},
	{"73761001", "Colonoscopy (procedure)", 45, 2},
}
