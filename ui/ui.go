// Package ui holds the authorization server's HTML pages (login, patient picker,
// consent, error) and their stylesheet.
package ui

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

//go:embed templates/*.html
var files embed.FS

// CSS is the stylesheet served at {auth}/static/style.css.
//
//go:embed style.css
var CSS []byte

// Pages renders the embedded templates.
type Pages struct {
	t map[string]*template.Template
}

var names = []string{"error", "login", "picker", "consent"}

// Load parses the templates.
func Load() (*Pages, error) {
	p := &Pages{t: map[string]*template.Template{}}
	for _, n := range names {
		t, err := template.ParseFS(files, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, err
		}
		p.t[n] = t
	}
	return p, nil
}

// Page is the data common to every page.
type Page struct {
	Title   string
	CSSURL  string
	CSRF    string
	Request string // pending authorization request id
	Action  string // form action URL
	Error   string
	Data    any
}

// Render renders the named page into a buffer and writes it with the given status.
func (p *Pages) Render(w http.ResponseWriter, status int, name string, data Page) {
	t, ok := p.t[name]
	if !ok {
		http.Error(w, "unknown page", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
