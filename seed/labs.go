package seed

// analyte is a laboratory test with its UCUM unit, reference range and a typical
// distribution (mean, standard deviation) in the population.
type analyte struct {
	LOINC, Display string
	Unit, UCUM     string
	Low, High      float64
	Mean, SD       float64
	Places         int
}

type labPanel struct {
	LOINC, Display string
	Analytes       []analyte
}

var labPanels = []labPanel{
	labBMP: {"51990-0", "Basic metabolic panel - Blood", []analyte{
		{"2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", "mg/dL", 70, 99, 88, 9, 0},
		{"6299-2", "Urea nitrogen [Mass/volume] in Blood", "mg/dL", "mg/dL", 7, 20, 14, 4, 0},
		{"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 0.6, 1.3, 0.95, 0.2, 2},
		{"2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L", 136, 145, 140, 2.5, 0},
		{"2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L", 3.5, 5.1, 4.2, 0.4, 1},
		{"2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L", 98, 107, 102, 2.5, 0},
		{"2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L", 22, 29, 25, 2, 0},
		{"17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 8.6, 10.3, 9.4, 0.4, 1},
	}},
	labLipid: {"57698-3", "Lipid panel with direct LDL - Serum or Plasma", []analyte{
		{"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 100, 199, 182, 28, 0},
		{"2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 0, 149, 120, 35, 0},
		{"2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 40, 100, 56, 11, 0},
		{"18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", "mg/dL", "mg/dL", 0, 99, 96, 22, 0},
	}},
	labCBC: {"58410-2", "CBC panel - Blood by Automated count", []analyte{
		{"6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", "10*3/uL", 4.5, 11, 7.2, 1.8, 1},
		{"789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL", "10*6/uL", 4.2, 5.9, 4.8, 0.45, 2},
		{"718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", "g/dL", 12, 17.5, 13.8, 1.4, 1},
		{"4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", "%", 36, 50, 41.5, 4, 1},
		{"777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", "10*3/uL", 150, 450, 260, 60, 0},
	}},
	labA1c: {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", []analyte{
		{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", 4, 5.6, 5.5, 0.5, 1},
	}},
}

// vitalDef describes one vital-sign Observation.
type vitalDef struct {
	LOINC, Display, Text string
	Unit, UCUM           string
	Places               int
	Meta                 *meta // the US Core vital-sign profile it claims
}

var (
	vitalHeartRate = vitalDef{"8867-4", "Heart rate", "Heart rate", "beats/minute", "/min", 0, profile("us-core-heart-rate")}
	vitalResp      = vitalDef{"9279-1", "Respiratory rate", "Respiratory rate", "breaths/minute", "/min", 0, profile("us-core-respiratory-rate")}
	vitalTemp      = vitalDef{"8310-5", "Body temperature", "Body temperature", "Cel", "Cel", 1, profile("us-core-body-temperature")}
	vitalWeight    = vitalDef{"29463-7", "Body weight", "Body weight", "kg", "kg", 1, profile("us-core-body-weight")}
	vitalHeight    = vitalDef{"8302-2", "Body height", "Body height", "cm", "cm", 1, profile("us-core-body-height")}
	vitalBMI       = vitalDef{"39156-5", "Body mass index (BMI) [Ratio]", "BMI", "kg/m2", "kg/m2", 1, profile("us-core-bmi")}
	vitalSpO2      = vitalDef{"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "Oxygen saturation", "%", "%", 0, profile("us-core-pulse-oximetry")}
	vitalSystolic  = vitalDef{"8480-6", "Systolic blood pressure", "Systolic blood pressure", "mm[Hg]", "mm[Hg]", 0, nil}
	vitalDiastolic = vitalDef{"8462-4", "Diastolic blood pressure", "Diastolic blood pressure", "mm[Hg]", "mm[Hg]", 0, nil}
)

const (
	bpPanelLOINC   = "85354-9"
	bpPanelDisplay = "Blood pressure panel with all children optional"
	spo2AltLOINC   = "2708-6"
	spo2AltDisplay = "Oxygen saturation in Arterial blood"
)

var metaBloodPressure = profile("us-core-blood-pressure")
