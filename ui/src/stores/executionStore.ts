/**
 * Run state from the live tail (or a recorded log), kept apart from the definition. The
 * canvas reads `shown`: the live state, or the state at the scrubber's position.
 */
import { create } from "zustand";
import type { ExecutionEvent, WorkflowDefinition } from "../api/types";
import { followExecution, type TailHandle, type TailItem } from "../api/live";
import { evolve, fold, type ExecutionView, type LogRecord } from "../lib/executionState";

type Connection = "idle" | "connecting" | "live" | "reconnecting" | "ended";

interface ExecutionStoreState {
  executionId: string | null;
  definition: WorkflowDefinition | null;
  records: LogRecord[];
  live: ExecutionView | null;
  /** Number of records folded for the scrubber; null follows the live state. */
  scrub: number | null;
  shown: ExecutionView | null;
  connection: Connection;
  tail: TailHandle | null;

  follow(executionId: string, definition: WorkflowDefinition): void;
  apply(item: TailItem): void;
  setScrub(position: number | null): void;
  clear(): void;
}

const withDefinition = (event: ExecutionEvent, definition: WorkflowDefinition | null): ExecutionEvent =>
  event.type === "execution.started" && !event.definition && definition ? { ...event, definition } : event;

export const useExecutionStore = create<ExecutionStoreState>((set, get) => ({
  executionId: null,
  definition: null,
  records: [],
  live: null,
  scrub: null,
  shown: null,
  connection: "idle",
  tail: null,

  follow: (executionId, definition) => {
    get().tail?.close();
    set({ executionId, definition, records: [], live: null, shown: null, scrub: null, connection: "connecting" });
    const tail = followExecution(
      executionId,
      (item) => get().apply(item),
      (connection) => set({ connection }),
    );
    set({ tail });
  },
  apply: (item) => {
    const { definition, live, records, scrub } = get();
    const event = item.event.type === "node:stream" ? item.event : withDefinition(item.event, definition);
    const next = evolve(live, event, item.seq);
    const nextRecords = item.seq ? [...records, { seq: item.seq, event: event as ExecutionEvent }] : records;
    set({ live: next, records: nextRecords, shown: scrub === null ? next : get().shown });
  },
  setScrub: (position) => {
    const { records, live } = get();
    if (position === null || position >= records.length) set({ scrub: null, shown: live });
    else set({ scrub: position, shown: fold(records, Math.max(1, position)) });
  },
  clear: () => {
    get().tail?.close();
    set({ executionId: null, definition: null, records: [], live: null, shown: null, scrub: null, connection: "idle", tail: null });
  },
}));
