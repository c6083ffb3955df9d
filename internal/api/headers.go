package api

import (
	"net/http"
	"strings"
)

// dashboardCSP is the dashboard's Content-Security-Policy. The built app
// (web/dist) is one module script and one stylesheet from /assets, a data:
// favicon, fetch and EventSource to this origin, and styles set through the
// DOM (which style-src does not govern): it needs no 'unsafe-inline'. The
// Playwright e2e fails on any securitypolicyviolation.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// apiCSP is for everything that is not a page: JSON, problems, streams,
// archives. Nothing in them may run or be framed.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// frameCSP is for River UI, whose page is River's own and whose needs
// inboxq does not control: only framing is forbidden, against clickjacking
// a page that browsers hold Basic credentials for.
const frameCSP = "frame-ancestors 'none'"

// securityHeaders sets the headers every response carries: no MIME
// sniffing, no framing, and a referrer policy. Referrer-Policy is
// strict-origin-when-cross-origin rather than no-referrer: cross-origin
// requests learn only the origin (the dashboard links nowhere else), and
// same-origin POSTs keep a real Origin header, which no-referrer would turn
// into "null" and which the River UI cross-site rule (sameOrigin) relies on.
//
// Responses get apiCSP unless a handler sets its own: the dashboard sets
// dashboardCSP, and /docs the CSP of its built page (docsCSP).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if r.URL.Path == "/riverui" || strings.HasPrefix(r.URL.Path, "/riverui/") {
			h.Set("Content-Security-Policy", frameCSP)
		} else {
			h.Set("Content-Security-Policy", apiCSP)
		}
		next.ServeHTTP(w, r)
	})
}
