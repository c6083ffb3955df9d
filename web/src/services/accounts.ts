// Gmail accounts: the args form offers them wherever a kind takes an account_id.
import { queryOptions } from "@tanstack/react-query";
import { api, call } from "../api/client";

export const accountsQuery = queryOptions({
  queryKey: ["accounts"],
  queryFn: ({ signal }) => call(api.GET("/api/v1/accounts", { signal })).then((b) => b.accounts ?? []),
  staleTime: 60_000,
  retry: false,
});
