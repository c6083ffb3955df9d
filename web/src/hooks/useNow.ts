import { useSyncExternalStore } from "react";

// One shared clock for relative times ("3 s ago"), ticking every second
// while anyone reads it.
let now = Date.now();
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(l: () => void) {
  listeners.add(l);
  if (!timer) {
    // The clock stood still while nobody read it: a page that mounts after
    // a while would otherwise show times against a stale now for a second
    // ("updated in 1 min"). React rereads the snapshot once subscribed.
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const fn of listeners) fn();
    }, 1000);
  }
  return () => {
    listeners.delete(l);
    if (!listeners.size) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now, () => now);
}
