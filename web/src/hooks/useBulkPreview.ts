import { useQuery } from "@tanstack/react-query";
import type { Args } from "../components/ArgsForm";
import { messageCountQuery, type BulkTarget } from "../services/accounts";
import { useDebounced } from "./useDebounced";

/** The kinds that change many messages at once: previewed and confirmed first. */
export const BULK_KINDS: ReadonlySet<string> = new Set(["bulk_archive_emails", "bulk_label_emails", "bulk_delete_emails"]);

export const PREVIEW_DEBOUNCE_MS = 300;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** previewKey is what the count depends on: the account and the target. */
function previewKey(args: Args): string {
  const target = isObject(args.target) ? args.target : {};
  return JSON.stringify({ account_id: args.account_id, target });
}

export type BulkPreviewState = {
  /** The kind is a bulk kind: Start waits for a confirmation. */
  applies: boolean;
  accountChosen: boolean;
  /** Still waiting for the fields to stop changing. */
  settling: boolean;
  isFetching: boolean;
  count: number | undefined;
  error: Error | null;
  /**
   * What a confirmation is for: the account, the target and the count
   * shown. Undefined while there is no count to confirm.
   */
  token: string | undefined;
};

/** useBulkPreview counts what a bulk kind's args select, debounced. */
export function useBulkPreview(kind: string, args: Args): BulkPreviewState {
  const applies = BULK_KINDS.has(kind);
  const key = previewKey(args);
  const settled = useDebounced(key, PREVIEW_DEBOUNCE_MS);
  const { account_id: accountId, target } = JSON.parse(settled) as { account_id?: unknown; target: BulkTarget };
  const accountChosen = typeof args.account_id === "number";
  const count = useQuery({
    ...messageCountQuery(typeof accountId === "number" ? accountId : 0, target),
    enabled: applies && typeof accountId === "number",
  });
  const settling = key !== settled;
  const ready = applies && accountChosen && !settling && count.isSuccess;
  return {
    applies,
    accountChosen,
    settling,
    isFetching: count.isFetching,
    count: ready ? count.data : undefined,
    error: applies && accountChosen && !settling ? count.error : null,
    token: ready ? `${verb(kind, args)}#${settled}#${count.data}` : undefined,
  };
}

export const VERBS: Record<string, string> = {
  bulk_archive_emails: "archive",
  bulk_label_emails: "relabel",
  bulk_delete_emails: "move to the trash",
};

export function verb(kind: string, args: Args): string {
  if (kind === "bulk_delete_emails" && args.permanent === true) return "permanently delete";
  return VERBS[kind] ?? "change";
}
