import { useId, useState } from "react";
import { toLocalInput } from "../lib/format";
import type { JSONSchema } from "../services/kinds";
import { resolve } from "../services/kinds";

export type Args = Record<string, unknown>;

type Props = {
  /** The kind's args schema (resolved), or undefined while unknown. */
  schema: JSONSchema | undefined;
  schemas: Record<string, JSONSchema>;
  value: Args;
  onChange: (v: Args) => void;
  /** Errors by field: "args.NAME" keys. */
  errors: Record<string, string>;
};

function baseType(s: JSONSchema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== "null");
  return s.type;
}

/** editable lists the fields a person fills in (not read-only ones). */
export function argFields(schema: JSONSchema | undefined): [string, JSONSchema][] {
  return Object.entries(schema?.properties ?? {}).filter(([name, s]) => !s.readOnly && name !== "$schema");
}

function FieldInput({
  id,
  name,
  schema,
  value,
  required,
  invalid,
  describedBy,
  onChange,
}: {
  id: string;
  name: string;
  schema: JSONSchema;
  value: unknown;
  required: boolean;
  invalid: boolean;
  describedBy: string | undefined;
  onChange: (v: unknown) => void;
}) {
  const common = { id, name, "aria-invalid": invalid || undefined, "aria-describedby": describedBy, required };
  const type = baseType(schema);
  if (schema.enum) {
    return (
      <select {...common} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{required ? "Choose…" : "(default)"}</option>
        {schema.enum.map((v) => (
          <option key={String(v)} value={String(v)}>
            {String(v)}
          </option>
        ))}
      </select>
    );
  }
  if (type === "boolean") {
    return <input {...common} required={false} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  }
  if (type === "integer" || type === "number") {
    return (
      <input
        {...common}
        type="number"
        inputMode={type === "integer" ? "numeric" : "decimal"}
        step={type === "integer" ? 1 : "any"}
        min={schema.minimum}
        max={schema.maximum}
        value={typeof value === "number" ? value : ""}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
      />
    );
  }
  if (type === "array" && ["string", "integer", "number"].includes(baseType(schema.items ?? {}) ?? "")) {
    const numeric = baseType(schema.items ?? {}) !== "string";
    return (
      <input
        {...common}
        type="text"
        placeholder="comma-separated"
        value={Array.isArray(value) ? value.join(", ") : ""}
        onChange={(e) => {
          const parts = e.target.value.split(",").map((p) => p.trim()).filter(Boolean);
          onChange(parts.length ? (numeric ? parts.map(Number) : parts) : undefined);
        }}
      />
    );
  }
  if (type === "string") {
    if (schema.format === "date-time") {
      return (
        <input
          {...common}
          type="datetime-local"
          value={typeof value === "string" && value ? toLocal(value) : ""}
          onChange={(e) => onChange(e.target.value ? new Date(e.target.value).toISOString() : undefined)}
        />
      );
    }
    return (
      <input
        {...common}
        type="text"
        maxLength={schema.maxLength}
        placeholder={schema.examples?.length ? String(schema.examples[0]) : undefined}
        value={typeof value === "string" ? value : ""}
        onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
      />
    );
  }
  // Objects and anything else: JSON for that one field.
  return <JsonField {...common} value={value} onChange={onChange} />;
}

function toLocal(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : toLocalInput(d);
}

function JsonField({
  value,
  onChange,
  ...rest
}: {
  id: string;
  name: string;
  value: unknown;
  onChange: (v: unknown) => void;
  "aria-invalid"?: boolean;
  "aria-describedby"?: string;
}) {
  const [text, setText] = useState(() => (value === undefined ? "" : JSON.stringify(value, null, 2)));
  const [bad, setBad] = useState(false);
  return (
    <>
      <textarea
        {...rest}
        className="code"
        rows={4}
        value={text}
        aria-invalid={bad || rest["aria-invalid"] || undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setBad(false);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
      />
      {bad && <span className="field-error">Not valid JSON yet.</span>}
    </>
  );
}

/**
 * ArgsForm edits a task kind's args from its JSON Schema: one input per
 * property (text, number, checkbox, select, list, date), JSON for nested
 * values. Server errors appear beside their field.
 */
export function ArgsForm({ schema, schemas, value, onChange, errors }: Props) {
  const base = useId();
  const fields = argFields(schema);
  if (!schema) return null;
  if (!fields.length) return <p className="muted">This kind takes no arguments.</p>;
  const required = new Set(schema.required ?? []);
  return (
    <div className="fields">
      {fields.map(([name, raw]) => {
        const s = resolve(raw, schemas) ?? raw;
        const id = `${base}-${name}`;
        const err = errors[`args.${name}`];
        const help = s.description ?? raw.description;
        const describedBy = [help ? `${id}-help` : "", err ? `${id}-err` : ""].filter(Boolean).join(" ") || undefined;
        const isCheck = baseType(s) === "boolean" && !s.enum;
        return (
          <div key={name} className={`field${isCheck ? " check" : ""}`}>
            <label htmlFor={id}>
              {name}
              {required.has(name) && <span aria-hidden="true"> *</span>}
            </label>
            <FieldInput
              id={id}
              name={name}
              schema={s}
              value={value[name]}
              required={required.has(name)}
              invalid={!!err}
              describedBy={describedBy}
              onChange={(v) => {
                const next = { ...value };
                if (v === undefined) delete next[name];
                else next[name] = v;
                onChange(next);
              }}
            />
            {help && (
              <span id={`${id}-help`} className="help">
                {help}
              </span>
            )}
            {err && (
              <span id={`${id}-err`} className="field-error">
                {err}
              </span>
            )}
          </div>
        );
      })}
    </div>
  );
}
