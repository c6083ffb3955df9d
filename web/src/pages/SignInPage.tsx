import { useState, type FormEvent } from "react";
import { api, ApiError, call, errorMessage } from "../api/client";
import { signIn, signOutReason } from "../auth/session";

/** checkToken asks the API whether the token works, before keeping it. */
async function checkToken(token: string): Promise<void> {
  try {
    await call(api.GET("/api/v1/task-kinds", { headers: { Authorization: `Bearer ${token}` } }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      throw new ApiError(401, "This token is not valid (revoked, expired or mistyped).");
    }
    throw err;
  }
}

export function SignInPage() {
  const [token, setToken] = useState("");
  const [error, setError] = useState(() => signOutReason());
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError("Paste an API token.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      await checkToken(t);
      signIn(t);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} noValidate>
        <h1>inboxq</h1>
        <p className="muted">Sign in with an API token to watch and steer your background work.</p>
        <div className="field">
          <label htmlFor="token">API token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="current-password"
            spellCheck={false}
            placeholder="iq_…"
            value={token}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "token-error token-help" : "token-help"}
            onChange={(e) => setToken(e.target.value)}
            autoFocus
          />
          <span id="token-help" className="help">
            Create one with <code>inboxq token create --user NAME</code>. It is kept in this browser until you sign out.
          </span>
          {error && (
            <span id="token-error" className="field-error" role="alert">
              {error}
            </span>
          )}
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
