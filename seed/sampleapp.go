package seed

import (
	"embed"
	"io/fs"
)

//go:embed sampleapp
var sampleAppFiles embed.FS

// SampleApp is the sample SMART app: static HTML, CSS and vanilla JavaScript modules, no
// build step and nothing fetched from outside, so it works offline. The server mounts it
// at /app/: index.html is the standalone launch, launch.html the EHR launch URL and
// callback.html the redirect URI of the public client SampleAppClientID (whose id is in
// config.js). The FHIR base defaults to {origin}/fhir.
//
// Stable element ids for browser tests, each hidden until its content is in place (then
// it also carries data-ready="true"): #patient-banner, #conditions, #medications,
// #allergies, #vitals, #token-response; #error shows any failure. The pages use no inline
// scripts or styles, so a strict Content-Security-Policy (script-src 'self') allows them.
var SampleApp fs.FS = mustSub(sampleAppFiles, "sampleapp")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // only on a malformed path literal
	}
	return sub
}
