import { useState } from "react";
import type { KindInfo } from "../api/client";
import { argFields, resolve, type JSONSchema } from "../services/kinds";
import { ArgsForm, type Args } from "./ArgsForm";

type Props = {
  kind: KindInfo | undefined;
  schemas: Record<string, JSONSchema> | undefined;
  value: Args;
  onChange: (v: Args) => void;
  errors: Record<string, string>;
};

/**
 * KindArgs edits a kind's args as a form generated from its schema, or as
 * JSON (for values the form cannot express, or when the schema is missing).
 */
export function KindArgs({ kind, schemas, value, onChange, errors }: Props) {
  const [asJSON, setAsJSON] = useState(false);
  const [text, setText] = useState("");
  const [bad, setBad] = useState("");
  if (!kind) return null;
  const schema = schemas ? resolve({ $ref: `#/components/schemas/${kind.args_schema}` }, schemas) : undefined;
  const jsonOnly = !schema;
  const showJSON = asJSON || jsonOnly;
  const argsError = errors["args"];
  const otherArgErrors = Object.entries(errors).filter(
    ([k]) => k.startsWith("args.") && !argFields(schema).some(([n]) => k === `args.${n}` || k.startsWith(`args.${n}.`)),
  );

  const toggle = () => {
    if (!asJSON) {
      setText(JSON.stringify(value, null, 2));
      setBad("");
    }
    setAsJSON(!asJSON);
  };

  return (
    <fieldset className="args">
      <legend>Arguments</legend>
      {!jsonOnly && (
        <button type="button" className="link small" aria-pressed={asJSON} onClick={toggle}>
          {asJSON ? "Edit as a form" : "Edit as JSON"}
        </button>
      )}
      {showJSON ? (
        <div className="field">
          <label htmlFor="args-json">Arguments (JSON object)</label>
          <textarea
            id="args-json"
            className="code"
            rows={8}
            spellCheck={false}
            value={asJSON ? text : JSON.stringify(value, null, 2)}
            aria-invalid={bad || argsError ? true : undefined}
            aria-describedby="args-json-err"
            onChange={(e) => {
              setText(e.target.value);
              if (!asJSON) setAsJSON(true);
              try {
                const v: unknown = JSON.parse(e.target.value || "{}");
                if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
                setBad("");
                onChange(v as Args);
              } catch {
                setBad("Not a JSON object yet.");
              }
            }}
          />
          <span id="args-json-err" className="field-error">
            {[bad, argsError, ...otherArgErrors.map(([k, m]) => `${k}: ${m}`)].filter(Boolean).join(" ")}
          </span>
        </div>
      ) : (
        <>
          <ArgsForm schema={schema} schemas={schemas ?? {}} value={value} onChange={onChange} errors={errors} />
          {(argsError || otherArgErrors.length > 0) && (
            <p className="field-error">
              {[argsError, ...otherArgErrors.map(([k, m]) => `${k}: ${m}`)].filter(Boolean).join(" ")}
            </p>
          )}
        </>
      )}
    </fieldset>
  );
}
