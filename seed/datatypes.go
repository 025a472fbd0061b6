package seed

import (
	"encoding/json"
	"strconv"
)

// Code systems used throughout.
const (
	sysSNOMED         = "http://snomed.info/sct"
	sysLOINC          = "http://loinc.org"
	sysUCUM           = "http://unitsofmeasure.org"
	sysRxNorm         = "http://www.nlm.nih.gov/research/umls/rxnorm"
	sysCVX            = "http://hl7.org/fhir/sid/cvx"
	sysMRN            = "http://fhirbox.local/mrn"
	sysNPI            = "http://hl7.org/fhir/sid/us-npi"
	sysV2IDType       = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysV2DiagService  = "http://terminology.hl7.org/CodeSystem/v2-0074"
	sysActCode        = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysInterpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	sysObsCategory    = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysCondClinical   = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	sysCondVerStatus  = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	sysCondCategory   = "http://terminology.hl7.org/CodeSystem/condition-category"
	sysAllergyClin    = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	sysAllergyVer     = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	sysOrgType        = "http://terminology.hl7.org/CodeSystem/organization-type"
	sysRoleCode       = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	sysLocPhysType    = "http://terminology.hl7.org/CodeSystem/location-physical-type"
	sysV2Degree       = "http://terminology.hl7.org/CodeSystem/v2-0360"
	sysCarePlanCat    = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
	sysPartType       = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	sysOMBRace        = "urn:oid:2.16.840.1.113883.6.238"
	extRace           = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
	extEthnicity      = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
	extBirthSex       = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
)

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type codeableConcept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

func cc(system, code, display string) codeableConcept {
	return codeableConcept{Coding: []coding{{System: system, Code: code, Display: display}}, Text: display}
}

// ccNoText is a single coding without text (for status-like concepts).
func ccNoText(system, code, display string) codeableConcept {
	return codeableConcept{Coding: []coding{{System: system, Code: code, Display: display}}}
}

type reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

func ref(typ, id string) reference { return reference{Reference: typ + "/" + id} }

func refp(typ, id string) *reference { r := ref(typ, id); return &r }

type identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *codeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

type humanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Prefix []string `json:"prefix,omitempty"`
	Suffix []string `json:"suffix,omitempty"`
}

type contactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

type address struct {
	Use        string   `json:"use,omitempty"`
	Type       string   `json:"type,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

type period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// decimal is a FHIR decimal written as a JSON number with a fixed number of places.
type decimal = json.Number

func dec(v float64, places int) decimal {
	return json.Number(strconv.FormatFloat(v, 'f', places, 64))
}

type quantity struct {
	Value  decimal `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

func ucum(v float64, places int, unit, code string) *quantity {
	return &quantity{Value: dec(v, places), Unit: unit, System: sysUCUM, Code: code}
}

type simpleQuantity struct {
	Value  decimal `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

type extension struct {
	URL         string      `json:"url"`
	Extension   []extension `json:"extension,omitempty"`
	ValueCoding *coding     `json:"valueCoding,omitempty"`
	ValueString string      `json:"valueString,omitempty"`
	ValueCode   string      `json:"valueCode,omitempty"`
}

type narrative struct {
	Status string `json:"status"`
	Div    string `json:"div"`
}

// meta carries only profile claims: versionId and lastUpdated belong to the server, which
// sets them on load (and keeps the profiles).
type meta struct {
	Profile []string `json:"profile"`
}

// usCore is the base of the US Core (6.1) profile URLs the generated resources aim at.
const usCore = "http://hl7.org/fhir/us/core/StructureDefinition/"

func profile(name string) *meta { return &meta{Profile: []string{usCore + name}} }

// One shared *meta per profile: the encoder only reads them.
var (
	metaOrganization = profile("us-core-organization")
	metaLocation     = profile("us-core-location")
	metaPractitioner = profile("us-core-practitioner")
	metaPatient      = profile("us-core-patient")
	metaEncounter    = profile("us-core-encounter")
	metaCondition    = profile("us-core-condition-problems-health-concerns")
	metaLabObs       = profile("us-core-observation-lab")
	metaLabReport    = profile("us-core-diagnosticreport-lab")
	metaMedRequest   = profile("us-core-medicationrequest")
	metaAllergy      = profile("us-core-allergyintolerance")
	metaImmunization = profile("us-core-immunization")
	metaProcedure    = profile("us-core-procedure")
	metaCareTeam     = profile("us-core-careteam")
	metaCarePlan     = profile("us-core-careplan")
)
