/**
 * The execution-state reducer: the browser's counterpart of the engine's `evolve`/`fold`,
 * fed with events from the live tail or a recorded log. Pure; tolerant of duplicates,
 * stale attempts and events after the end, like the engine's fold.
 */
import type { ErrorInfo, ExecutionEvent, WorkflowDefinition } from "../api/types";

export type NodeStatus = "pending" | "running" | "waiting" | "completed" | "failed" | "retrying" | "skipped" | "cancelled";
export type ExecutionStatus = "running" | "paused" | "completed" | "failed" | "cancelled";

export interface AttemptView {
  attempt: number;
  status: NodeStatus;
  scheduledAt?: string;
  endedAt?: string;
  durationMs?: number;
  error?: ErrorInfo;
}

export interface NodeView {
  status: NodeStatus;
  attempt: number;
  output?: unknown;
  outputRef?: string | null;
  handles?: string[] | null;
  error?: ErrorInfo;
  scheduledAt?: string;
  endedAt?: string;
  durationMs?: number;
  retryAt?: string;
  /** What a waiting node asks of a person (prompt, mode, schema). */
  request?: Record<string, unknown> | null;
  /** LLM text streamed so far for the current attempt. */
  streamed: string;
  /** Durable steps inside the current attempt (`node.progress`), e.g. an agent's tool calls. */
  progress: { key: string; data?: unknown }[];
  /** Child executions of a loop or sub-workflow node, by item index. */
  children: { index: number; executionId: string; status: string }[];
  attempts: AttemptView[];
}

export interface ExecutionView {
  executionId: string;
  workflowId?: string | null;
  definition: WorkflowDefinition;
  inputs: Record<string, unknown>;
  startedAt: string;
  status: ExecutionStatus;
  test: boolean;
  nodes: Record<string, NodeView>;
  outputs: Record<string, unknown>;
  /** Execution variables set so far (by `variable` nodes). */
  vars: Record<string, unknown>;
  error?: ErrorInfo;
  failedNode?: string | null;
  endedAt?: string;
  cancelRequested: boolean;
  lastSeq: number;
  eventCount: number;
}

/** A token chunk from the live tail (`node:stream`); not part of the durable log. */
export interface StreamChunk {
  type: "node:stream";
  node_id: string;
  attempt?: number;
  text?: string;
  token?: string;
  delta?: string;
}

const RANK: Partial<Record<NodeStatus, number>> = { running: 1, waiting: 2, completed: 3, failed: 3 };

const emptyNode = (): NodeView => ({ status: "pending", attempt: 0, streamed: "", progress: [], children: [], attempts: [] });

function record(node: NodeView, attempt: number, changes: Partial<AttemptView>): AttemptView[] {
  const index = node.attempts.findIndex((a) => a.attempt === attempt);
  if (index < 0) return [...node.attempts, { attempt, status: changes.status ?? node.status, ...changes }];
  const next = [...node.attempts];
  next[index] = { ...next[index], ...changes };
  return next;
}

type NodeEvent = Extract<ExecutionEvent, { node_id: string }>;

