import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { count, toLocalInput } from "../lib/format";
import { accountsQuery, labelsQuery } from "../services/accounts";
import { argFields, resolve, type JSONSchema } from "../services/kinds";

export type Args = Record<string, unknown>;

type Props = {
  /** The kind's args schema (resolved), or undefined while unknown. */
  schema: JSONSchema | undefined;
  schemas: Record<string, JSONSchema>;
  value: Args;
  onChange: (v: Args) => void;
  /** Errors by field: "args.NAME" (and "args.NAME.SUB") keys. */
  errors: Record<string, string>;
};

function baseType(s: JSONSchema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== "null");
  return s.type;
}

/**
 * ordered puts a kind's fields in the order a person decides them (the
 * document lists them alphabetically): the account, then which messages,
 * then numbers and lists, then switches, then text (a switch before the
 * text it asks for, as "Delete permanently" before its confirmation).
 */
function ordered(fields: [string, JSONSchema][], schemas: Record<string, JSONSchema>, top: boolean): [string, JSONSchema][] {
  if (!top) return fields;
  const rank = ([name, raw]: [string, JSONSchema]) => {
    const s = resolve(raw, schemas) ?? raw;
    if (name === "account_id") return 0;
    if (baseType(s) === "object") return 1;
    if (baseType(s) === "boolean") return 3;
    if (baseType(s) === "string") return 4;
    return 2;
  };
  return [...fields].sort((a, b) => rank(a) - rank(b));
}

const isString = (s: JSONSchema) => baseType(s) === "string";
const isInteger = (s: JSONSchema) => baseType(s) === "integer";

/** PICKER_HELP is the help of fields the form offers as a choice. */
const PICKER_HELP: Record<string, string> = {
  account: "The mailbox to work on: one of your connected Gmail accounts.",
  label: "Only messages with this label, with how many stored messages carry it.",
};

function isObject(v: unknown): v is Args {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

type InputProps = {
  /** The account the args name (account_id), for pickers of its labels. */
  accountId?: number;
  id: string;
  name: string;
  schema: JSONSchema;
  value: unknown;
  required: boolean;
  invalid: boolean;
  describedBy: string | undefined;
  onChange: (v: unknown) => void;
};

/**
 * LabelInput picks one of the account's real Gmail labels (by name, sent
 * as its id) for a label field; a text input until an account is chosen or
 * when its labels cannot be listed.
 */
function LabelInput(props: InputProps) {
  const labels = useQuery({ ...labelsQuery(props.accountId ?? 0), enabled: props.accountId !== undefined });
  const { id, name, value, required, invalid, describedBy, onChange } = props;
  if (props.accountId !== undefined && labels.isPending) {
    return (
      <select id={id} name={name} disabled aria-describedby={describedBy}>
        <option>Loading the labels…</option>
      </select>
    );
  }
  if (props.accountId === undefined || !labels.data?.length) return <ScalarInput {...props} />;
  const system = labels.data.filter((l) => l.system);
  const own = labels.data.filter((l) => !l.system);
  const option = (l: (typeof labels.data)[number]) => (
    <option key={l.id} value={l.id}>
      {l.name}
      {l.messages ? ` (${count(l.messages)})` : ""}
    </option>
  );
  return (
    <select
      id={id}
      name={name}
      required={required}
      aria-invalid={invalid || undefined}
      aria-describedby={describedBy}
      value={typeof value === "string" ? value : ""}
      onChange={(e) => onChange(e.target.value || undefined)}
    >
      <option value="">Any label</option>
      <optgroup label="Gmail">{system.map(option)}</optgroup>
      {own.length > 0 && <optgroup label="Yours">{own.map(option)}</optgroup>}
    </select>
  );
}

/**
 * AccountInput picks one of the caller's Gmail accounts for an account_id
 * field. While they load, and when there are none, it is a disabled select
 * that says so (never a number input that turns into a select under the
 * person's hand); only when they cannot be listed is it a number input.
 */
function AccountInput(props: InputProps) {
  const accounts = useQuery(accountsQuery);
  const { id, name, value, required, invalid, describedBy, onChange } = props;
  if (accounts.isError) return <ScalarInput {...props} />;
  if (!accounts.data?.length) {
    return (
      <select id={id} name={name} required={required} aria-invalid={invalid || undefined} aria-describedby={describedBy} disabled value="">
        <option value="">{accounts.isPending ? "Loading your accounts…" : "No connected account: connect one under Accounts"}</option>
      </select>
    );
  }
  return (
    <select
      id={id}
      name={name}
      required={required}
      aria-invalid={invalid || undefined}
      aria-describedby={describedBy}
      value={typeof value === "number" ? String(value) : ""}
      onChange={(e) => onChange(e.target.value ? Number(e.target.value) : undefined)}
    >
      <option value="">Choose an account…</option>
      {accounts.data.map((a) => (
        <option key={a.id} value={a.id}>
          {a.email}
          {a.status === "needs_reauth" ? " (needs reconnecting)" : a.status !== "connected" ? ` (${a.status})` : ""}
        </option>
      ))}
    </select>
  );
}

function ScalarInput({ id, name, schema, value, required, invalid, describedBy, onChange }: InputProps) {
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
    return <input {...common} required={false} type="checkbox" checked={value === true} onChange={(e) => onChange(required ? e.target.checked : e.target.checked || undefined)} />;
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
    return <ListInput {...common} numeric={baseType(schema.items ?? {}) !== "string"} value={value} onChange={onChange} />;
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
  // Anything else: JSON for that one field.
  return <JsonField {...common} value={value} onChange={onChange} />;
}

function toLocal(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : toLocalInput(d);
}

/** ListInput edits a list of strings or numbers as comma-separated text. */
function ListInput({
  numeric,
  value,
  onChange,
  ...rest
}: {
  id: string;
  name: string;
  numeric: boolean;
  value: unknown;
  onChange: (v: unknown) => void;
  required: boolean;
  "aria-invalid"?: boolean;
  "aria-describedby"?: string;
}) {
  // The text as typed: "a, " must stay while the next item is typed.
  const [text, setText] = useState(() => (Array.isArray(value) ? value.join(", ") : ""));
  return (
    <input
      {...rest}
      type="text"
      placeholder="comma-separated"
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        const parts = e.target.value.split(",").map((p) => p.trim()).filter(Boolean);
        onChange(parts.length ? (numeric ? parts.map(Number) : parts) : undefined);
      }}
    />
  );
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
  required: boolean;
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

