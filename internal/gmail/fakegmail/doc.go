// Package fakegmail is an in-memory, faithful fake of the Gmail REST API v1
// and of Google's OAuth 2.0 token endpoint, served as an [http.Handler].
//
// It owns everything a test or the demo mode needs to run Gmail jobs offline:
// mailboxes with labels, threads and history ([Mailbox]), a deterministic
// mailbox generator ([Generate]), Gmail's search syntax for messages.list,
// per-user and per-project quota with Gmail's method costs, the per-user
// concurrent-request limit, OAuth consent ([Server.Consent], with PKCE
// checked at the token endpoint as Google does), bearer tokens and scopes,
// fault injection and a request log for assertions.
//
// The real client google.golang.org/api/gmail/v1 works against it unchanged:
//
//	fake := fakegmail.New(fakegmail.Options{})
//	fake.AddMailbox(fakegmail.Generate(1, 1000, fakegmail.GenerateOptions{}))
//	srv := httptest.NewServer(fake)
//	svc, err := gmail.NewService(ctx, option.WithEndpoint(srv.URL+"/"), option.WithoutAuthentication())
//
// Errors use Google's JSON error shape so that the client surfaces them as
// *googleapi.Error with the same Code, Message and Errors[].Reason as Gmail.
package fakegmail
