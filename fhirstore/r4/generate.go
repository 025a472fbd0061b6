package r4

//go:generate go run ./gen -src ../../../shared/fhir-r4 -out model.json.gz
