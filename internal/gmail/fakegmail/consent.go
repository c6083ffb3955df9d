package fakegmail

import (
	"fmt"
	"html/template"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
)

// consentPage is the fake's stand-in for Google's account chooser and
// consent screen: one form naming the mailbox to grant and the scopes asked
// for. Allow posts back to /auth; Deny returns access_denied as Google does.
var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in – fake Gmail</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
form{border:1px solid #8888;border-radius:8px;padding:1.25rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=email]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit}
.actions{display:flex;gap:.75rem;margin-top:1rem}
button{font:inherit;padding:.5rem 1rem;cursor:pointer}
.error{color:#c0392b}
.muted{opacity:.75;font-size:.9em}
code{word-break:break-all}
</style></head>
<body><main>
<h1>Sign in to the fake Gmail</h1>
<p class="muted">This is inboxq's demo Gmail, not Google. Name any address: one without a mailbox gets a generated one.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/auth">
{{range $k, $v := .Query}}{{range $v}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<label for="email">Gmail address</label>
<input id="email" name="login" type="email" required value="{{.Login}}" autocomplete="email">
<p><strong>{{.Client}}</strong> asks to:</p>
<ul>{{range .Scopes}}<li>{{.Say}} <span class="muted"><code>{{.Scope}}</code></span></li>{{end}}</ul>
<div class="actions">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</div>
</form>
</main></body></html>
`))

// consentParams are the authorization request's parameters the page
// carries from GET to POST.
var consentParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state",
	"code_challenge", "code_challenge_method", "access_type", "prompt", "include_granted_scopes"}

// handleAuth serves /auth, Google's authorization endpoint: GET shows the
// consent page; POST grants (or denies) the request for the named mailbox
// and redirects to redirect_uri with a code (or error=access_denied), as
// Google does. An address without a mailbox gets one from
// Options.NewMailbox; without that hook it is refused on the page.
func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := url.Values{}
	for _, p := range consentParams {
		if v := r.Form.Get(p); v != "" {
			q.Set(p, v)
		}
	}
	authorize := "/auth?" + q.Encode()
	login := strings.TrimSpace(r.Form.Get("login"))
	if login == "" {
		login = r.Form.Get("login_hint")
	}
	if login == "" {
		login = s.freshAddress()
	}
	if r.Method == http.MethodGet {
		// Check the request now, as Google does before showing the page.
		if _, _, _, err := s.parseAuthorize(authorize, login); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.showConsent(w, q, login, "")
		return
	}
	if r.Form.Get("decision") == "deny" {
		to, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || !to.IsAbs() {
			http.Error(w, "redirect_uri_mismatch", http.StatusBadRequest)
			return
		}
		rq := to.Query()
		rq.Set("error", "access_denied")
		if st := q.Get("state"); st != "" {
			rq.Set("state", st)
		}
		to.RawQuery = rq.Encode()
		http.Redirect(w, r, to.String(), http.StatusSeeOther)
		return
	}
	addr, err := mail.ParseAddress(login)
	if err != nil || addr.Name != "" || !strings.Contains(addr.Address, "@") {
		s.showConsent(w, q, login, "Enter an email address, such as someone@inboxq.example.")
		return
	}
	if s.Mailbox(addr.Address) == nil {
		if s.opts.NewMailbox == nil {
			s.showConsent(w, q, login, "No mailbox "+addr.Address+" here: use one this fake serves.")
			return
		}
		s.addMailboxIfMissing(addr.Address)
	}
	to, err := s.Consent(authorize, addr.Address)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Server) showConsent(w http.ResponseWriter, q url.Values, login, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusOK
	if msg != "" {
		status = http.StatusUnprocessableEntity
	}
	w.WriteHeader(status)
	client := q.Get("client_id")
	if client == "" {
		client = "This app"
	}
	_ = consentPage.Execute(w, map[string]any{
		"Query": q, "Login": login, "Error": msg, "Client": client, "Scopes": scopeWords(strings.Fields(q.Get("scope"))),
	})
}

// scopeSays is what each scope lets the app do, in the words of Google's
// consent screen.
var scopeSays = map[string]string{
	ScopeFull:     "Read, compose, send, and permanently delete all your email from Gmail",
	ScopeModify:   "Read, compose, and send emails from your Gmail account, and move them to the trash (not delete them for good)",
	ScopeReadonly: "View your email messages and settings",
	ScopeMetadata: "View your email message metadata such as labels and headers, but not the email body",
	ScopeLabels:   "See and edit your email labels",
}

type scopeWord struct{ Scope, Say string }

func scopeWords(scopes []string) []scopeWord {
	out := make([]scopeWord, len(scopes))
	for i, sc := range scopes {
		out[i] = scopeWord{Scope: sc, Say: scopeSays[sc]}
		if out[i].Say == "" {
			out[i].Say = "Use " + sc
		}
	}
	return out
}

// addMailboxIfMissing registers Options.NewMailbox(address) unless another
// request did first.
func (s *Server) addMailboxIfMissing(address string) {
	mb := s.opts.NewMailbox(strings.ToLower(address))
	mb.setClock(s.now)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(address)
	if _, ok := s.mailboxes[key]; !ok {
		s.mailboxes[key] = mb
		if s.defaultUser == "" {
			s.defaultUser = key
		}
	}
}

// freshAddress suggests an address without a mailbox, next to the default
// user's: demo2@inboxq.example after demo@inboxq.example.
func (s *Server) freshAddress() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	local, domain, ok := strings.Cut(s.defaultUser, "@")
	if !ok {
		local, domain = "me", "example.com"
	}
	for i := 2; ; i++ {
		a := fmt.Sprintf("%s%d@%s", local, i, domain)
		if _, taken := s.mailboxes[a]; !taken {
			return a
		}
	}
}
