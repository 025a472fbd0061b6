package seed

// Struct shapes of the generated resources. Field order is JSON member order, with
// resourceType first; omitempty keeps the JSON compact.

type organization struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Meta         *meta             `json:"meta,omitempty"`
	Identifier   []identifier      `json:"identifier,omitempty"`
	Active       bool              `json:"active"`
	Type         []codeableConcept `json:"type,omitempty"`
	Name         string            `json:"name"`
	Telecom      []contactPoint    `json:"telecom,omitempty"`
	Address      []address         `json:"address,omitempty"`
}

type location struct {
	ResourceType         string            `json:"resourceType"`
	ID                   string            `json:"id"`
	Meta                 *meta             `json:"meta,omitempty"`
	Status               string            `json:"status"`
	Name                 string            `json:"name"`
	Mode                 string            `json:"mode,omitempty"`
	Type                 []codeableConcept `json:"type,omitempty"`
	Telecom              []contactPoint    `json:"telecom,omitempty"`
	Address              *address          `json:"address,omitempty"`
	PhysicalType         *codeableConcept  `json:"physicalType,omitempty"`
	ManagingOrganization *reference        `json:"managingOrganization,omitempty"`
}

type qualification struct {
	Code codeableConcept `json:"code"`
}

type practitioner struct {
	ResourceType  string          `json:"resourceType"`
	ID            string          `json:"id"`
	Meta          *meta           `json:"meta,omitempty"`
	Identifier    []identifier    `json:"identifier,omitempty"`
	Active        bool            `json:"active"`
	Name          []humanName     `json:"name"`
	Telecom       []contactPoint  `json:"telecom,omitempty"`
	Address       []address       `json:"address,omitempty"`
	Gender        string          `json:"gender,omitempty"`
	Qualification []qualification `json:"qualification,omitempty"`
}

type patientCommunication struct {
	Language  codeableConcept `json:"language"`
	Preferred bool            `json:"preferred,omitempty"`
}

type patient struct {
	ResourceType         string                 `json:"resourceType"`
	ID                   string                 `json:"id"`
	Meta                 *meta                  `json:"meta,omitempty"`
	Extension            []extension            `json:"extension,omitempty"`
	Identifier           []identifier           `json:"identifier,omitempty"`
	Active               bool                   `json:"active"`
	Name                 []humanName            `json:"name"`
	Telecom              []contactPoint         `json:"telecom,omitempty"`
	Gender               string                 `json:"gender"`
	BirthDate            string                 `json:"birthDate"`
	Address              []address              `json:"address,omitempty"`
	MaritalStatus        *codeableConcept       `json:"maritalStatus,omitempty"`
	Communication        []patientCommunication `json:"communication,omitempty"`
	GeneralPractitioner  []reference            `json:"generalPractitioner,omitempty"`
	ManagingOrganization *reference             `json:"managingOrganization,omitempty"`
}

type encounterParticipant struct {
	Type       []codeableConcept `json:"type,omitempty"`
	Period     *period           `json:"period,omitempty"`
	Individual reference         `json:"individual"`
}

type encounterLocation struct {
	Location reference `json:"location"`
}

type encounter struct {
	ResourceType    string                 `json:"resourceType"`
	ID              string                 `json:"id"`
	Meta            *meta                  `json:"meta,omitempty"`
	Identifier      []identifier           `json:"identifier,omitempty"`
	Status          string                 `json:"status"`
	Class           coding                 `json:"class"`
	Type            []codeableConcept      `json:"type"`
	Subject         reference              `json:"subject"`
	Participant     []encounterParticipant `json:"participant"`
	Period          period                 `json:"period"`
	ReasonCode      []codeableConcept      `json:"reasonCode,omitempty"`
	Location        []encounterLocation    `json:"location"`
	ServiceProvider reference              `json:"serviceProvider"`
}

type condition struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id"`
	Meta               *meta             `json:"meta,omitempty"`
	ClinicalStatus     codeableConcept   `json:"clinicalStatus"`
	VerificationStatus codeableConcept   `json:"verificationStatus"`
	Category           []codeableConcept `json:"category"`
	Code               codeableConcept   `json:"code"`
	Subject            reference         `json:"subject"`
	Encounter          *reference        `json:"encounter,omitempty"`
	OnsetDateTime      string            `json:"onsetDateTime"`
	AbatementDateTime  string            `json:"abatementDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
	Recorder           *reference        `json:"recorder,omitempty"`
}

type referenceRange struct {
	Low  *simpleQuantity `json:"low,omitempty"`
	High *simpleQuantity `json:"high,omitempty"`
	Text string          `json:"text,omitempty"`
}

type obsComponent struct {
	Code          codeableConcept `json:"code"`
	ValueQuantity *quantity       `json:"valueQuantity,omitempty"`
}

type observation struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id"`
	Meta              *meta             `json:"meta,omitempty"`
	Status            string            `json:"status"`
	Category          []codeableConcept `json:"category"`
	Code              codeableConcept   `json:"code"`
	Subject           reference         `json:"subject"`
	Encounter         *reference        `json:"encounter,omitempty"`
	EffectiveDateTime string            `json:"effectiveDateTime"`
	Issued            string            `json:"issued,omitempty"`
	Performer         []reference       `json:"performer,omitempty"`
	ValueQuantity     *quantity         `json:"valueQuantity,omitempty"`
	Interpretation    []codeableConcept `json:"interpretation,omitempty"`
	ReferenceRange    []referenceRange  `json:"referenceRange,omitempty"`
	Component         []obsComponent    `json:"component,omitempty"`
}