function nodeStep(node: NodeView, event: NodeEvent): NodeView | null {
  const rank = RANK[node.status] ?? 0;
  switch (event.type) {
    case "node.scheduled":
      if (event.attempt < node.attempt) return null;
      if (event.attempt === node.attempt && rank >= 1) {
        if (node.scheduledAt) return null;
        return { ...node, scheduledAt: event.scheduled_at, attempts: record(node, event.attempt, { scheduledAt: event.scheduled_at }) };
      }
      return {
        ...node,
        status: "running",
        attempt: event.attempt,
        scheduledAt: event.scheduled_at,
        error: undefined,
        retryAt: undefined,
        // Chunks can outrun the log: those of a first attempt that came before its
        // `node.scheduled` are kept; a later attempt starts its text afresh.
        streamed: node.status === "pending" ? node.streamed : "",
        progress: [],
        children: [],
        attempts: record(node, event.attempt, { status: "running", scheduledAt: event.scheduled_at }),
      };
    case "node.waiting":
      if (event.attempt < node.attempt || (rank >= 2 && event.attempt === node.attempt)) return null;
      return {
        ...node,
        status: "waiting",
        attempt: event.attempt,
        request: event.request ?? null,
        attempts: record(node, event.attempt, { status: "waiting" }),
      };
    case "node.completed":
      if (event.attempt < node.attempt || (event.attempt === node.attempt && rank >= 3)) return null;
      return {
        ...node,
        status: "completed",
        attempt: event.attempt,
        output: event.output,
        outputRef: event.output_ref,
        handles: event.handles,
        endedAt: event.completed_at,
        durationMs: event.duration_ms ?? undefined,
        error: undefined,
        request: null,
        attempts: record(node, event.attempt, {
          status: "completed",
          endedAt: event.completed_at,
          durationMs: event.duration_ms ?? undefined,
        }),
      };
    case "node.failed":
      if (event.attempt < node.attempt || (event.attempt === node.attempt && rank >= 3)) return null;
      return {
        ...node,
        status: "failed",
        attempt: event.attempt,
        error: event.error,
        endedAt: event.failed_at,
        durationMs: event.duration_ms ?? undefined,
        attempts: record(node, event.attempt, {
          status: "failed",
          endedAt: event.failed_at,
          durationMs: event.duration_ms ?? undefined,
          error: event.error,
        }),
      };
    case "node.retrying":
      if (node.status !== "failed" || event.attempt !== node.attempt + 1) return null;
      return { ...node, status: "retrying", attempt: event.attempt, retryAt: event.retry_at };
    case "node.retry_due":
      return null; // still retrying until the next attempt is scheduled
    case "node.skipped":
      return node.status === "pending" ? { ...node, status: "skipped" } : null;
    case "node.progress":
      if (event.attempt !== node.attempt || node.progress.some((p) => p.key === event.key)) return null;
      return { ...node, progress: [...node.progress, { key: event.key, data: event.data }] };
    case "child.started":
    case "child.finished": {
      if (event.attempt !== node.attempt) return null;
      const status = event.type === "child.started" ? "running" : event.status;
      const others = node.children.filter((c) => c.index !== event.index);
      const children = [...others, { index: event.index, executionId: event.execution_id, status }].sort((a, b) => a.index - b.index);
      return { ...node, children };
    }
    default:
      // A node event this UI does not know yet (from a newer server) changes no status.
      return null;
  }
}

/** The state after `event` (with its stream sequence `seq` when known). */
export function evolve(state: ExecutionView | null, event: ExecutionEvent | StreamChunk, seq = 0): ExecutionView | null {
  if (event.type === "node:stream") return state ? applyChunk(state, event) : state;
  if (state === null) {
    if (event.type !== "execution.started") return null;
    return {
      executionId: event.execution_id,
      workflowId: event.workflow_id,
      definition: event.definition,
      inputs: event.inputs ?? {},
      startedAt: event.started_at,
      status: "running",
      test: event.test ?? false,
      nodes: Object.fromEntries(Object.keys(event.definition.nodes ?? {}).map((id) => [id, emptyNode()])),
      outputs: {},
      vars: {},
      cancelRequested: false,
      lastSeq: seq,
      eventCount: 1,
    };
  }
  const base = { ...state, eventCount: state.eventCount + 1, lastSeq: seq || state.lastSeq };
  if (isTerminal(state.status)) return base;
  switch (event.type) {
    case "execution.started":
      return base;
    case "execution.cancel_requested":
      return { ...base, cancelRequested: true };
    case "execution.pause_requested":
      return { ...base, status: "paused" };
    case "execution.resumed":
      return { ...base, status: "running" };
    case "execution.completed":
      return { ...base, status: "completed", outputs: event.outputs ?? {}, endedAt: event.completed_at, nodes: settle(state.nodes) };
    case "execution.failed":
      return { ...base, status: "failed", error: event.error, failedNode: event.node_id, endedAt: event.failed_at, nodes: settle(state.nodes) };
    case "execution.cancelled":
      return { ...base, status: "cancelled", endedAt: event.cancelled_at, nodes: settle(state.nodes) };
    default: {
      const current = state.nodes[event.node_id];
      if (!current) return base;
      const updated = nodeStep(current, event);
      if (!updated) return base;
      const vars = event.type === "node.completed" && event.vars ? { ...state.vars, ...event.vars } : state.vars;
      return { ...base, vars, nodes: { ...state.nodes, [event.node_id]: updated } };
    }
  }
}

