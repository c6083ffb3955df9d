import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { EventApplier, isFinished, taskQuery } from "../services/tasks";
import { taskEventsPath } from "../services/events";
import { useEventStream, type StreamStatus } from "./useEventStream";

/**
 * useTaskStatus fetches one task and keeps it live from its own event
 * stream until it finishes. When the task runs again (a retry), the
 * stream reopens.
 */
export function useTaskStatus(id: number) {
  const qc = useQueryClient();
  const query = useQuery(taskQuery(id));
  const [applier] = useState(() => new EventApplier(qc));
  useEffect(() => () => applier.dispose(), [applier]);

  const watching = query.data !== undefined && !isFinished(query.data.state);
  const stream: StreamStatus = useEventStream(watching ? taskEventsPath(id) : null, "stream-task-events", (ev) => {
    if (ev.event === "task" && ev.data.id === id) {
      applier.task(ev.data);
      return isFinished(ev.data.state);
    }
    if (ev.event === "progress" && ev.data.id === id) applier.progress(ev.data);
    return false;
  });
  return { task: query.data, query, stream };
}
