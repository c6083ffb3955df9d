import { isLimited } from "../api/client";

/**
 * LimitNote shows a 429's sentence beside the button that got it (the
 * sentence itself comes from ApiError: the server's detail and the wait).
 */
export function LimitNote({ error }: { error: unknown }) {
  if (!isLimited(error)) return null;
  return (
    <p className="error-note limit-note" role="alert">
      {error.message}
    </p>
  );
}
