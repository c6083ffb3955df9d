// Exports and backups: the caller's archives, and fetching one with the
// bearer token (an <a href> cannot send it) to save through a blob URL.
import { queryOptions } from "@tanstack/react-query";
import { api, ApiError, call, type Schemas } from "../api/client";
import { expireSession, getToken } from "../auth/session";

export type Export = Schemas["Export"];

export const exportKeys = { all: ["exports"] as const };

export const exportsQuery = queryOptions({
  queryKey: [...exportKeys.all, "list"],
  queryFn: ({ signal }) => call(api.GET("/api/v1/exports", { signal })).then((b) => b.exports ?? []),
});

/** fileName is the name the server suggests (Content-Disposition), else one from the archive. */
function fileName(res: Response, e: Export): string {
  const cd = res.headers.get("Content-Disposition") ?? "";
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  if (m?.[1]) return decodeURIComponent(m[1]);
  return `inboxq-${e.kind}-${e.id}.tar.gz`;
}

/** downloadExport fetches an archive with the token and saves it. */
export async function downloadExport(e: Export): Promise<void> {
  const token = getToken();
  let res: Response;
  try {
    res = await globalThis.fetch(e.download, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  } catch (err) {
    throw new ApiError(0, `The server cannot be reached (${err instanceof Error ? err.message : String(err)})`);
  }
  if (res.status === 401 && token) expireSession("Your token was refused; sign in again.");
  if (!res.ok) {
    let detail = `HTTP ${res.status} ${res.statusText}`.trim();
    try {
      const p = (await res.json()) as { detail?: string; title?: string };
      detail = p.detail ?? p.title ?? detail;
    } catch {
      // not a problem document
    }
    throw new ApiError(res.status, detail);
  }
  const url = URL.createObjectURL(await res.blob());
  try {
    const a = document.createElement("a");
    a.href = url;
    a.download = fileName(res, e);
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    // After the click has handed the blob to the download.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
