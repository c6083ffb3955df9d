// Gmail accounts: the args form offers them wherever a kind takes an account_id.
import { queryOptions } from "@tanstack/react-query";
import { api, call, type Schemas } from "../api/client";

export const accountsQuery = queryOptions({
  queryKey: ["accounts"],
  queryFn: ({ signal }) => call(api.GET("/api/v1/accounts", { signal })).then((b) => b.accounts ?? []),
  staleTime: 60_000,
  retry: false,
});

export type BulkTarget = Schemas["BulkTarget"];

/**
 * messageCountQuery previews a bulk action: how many of the account's
 * stored messages the target selects now (count-messages). The server
 * answers 422 to a target that selects nothing in particular.
 */
export function messageCountQuery(accountId: number, target: BulkTarget) {
  return queryOptions({
    queryKey: ["accounts", accountId, "message-count", target],
    queryFn: ({ signal }) =>
      call(
        api.POST("/api/v1/accounts/{id}/messages/count", { params: { path: { id: accountId } }, body: { target }, signal }),
      ).then((b) => b.count),
    staleTime: 10_000,
    retry: false,
  });
}

/**
 * connectAccount starts Google's consent and returns the URL to send the
 * browser to. The answer sets an HttpOnly cookie that binds the consent to
 * this browser (the callback refuses one without it), so the request
 * includes credentials: the browser must store that cookie.
 */
export function connectAccount(): Promise<string> {
  return call(api.POST("/api/v1/accounts/connect", { credentials: "include" })).then((b) => b.authorize_url);
}

/** disconnectAccount deletes the account, its sealed token and its stored messages. */
export function disconnectAccount(id: number): Promise<void> {
  return call(api.DELETE("/api/v1/accounts/{id}", { params: { path: { id } } })).then(() => undefined);
}

export type Label = Schemas["Label"];

/** labelsQuery lists an account's Gmail labels (one Gmail call), for pickers. */
export function labelsQuery(accountId: number) {
  return queryOptions({
    queryKey: ["accounts", accountId, "labels"],
    queryFn: ({ signal }) =>
      call(api.GET("/api/v1/accounts/{id}/labels", { params: { path: { id: accountId } }, signal })).then((b) => b.labels ?? []),
    staleTime: 5 * 60_000,
    retry: false,
  });
}
