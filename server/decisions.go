package server

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"fhirbox/fhirstore"
)

// The decision log page shows why each FHIR request was allowed or denied: the token's
// client, user, patient and scopes next to the decision and the same reason its
// OperationOutcome gave. It is the teaching view of the access filter; with
// Accept: application/json it answers the same rows as JSON, for scripts and tests.
var decisionsTemplate = template.Must(template.New("decisions").Funcs(template.FuncMap{
	"time":   func(t time.Time) string { return t.Format("15:04:05.000") },
	"fields": strings.Fields,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="3">{{end}}
<title>Access decisions — fhirbox</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b2733;background:#f5f7fa}
main{max-width:1200px;margin:0 auto;padding:1.5rem 1.25rem}
h1{font-size:1.5rem;margin:.2rem 0 .75rem}a{color:#0b5cad}
form{display:flex;gap:.75rem;flex-wrap:wrap;align-items:end;margin:.5rem 0 1rem}
label{display:flex;flex-direction:column;font-size:.85rem;color:#4a5866}
input,select,button{font:inherit;padding:.3rem .5rem;border:1px solid #c5ced8;border-radius:6px;background:#fff}
button{background:#0b5cad;color:#fff;border-color:#0b5cad;cursor:pointer}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde3ea;border-radius:10px}
td,th{text-align:left;padding:.4rem .55rem;border-bottom:1px solid #eef2f6;vertical-align:top}
th{font-size:.85rem;color:#4a5866}
code{background:#eef2f6;padding:.05rem .3rem;border-radius:4px;font-size:.88em;word-break:break-all}
.allow{color:#17663a;font-weight:600}.deny{color:#a32020;font-weight:600}
.scopes code{display:inline-block;margin:0 .2rem .2rem 0}.empty{padding:1.5rem;text-align:center;color:#4a5866}
</style></head><body><main>
<p><a href="/">fhirbox</a></p>
<h1>Access decisions</h1>
<p>Every FHIR request under enforcement, newest first: who asked (client, user, patient in context), with which scopes, and why it was allowed or denied. The reason is the one the request's OperationOutcome gave.</p>
<form method="get" action="">
<label>client_id<input name="client" value="{{.Client}}" placeholder="any"></label>
<label>decision<select name="decision">
<option value=""{{if eq .Decision ""}} selected{{end}}>any</option>
<option value="allow"{{if eq .Decision "allow"}} selected{{end}}>allow</option>
<option value="deny"{{if eq .Decision "deny"}} selected{{end}}>deny</option>
</select></label>
<label>rows<input name="limit" type="number" min="1" max="{{.Max}}" value="{{.Limit}}"></label>
<label><span><input type="checkbox" name="refresh" value="1"{{if .Refresh}} checked{{end}}> refresh every 3 s</span></label>
<button type="submit">Show</button>
</form>
{{if .Open}}<p><strong>Open mode:</strong> the FHIR API runs without tokens, so nothing is decided and nothing is logged.</p>{{end}}
<table>
<thead><tr><th scope="col">time (UTC)</th><th scope="col">request</th><th scope="col">client / user / patient</th><th scope="col">scopes</th><th scope="col">decision</th><th scope="col">reason</th></tr></thead>
<tbody>
{{range .Rows}}<tr>
<td>{{time .At}}</td>
<td><code>{{.Method}} {{.Path}}</code></td>
<td>{{if .Client}}<code>{{.Client}}</code>{{else}}—{{end}}<br>{{if .User}}{{.User}}{{end}}{{if .Patient}}<br>patient {{.Patient}}{{end}}</td>
<td class="scopes">{{range fields .Scopes}}<code>{{.}}</code> {{else}}—{{end}}</td>
<td class="{{.Decision}}">{{.Decision}} <span>({{.Status}})</span></td>
<td>{{.Reason}}</td>
</tr>{{else}}<tr><td colspan="6" class="empty">No decisions yet. Send a FHIR request with a token, e.g. from the <a href="/app/">sample app</a>.</td></tr>{{end}}
</tbody></table>
</main></body></html>`))

// decisionJSON is one decision as the JSON view answers it.
type decisionJSON struct {
	At       string `json:"at"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	Client   string `json:"client_id,omitempty"`
	User     string `json:"fhirUser,omitempty"`
	Patient  string `json:"patient,omitempty"`
	Scopes   string `json:"scope,omitempty"`
	Decision string `json:"decision"`
	Status   int    `json:"status"`
	Reason   string `json:"reason,omitempty"`
}

func (s *Server) handleDecisions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := fhirstore.DecisionFilter{Client: q.Get("client"), Decision: q.Get("decision"), Limit: 100}
	if f.Decision != "" && f.Decision != "allow" && f.Decision != "deny" {
		http.Error(w, "decision must be allow or deny", http.StatusBadRequest)
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			http.Error(w, "limit must be a positive number", http.StatusBadRequest)
			return
		}
		f.Limit = min(n, fhirstore.MaxDecisions)
	}
	rows, err := s.store.Decisions(r.Context(), f)
	if err != nil {
		s.cfg.Logger.Error("decision log", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if wantsJSON(r) {
		out := make([]decisionJSON, 0, len(rows))
		for _, d := range rows {
			out = append(out, decisionJSON{At: fhirstore.FormatInstant(d.At), Method: d.Method, Path: d.Path, Client: d.Client,
				User: d.User, Patient: d.Patient, Scopes: d.Scopes, Decision: d.Decision, Status: d.Status, Reason: d.Reason})
		}
		h.Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"decisions": out})
		return
	}
	var buf bytes.Buffer
	open := s.cfg.Tokens == nil
	if err := decisionsTemplate.Execute(&buf, map[string]any{"Rows": rows, "Client": f.Client, "Decision": f.Decision,
		"Limit": f.Limit, "Max": fhirstore.MaxDecisions, "Refresh": q.Get("refresh") != "", "Open": open}); err != nil {
		s.cfg.Logger.Error("decision log page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(buf.Bytes())
}

// wantsJSON reports whether the request prefers JSON to HTML (Accept or ?format=json).
func wantsJSON(r *http.Request) bool {
	if r.URL.Query().Get("format") == "json" {
		return true
	}
	a := r.Header.Get("Accept")
	return strings.Contains(a, "json") && !strings.Contains(a, "text/html")
}
