package fhirstore

//go:generate go run ./gen/searchparams -src ../../shared/fhir-r4 -out searchparams.json.gz