type ObjectProps = {
  schema: JSONSchema;
  schemas: Record<string, JSONSchema>;
  value: Args;
  onChange: (v: Args) => void;
  errors: Record<string, string>;
  /** Where these fields sit in the body, for server errors: "args", "args.target". */
  path: string;
  idBase: string;
  /** The account the whole args name, if any. */
  accountId?: number;
};

/** ObjectFields renders one input per property; nested objects as fieldsets. */
function ObjectFields({ schema, schemas, value, onChange, errors, path, idBase, accountId }: ObjectProps) {
  const required = new Set(schema.required ?? []);
  const set = (name: string, v: unknown) => {
    const next = { ...value };
    if (v === undefined || (isObject(v) && !Object.keys(v).length)) delete next[name];
    else next[name] = v;
    onChange(next);
  };
  return (
    <div className="fields">
      {ordered(argFields(schema), schemas, path === "args").map(([name, raw]) => {
        const s = resolve(raw, schemas) ?? raw;
        const id = `${idBase}-${name}`;
        const key = `${path}.${name}`;
        const err = errors[key];
        // The API's name for people; the field's own name when it has none.
        const label = raw.title ?? s.title ?? name;
        // A picker chooses by name what the API takes by id: its help says
        // so in those words, not the document's (written for programs).
        const picker = isString(s) && name === "label" && accountId !== undefined ? "label" : isInteger(s) && name === "account_id" ? "account" : "";
        const help = PICKER_HELP[picker] ?? raw.description ?? s.description;
        const errNode = err && (
          <span id={`${id}-err`} className="field-error">
            {err}
          </span>
        );
        if (baseType(s) === "object" && s.properties) {
          return (
            <fieldset key={name} className="nested" aria-describedby={help ? `${id}-help` : undefined}>
              <legend>{label}</legend>
              {help && (
                <p id={`${id}-help`} className="help">
                  {help}
                </p>
              )}
              {errNode}
              <ObjectFields
                schema={s}
                schemas={schemas}
                value={isObject(value[name]) ? (value[name] as Args) : {}}
                onChange={(v) => set(name, v)}
                errors={errors}
                path={key}
                idBase={id}
                accountId={accountId}
              />
            </fieldset>
          );
        }
        const describedBy = [help ? `${id}-help` : "", err ? `${id}-err` : ""].filter(Boolean).join(" ") || undefined;
        const isCheck = baseType(s) === "boolean" && !s.enum;
        const inputProps: InputProps = {
          accountId,
          id,
          name,
          schema: s,
          value: value[name],
          required: required.has(name),
          invalid: !!err,
          describedBy,
          onChange: (v) => set(name, v),
        };
        return (
          <div key={name} className={`field${isCheck ? " check" : ""}`}>
            <label htmlFor={id}>{label}</label>
            {picker === "account" ? (
              <AccountInput {...inputProps} />
            ) : name === "label" && isString(s) ? (
              <LabelInput {...inputProps} />
            ) : (
              <ScalarInput {...inputProps} />
            )}
            {help && (
              <span id={`${id}-help`} className="help">
                {help}
              </span>
            )}
            {errNode}
          </div>
        );
      })}
    </div>
  );
}

/**
 * ArgsForm edits a task kind's args from its JSON Schema: one input per
 * property (text, number, checkbox, select, list, date), a fieldset per
 * nested object, JSON for anything else, each labelled with its title from
 * the API. Server errors appear beside their field; an account_id is picked
 * from the caller's accounts and a label from that account's labels.
 */
export function ArgsForm({ schema, schemas, value, onChange, errors }: Props) {
  const base = useId();
  if (!schema) return null;
  if (!argFields(schema).length) return <p className="muted">This kind takes no arguments.</p>;
  return (
    <ObjectFields
      schema={schema}
      schemas={schemas}
      value={value}
      onChange={onChange}
      errors={errors}
      path="args"
      idBase={base}
      accountId={typeof value.account_id === "number" ? value.account_id : undefined}
    />
  );
}
