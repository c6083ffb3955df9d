import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { AlertEvent } from "../api/client";
import { alertKeys } from "../services/alerts";
import { EVENTS_PATH } from "../services/events";
import { changesMessages, MessageRefresher } from "../services/messages";
import { EventApplier, taskKeys } from "../services/tasks";
import { useEventStream } from "./useEventStream";

/**
 * useLiveEvents holds the one stream of all the caller's events (one
 * connection for the whole app) and turns it into cache updates: task and
 * progress events patch the task lists and details; a task that changed
 * the stored mail (a sync, a classification, learning from corrections)
 * refreshes the Inbox; alerts refresh the alert queries and go to onAlert
 * (the toasts). A snapshot the server cut at its limit (snapshot_end with
 * truncated) leaves older tasks out: the task lists are refetched instead
 * of trusted.
 */
export function useLiveEvents(enabled: boolean, onAlert: (a: AlertEvent) => void) {
  const qc = useQueryClient();
  const [applier] = useState(() => new EventApplier(qc));
  useEffect(() => () => applier.dispose(), [applier]);
  const [messages] = useState(() => new MessageRefresher(qc));
  useEffect(() => () => messages.dispose(), [messages]);

  return useEventStream(enabled ? EVENTS_PATH : null, "stream-events", (ev) => {
    switch (ev.event) {
      case "task":
        applier.task(ev.data);
        if (changesMessages(ev.data)) messages.schedule();
        break;
      case "progress":
        applier.progress(ev.data);
        break;
      case "alert":
        void qc.invalidateQueries({ queryKey: alertKeys.all });
        onAlert(ev.data);
        break;
      case "snapshot_end":
        if (ev.data.truncated) void qc.invalidateQueries({ queryKey: taskKeys.lists() });
        break;
    }
  });
}
