// Settings of the sample app. CLIENT_ID must match the public demo client fhirbox
// registers at first start (seed.SampleAppClientID); a Go test checks that it does.
export const CLIENT_ID = "sample-app";

// Scopes asked for in a standalone launch: identity (openid fhirUser), a patient chosen
// at login (launch/patient), read and search on that patient's data, and a refresh token.
export const STANDALONE_SCOPE = "openid fhirUser launch/patient patient/*.rs offline_access";

// Scopes asked for in an EHR launch: the EHR supplies the patient through `launch`.
export const EHR_SCOPE = "openid fhirUser launch patient/*.rs offline_access";

// How many vital-sign Observations to read (newest first) to find the latest of each.
export const VITALS_COUNT = 100;
