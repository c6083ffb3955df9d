/** JsonView shows a JSON value readably. */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null) return <p className="muted">None.</p>;
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
