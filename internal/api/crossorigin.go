package api

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// sameOrigin refuses state-changing requests (anything but GET, HEAD and
// OPTIONS) that a browser sent on another site's behalf. River UI needs it:
// browsers cache the HTTP Basic credentials it signs in with and attach them
// to any request, so a cross-site form (enctype=text/plain, which reads as
// JSON) could otherwise delete jobs. A request is refused when
//
//   - its Origin is present and is not this host, or
//   - its Sec-Fetch-Site is present and is neither same-origin nor none, or
//   - it carries neither of those same-origin proofs and its Content-Type is
//     not JSON (an old browser's form sends neither header, and a form cannot
//     send JSON).
//
// The Content-Type rule applies only without a same-origin proof because
// River UI's own page posts JSON.stringify'd bodies without a Content-Type,
// which fetch labels text/plain; its requests carry both proofs instead.
// Origin is compared by host only: the scheme is not known behind a TLS
// terminating proxy, and a page on this host over another scheme is not a
// cross-site attacker.
func sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		proof := false
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
				writeProblem(w, http.StatusForbidden, "cross-origin request refused: Origin is not this site")
				return
			}
			proof = true
		}
		if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
			if s != "same-origin" && s != "none" {
				writeProblem(w, http.StatusForbidden, "cross-origin request refused: Sec-Fetch-Site is "+s)
				return
			}
			proof = true
		}
		if !proof && !isJSON(r.Header.Get("Content-Type")) {
			writeProblem(w, http.StatusForbidden, "cross-origin request refused: send Content-Type: application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isJSON reports whether a Content-Type is application/json or a +json type.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