const SETTLED: NodeStatus[] = ["completed", "failed", "skipped", "cancelled"];

/**
 * The nodes once their execution has ended, as the server reports them: none is left
 * pending (it never started: `skipped`) or under way (`cancelled`), and a waiting node's
 * request is gone.
 */
export function settle(nodes: Record<string, NodeView>): Record<string, NodeView> {
  const settled: Record<string, NodeView> = {};
  for (const [id, node] of Object.entries(nodes)) {
    if (SETTLED.includes(node.status)) settled[id] = node;
    else if (node.status === "pending") settled[id] = { ...node, status: "skipped" };
    else {
      const attempts = node.attempts.map((a, i) => (i === node.attempts.length - 1 ? { ...a, status: "cancelled" as const } : a));
      settled[id] = { ...node, status: "cancelled", request: null, attempts };
    }
  }
  return settled;
}

function applyChunk(state: ExecutionView, chunk: StreamChunk): ExecutionView {
  const node = state.nodes[chunk.node_id];
  const text = chunk.text ?? chunk.token ?? chunk.delta ?? "";
  // Chunks travel apart from the log, so some may land just after `node.completed`.
  if (!node || !text || node.status === "skipped") return state;
  return { ...state, nodes: { ...state.nodes, [chunk.node_id]: { ...node, streamed: node.streamed + text } } };
}

/** One entry of a recorded or live log. */
export interface LogRecord {
  seq: number;
  event: ExecutionEvent;
}

/** Fold a log (optionally only its first `upTo` records) into a state. */
export function fold(records: LogRecord[], upTo = records.length): ExecutionView | null {
  let state: ExecutionView | null = null;
  for (const { seq, event } of records.slice(0, upTo)) state = evolve(state, event, seq);
  return state;
}

/** Parse an exported log (`{"seq": N, "type": ..., ...}` per line). */
export function parseLog(text: string): LogRecord[] {
  return text
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => {
      const { seq, ...event } = JSON.parse(line) as { seq: number } & ExecutionEvent;
      return { seq, event: event as ExecutionEvent };
    });
}

/** A short human description of one event, for the timeline. */
export function describeEvent(event: ExecutionEvent): string {
  switch (event.type) {
    case "execution.started":
      return "execution started";
    case "execution.cancel_requested":
      return "cancel requested";
    case "execution.pause_requested":
      return "execution paused";
    case "execution.resumed":
      return "execution resumed";
    case "execution.completed":
      return "execution completed";
    case "execution.failed":
      return `execution failed: ${event.error.message}`;
    case "execution.cancelled":
      return "execution cancelled";
    case "node.scheduled":
      return `${event.node_id} started (attempt ${event.attempt})`;
    case "node.completed":
      return `${event.node_id} completed${event.handles?.length ? ` → ${event.handles.join(", ")}` : ""}`;
    case "node.failed":
      return `${event.node_id} failed: ${event.error.message}`;
    case "node.waiting":
      return `${event.node_id} waiting`;
    case "node.retrying":
      return `${event.node_id} will retry (attempt ${event.attempt})`;
    case "node.retry_due":
      return `${event.node_id} retry due`;
    case "node.skipped":
      return `${event.node_id} skipped`;
    case "node.progress":
      return `${event.node_id} step ${event.key}`;
    case "child.started":
      return `${event.node_id} started child #${event.index}`;
    case "child.finished":
      return `${event.node_id} child #${event.index} ${event.status}`;
    default: {
      const other = event as { type: string; node_id?: string };
      return `${other.node_id ? `${other.node_id} ` : ""}${other.type}`;
    }
  }
}

/** Node id → output of every completed node, for resolving references. */
export function completedOutputs(state: ExecutionView): Record<string, unknown> {
  return Object.fromEntries(Object.entries(state.nodes).filter(([, n]) => n.status === "completed").map(([id, n]) => [id, n.output]));
}

/** True once the execution has ended. */
export const isTerminal = (status: ExecutionStatus | string | undefined) =>
  status === "completed" || status === "failed" || status === "cancelled";
