package api

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
)

// DocsPath is where the API reference is served.
const DocsPath = "/docs"

// docsFile is the API reference `make web` builds into the dashboard's
// dist (Redocly's build-docs with --inlineBundle: Redoc's script and the
// OpenAPI document inlined in one page), so /docs needs no network.
const docsFile = "docs.html"

// inlineScript finds the inline scripts of the docs page, whose hashes its
// CSP allows.
var inlineScript = regexp.MustCompile(`(?s)<script[^>]*>(.*?)</script>`)

// docsCSP allows exactly what the built page needs: its own inline scripts
// (by hash: the page's bundle and its colour-mode snippet), the styles Redoc
// injects at run time (style-src cannot hash those), data: and blob: images
// and fonts (the download button makes a blob: link), and nothing from
// another origin.
func docsCSP(page []byte) string {
	hashes := []string{}
	for _, m := range inlineScript.FindAllSubmatch(page, -1) {
		sum := sha256.Sum256(m[1])
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return "default-src 'none'; script-src " + strings.Join(hashes, " ") + "; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
		"form-action 'none'; frame-ancestors 'none'"
}

// docsMissing stands in for the reference when the binary was built before
// `make web`: the document itself is still served.
const docsMissing = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>inboxq API</title></head>
<body><h1>inboxq API</h1><p>This binary was built without the API reference page (run <code>make web</code>, then build again).
The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p></body></html>`

// apiDocs serves the API reference from dist, the dashboard's files.
func apiDocs(dist fs.FS) http.Handler {
	page, err := fs.ReadFile(dist, docsFile)
	csp := docsCSP(page)
	if err != nil {
		page, csp = []byte(docsMissing), "default-src 'none'; frame-ancestors 'none'"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	})
}
