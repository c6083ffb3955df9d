// A minimal router over the History API: the dashboard has a handful of
// flat routes, which do not justify a routing library.
import { useSyncExternalStore } from "react";

const listeners = new Set<() => void>();

function subscribe(listener: () => void) {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

function current() {
  return window.location.pathname + window.location.search;
}

/** navigate changes the URL and re-renders whoever reads it. */
export function navigate(to: string, opts: { replace?: boolean } = {}) {
  if (to === current()) return;
  if (opts.replace) window.history.replaceState(null, "", to);
  else {
    window.history.pushState(null, "", to);
    // A new page starts at its top, as after a page load: otherwise the task
    // opened from the foot of a long Start work form hides its state and
    // buttons above the fold. (Back and forward are the browser's.)
    window.scrollTo(0, 0);
  }
  for (const l of listeners) l();
}

/** useLocation returns the path and the query string. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, current, () => "/");
  const url = new URL(href, "http://x");
  return { path: url.pathname, search: url.searchParams };
}
