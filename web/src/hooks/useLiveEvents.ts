import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { AlertEvent } from "../api/client";
import { alertKeys } from "../services/alerts";
import { EVENTS_PATH } from "../services/events";
import { changesMessages, MessageRefresher } from "../services/messages";
import { EventApplier, taskKeys } from "../services/tasks";
import { WorkflowRefresher } from "../services/workflows";
import { useEventStream } from "./useEventStream";

/**
 * useLiveEvents holds the one stream of all the caller's events (one
 * connection for the whole app) and turns it into cache updates: task and
 * progress events patch the task lists and details; a task that changed
 * the stored mail (a sync, a classification, learning from corrections)
 * refreshes the Inbox; workflow events, and the events of a workflow's
 * steps, refetch the workflows shown (throttled); alerts refresh the alert queries and go to onAlert
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
  const [workflows] = useState(() => new WorkflowRefresher(qc));
  useEffect(() => () => workflows.dispose(), [workflows]);

  return useEventStream(enabled ? EVENTS_PATH : null, "stream-events", (ev) => {
    switch (ev.event) {
      case "task":
        applier.task(ev.data);
        if (changesMessages(ev.data)) messages.schedule();
        workflows.task(ev.data.id, true);
        break;
      case "progress":
        applier.progress(ev.data);
        workflows.task(ev.data.id);
        break;
      case "workflow":
        workflows.workflow(ev.data);
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
