import { errorMessage, sentence } from "../api/client";

/**
 * ErrorNote shows a failed call's message as sentences ("Not started. You
 * may start…"), announced to screen readers.
 */
export function ErrorNote({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null;
  return (
    <p className="error-note" role="alert">
      {prefix ? `${sentence(prefix)} ` : ""}
      {sentence(errorMessage(error))}
    </p>
  );
}