type diagnosticReport struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id"`
	Meta              *meta             `json:"meta,omitempty"`
	Status            string            `json:"status"`
	Category          []codeableConcept `json:"category"`
	Code              codeableConcept   `json:"code"`
	Subject           reference         `json:"subject"`
	Encounter         *reference        `json:"encounter,omitempty"`
	EffectiveDateTime string            `json:"effectiveDateTime"`
	Issued            string            `json:"issued"`
	Performer         []reference       `json:"performer,omitempty"`
	Result            []reference       `json:"result"`
}

type timingRepeat struct {
	Frequency  int     `json:"frequency"`
	Period     decimal `json:"period"`
	PeriodUnit string  `json:"periodUnit"`
}

type timing struct {
	Repeat timingRepeat `json:"repeat"`
}

type dosage struct {
	Sequence        int              `json:"sequence"`
	Text            string           `json:"text"`
	Timing          *timing          `json:"timing,omitempty"`
	AsNeededBoolean bool             `json:"asNeededBoolean,omitempty"`
	Route           *codeableConcept `json:"route,omitempty"`
}

type medicationRequest struct {
	ResourceType              string            `json:"resourceType"`
	ID                        string            `json:"id"`
	Meta                      *meta             `json:"meta,omitempty"`
	Status                    string            `json:"status"`
	Intent                    string            `json:"intent"`
	Category                  []codeableConcept `json:"category,omitempty"`
	MedicationCodeableConcept codeableConcept   `json:"medicationCodeableConcept"`
	Subject                   reference         `json:"subject"`
	Encounter                 *reference        `json:"encounter,omitempty"`
	AuthoredOn                string            `json:"authoredOn"`
	Requester                 reference         `json:"requester"`
	ReasonReference           []reference       `json:"reasonReference,omitempty"`
	DosageInstruction         []dosage          `json:"dosageInstruction"`
}

type allergyReaction struct {
	Manifestation []codeableConcept `json:"manifestation"`
	Severity      string            `json:"severity,omitempty"`
}

type allergyIntolerance struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id"`
	Meta               *meta             `json:"meta,omitempty"`
	ClinicalStatus     codeableConcept   `json:"clinicalStatus"`
	VerificationStatus codeableConcept   `json:"verificationStatus"`
	Type               string            `json:"type"`
	Category           []string          `json:"category"`
	Criticality        string            `json:"criticality"`
	Code               codeableConcept   `json:"code"`
	Patient            reference         `json:"patient"`
	OnsetDateTime      string            `json:"onsetDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate"`
	Reaction           []allergyReaction `json:"reaction,omitempty"`
}

type immunization struct {
	ResourceType       string          `json:"resourceType"`
	ID                 string          `json:"id"`
	Meta               *meta           `json:"meta,omitempty"`
	Status             string          `json:"status"`
	VaccineCode        codeableConcept `json:"vaccineCode"`
	Patient            reference       `json:"patient"`
	Encounter          *reference      `json:"encounter,omitempty"`
	OccurrenceDateTime string          `json:"occurrenceDateTime"`
	PrimarySource      bool            `json:"primarySource"`
	Location           *reference      `json:"location,omitempty"`
}

type procedure struct {
	ResourceType      string          `json:"resourceType"`
	ID                string          `json:"id"`
	Meta              *meta           `json:"meta,omitempty"`
	Status            string          `json:"status"`
	Code              codeableConcept `json:"code"`
	Subject           reference       `json:"subject"`
	Encounter         *reference      `json:"encounter,omitempty"`
	PerformedDateTime string          `json:"performedDateTime"`
	Location          *reference      `json:"location,omitempty"`
	ReasonReference   []reference     `json:"reasonReference,omitempty"`
}

type careTeamParticipant struct {
	Role   []codeableConcept `json:"role"`
	Member reference         `json:"member"`
}

type careTeam struct {
	ResourceType         string                `json:"resourceType"`
	ID                   string                `json:"id"`
	Meta                 *meta                 `json:"meta,omitempty"`
	Status               string                `json:"status"`
	Name                 string                `json:"name,omitempty"`
	Subject              reference             `json:"subject"`
	Period               *period               `json:"period,omitempty"`
	Participant          []careTeamParticipant `json:"participant"`
	ManagingOrganization []reference           `json:"managingOrganization,omitempty"`
}

type carePlanActivityDetail struct {
	Code   codeableConcept `json:"code"`
	Status string          `json:"status"`
}

type carePlanActivity struct {
	Detail carePlanActivityDetail `json:"detail"`
}

type carePlan struct {
	ResourceType string             `json:"resourceType"`
	ID           string             `json:"id"`
	Meta         *meta              `json:"meta,omitempty"`
	Text         narrative          `json:"text"`
	Status       string             `json:"status"`
	Intent       string             `json:"intent"`
	Category     []codeableConcept  `json:"category"`
	Title        string             `json:"title,omitempty"`
	Subject      reference          `json:"subject"`
	Period       *period            `json:"period,omitempty"`
	Created      string             `json:"created,omitempty"`
	Author       *reference         `json:"author,omitempty"`
	CareTeam     []reference        `json:"careTeam,omitempty"`
	Addresses    []reference        `json:"addresses,omitempty"`
	Activity     []carePlanActivity `json:"activity,omitempty"`
}
