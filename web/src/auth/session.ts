// The signed-in API token, kept in localStorage so a reload stays signed in.
import { useSyncExternalStore } from "react";

const KEY = "inboxq.token";
const listeners = new Set<() => void>();
let reason = "";

function emit() {
  for (const l of listeners) l();
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY) listener(); // signed in or out in another tab
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}

export function getToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function signIn(token: string) {
  localStorage.setItem(KEY, token);
  reason = "";
  emit();
}

export function signOut() {
  localStorage.removeItem(KEY);
  reason = "";
  emit();
}

/** expireSession signs out because the server refused the token. */
export function expireSession(why: string) {
  localStorage.removeItem(KEY);
  reason = why;
  emit();
}

/** signOutReason says why the last session ended, when the server ended it. */
export function signOutReason(): string {
  return reason;
}

export function useToken(): string | null {
  return useSyncExternalStore(subscribe, getToken, () => null);
}
