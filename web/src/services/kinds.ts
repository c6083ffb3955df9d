// Task kinds and their args schemas. The kinds come from list-task-kinds;
// each kind's args schema is read from the OpenAPI document the server
// serves, so kinds added to the backend work here without a new build.
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, call, ApiError } from "../api/client";

export const kindsQuery = queryOptions({
  queryKey: ["task-kinds"],
  queryFn: ({ signal }) => call(api.GET("/api/v1/task-kinds", { signal })).then((b) => b.kinds ?? []),
  staleTime: 5 * 60_000,
});

/** JSONSchema is the subset of JSON Schema the args form understands. */
export type JSONSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  enum?: unknown[];
  default?: unknown;
  examples?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  readOnly?: boolean;
  $ref?: string;
};

type OpenAPIDocument = { components?: { schemas?: Record<string, JSONSchema> } };

export const schemasQuery = queryOptions({
  queryKey: ["openapi", "schemas"],
  queryFn: async ({ signal }) => {
    const res = await fetch("/openapi.json", { signal });
    if (!res.ok) throw new ApiError(res.status, `Cannot load the API document (HTTP ${res.status})`);
    const doc = (await res.json()) as OpenAPIDocument;
    return doc.components?.schemas ?? {};
  },
  staleTime: Infinity,
});

/** resolve follows a local $ref ("#/components/schemas/Name"). */
export function resolve(s: JSONSchema | undefined, all: Record<string, JSONSchema>, depth = 0): JSONSchema | undefined {
  if (!s?.$ref || depth > 8) return s;
  const name = s.$ref.replace(/^#\/components\/schemas\//, "");
  return resolve(all[name], all, depth + 1);
}

/** argFields lists the fields a person fills in (not read-only ones). */
export function argFields(schema: JSONSchema | undefined): [string, JSONSchema][] {
  return Object.entries(schema?.properties ?? {}).filter(([, s]) => !s.readOnly);
}

/** kindTitle is a kind's name for people from the API ("Archive messages"); the kind itself until the kinds load. */
export function kindTitle(kinds: readonly { name: string; title?: string }[] | undefined, kind: string): string {
  return kinds?.find((k) => k.name === kind)?.title || kind;
}

/** useKindTitle returns kindTitle bound to the kinds the server lists. */
export function useKindTitle(): (kind: string) => string {
  const kinds = useQuery(kindsQuery);
  return (kind) => kindTitle(kinds.data, kind);
}

/**
 * alertTitle names a task's alert by its kind's title: the server writes
 * "export user data completed" (the kind in words and the outcome); this
 * reads "Export my data: completed". Other titles are left as they are.
 */
export function alertTitle(kinds: readonly { name: string; title?: string }[] | undefined, title: string): string {
  for (const k of kinds ?? []) {
    const words = k.name.replace(/_/g, " ");
    if (k.title && title.startsWith(`${words} `)) return `${k.title}: ${title.slice(words.length + 1)}`;
  }
  return title;
}
