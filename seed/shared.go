package seed

import (
	"fmt"
	"strings"
)

// demoPractitioners are the fixed first practitioners (the demo users' identities).
var demoPractitioners = []struct {
	Given, Family, Gender string
}{
	{"Alice", "Smith", "female"},
	{"Robert", "Jones", "male"},
	{"Maria", "Garcia", "female"},
}

// shared emits the Organizations, Locations and Practitioners and records them for the
// patients to reference.
func (g *generator) shared(patients int) error {
	r := g.rng(0)

	for i := 1; i <= numOrganizations; i++ {
		pl := places[(i-1)*4%len(places)]
		o := orgInfo{ID: organizationID(i), Name: organizationNames[i-1]}
		res := organization{
			ResourceType: "Organization",
			ID:           o.ID,
			Meta:         metaOrganization,
			Identifier:   []identifier{{System: sysNPI, Value: "19" + digits(r, 8)}},
			Active:       true,
			Type:         []codeableConcept{ccNoText(sysOrgType, "prov", "Healthcare Provider")},
			Name:         o.Name,
			Telecom:      []contactPoint{{System: "phone", Value: phone(r, pl.Area), Use: "work"}},
			Address: []address{{
				Use: "work", Line: []string{fmt.Sprintf("%d %s", between(r, 1, 999), pick(r, streetNames))},
				City: pl.City, State: pl.State, PostalCode: pl.Zip, Country: "US",
			}},
		}
		if err := g.put("Organization", o.ID, res); err != nil {
			return err
		}
		g.orgs = append(g.orgs, o)
	}

	for i := 1; i <= numLocations; i++ {
		oi := (i - 1) % numOrganizations
		org := &g.orgs[oi]
		pl := places[oi*4%len(places)]
		kind := "Outpatient Clinic"
		if i > numOrganizations {
			kind = "Laboratory and Imaging"
		}
		id := locationID(i)
		res := location{
			ResourceType: "Location",
			ID:           id,
			Meta:         metaLocation,
			Status:       "active",
			Name:         org.Name + " - " + kind,
			Mode:         "instance",
			Telecom:      []contactPoint{{System: "phone", Value: phone(r, pl.Area), Use: "work"}},
			Address: &address{
				Line: []string{fmt.Sprintf("%d %s", between(r, 1, 999), pick(r, streetNames))},
				City: pl.City, State: pl.State, PostalCode: pl.Zip, Country: "US",
			},
			PhysicalType:         &codeableConcept{Coding: []coding{{System: sysLocPhysType, Code: "bu", Display: "Building"}}},
			ManagingOrganization: refp("Organization", org.ID),
		}
		if kind == "Outpatient Clinic" {
			res.Type = []codeableConcept{cc(sysRoleCode, "GIM", "General internal medicine clinic")}
		} else {
			res.Type = []codeableConcept{cc(sysRoleCode, "HOSP", "Hospital")}
		}
		if err := g.put("Location", id, res); err != nil {
			return err
		}
		org.Locations = append(org.Locations, id)
	}

	n := numPractitioners(patients)
	for i := 1; i <= n; i++ {
		var given, family, gender string
		if i <= len(demoPractitioners) {
			d := demoPractitioners[i-1]
			given, family, gender = d.Given, d.Family, d.Gender
		} else {
			if chance(r, 50) {
				given, gender = pick(r, femaleNames), "female"
			} else {
				given, gender = pick(r, maleNames), "male"
			}
			family = pick(r, familyNames)
		}
		oi := (i - 1) % numOrganizations
		pl := places[oi*4%len(places)]
		id := practitionerID(i)
		email := strings.ToLower(given+"."+strings.ReplaceAll(family, "'", "")) + fmt.Sprintf("%d@fhirbox.example", i)
		spec := specialties[0]
		if i > len(demoPractitioners) {
			spec = pick(r, specialties[:4])
		}
		res := practitioner{
			ResourceType: "Practitioner",
			ID:           id,
			Meta:         metaPractitioner,
			Identifier:   []identifier{{System: sysNPI, Value: fmt.Sprintf("99%08d", i)}},
			Active:       true,
			Name: []humanName{{
				Use: "official", Text: "Dr. " + given + " " + family,
				Family: family, Given: []string{given}, Prefix: []string{"Dr."},
			}},
			Telecom: []contactPoint{
				{System: "phone", Value: phone(r, pl.Area), Use: "work"},
				{System: "email", Value: email, Use: "work"},
			},
			Address: []address{{Use: "work", City: pl.City, State: pl.State, PostalCode: pl.Zip, Country: "US"}},
			Gender:  gender,
			Qualification: []qualification{
				{Code: codeableConcept{Coding: []coding{{System: sysV2Degree, Code: "MD", Display: "Doctor of Medicine"}}, Text: "MD"}},
				{Code: codeableConcept{Coding: []coding{spec}, Text: spec.Display}},
			},
		}
		if err := g.put("Practitioner", id, res); err != nil {
			return err
		}
		g.practitioners = append(g.practitioners, pracInfo{ID: id, Name: "Dr. " + given + " " + family, Org: oi})
	}
	return nil
}
