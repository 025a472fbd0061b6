package server

import (
	"bytes"
	"html/template"
	"net/http"
)

// HomeInfo is what the home page shows: where things are and how to log in.
type HomeInfo struct {
	Open    bool
	Logins  []HomeLogin
	Clients []HomeClient
}

type HomeLogin struct{ Username, Password, FHIRUser string }
type HomeClient struct{ ID, Kind string }

var homeTemplate = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fhirbox — FHIR R4 + SMART sandbox</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b2733;background:#f5f7fa}
main{max-width:860px;margin:0 auto;padding:2rem 1.25rem}
h1{margin:.2rem 0 0;font-size:1.8rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}
.card{background:#fff;border:1px solid #dde3ea;border-radius:10px;padding:1rem 1.25rem;margin:.75rem 0}
code{background:#eef2f6;padding:.1rem .35rem;border-radius:4px;font-size:.92em}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eef2f6}
.warn{background:#fff4e5;border-color:#f0b35b}a{color:#0b5cad}
</style></head><body><main>
<p>fhirbox</p><h1>Your offline FHIR R4 and SMART on FHIR sandbox</h1>
{{if .Open}}<div class="card warn" role="alert"><strong>Open mode:</strong> the FHIR API accepts requests without a token and grants full access.</div>{{end}}
<h2>Endpoints</h2>
<div class="card"><table>
<tr><th scope="row">FHIR base</th><td><code>{{.Base}}</code></td></tr>
<tr><th scope="row">CapabilityStatement</th><td><a href="{{.Base}}/metadata">{{.Base}}/metadata</a></td></tr>
<tr><th scope="row">SMART configuration</th><td><a href="{{.Base}}/.well-known/smart-configuration">.well-known/smart-configuration</a></td></tr>
<tr><th scope="row">OpenID configuration</th><td><a href="{{.Base}}/.well-known/openid-configuration">.well-known/openid-configuration</a></td></tr>
<tr><th scope="row">Sample SMART app</th><td><a href="/app/">/app/</a> — a standalone launch, step by step</td></tr>
<tr><th scope="row">Access decisions</th><td><a href="/decisions">/decisions</a> — why each FHIR request was allowed or denied</td></tr>
</table></div>
<h2>Demo logins</h2>
<div class="card"><table><tr><th>username</th><th>password</th><th>FHIR user</th></tr>
{{range .Info.Logins}}<tr><td><code>{{.Username}}</code></td><td><code>{{.Password}}</code></td><td>{{.FHIRUser}}</td></tr>{{end}}
</table></div>
<h2>Demo clients</h2>
<div class="card"><table><tr><th>client_id</th><th>kind</th></tr>
{{range .Info.Clients}}<tr><td><code>{{.ID}}</code></td><td>{{.Kind}}</td></tr>{{end}}
</table></div>
<h2>Try it</h2>
<div class="card"><p>Mint a token and read a patient:</p>
<p><code>go run . token --user dr.smith --scope 'user/*.rs'</code></p>
<p><code>curl -H 'Authorization: Bearer TOKEN' {{.Base}}/Patient/pat-000001</code></p></div>
</main></body></html>`))

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	info := HomeInfo{}
	if s.cfg.Home != nil {
		info = *s.cfg.Home
	}
	if err := homeTemplate.Execute(&buf, map[string]any{"Base": s.BaseURL(), "Info": info, "Open": info.Open}); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(buf.Bytes())
}
