/**
 * The live tail of an execution over SSE (fetch-based, so it carries the bearer token),
 * resuming from the last stream sequence after a network drop.
 */
import type { ExecutionEvent } from "./types";
import { getToken } from "./client";
import { sseParser } from "../lib/sse";
import type { StreamChunk } from "../lib/executionState";

/** One item from the tail: a durable log event with its sequence, or a token chunk. */
export type TailItem = { seq: number; event: ExecutionEvent } | { seq: 0; event: StreamChunk };

interface ClientMessage {
  type: string;
  node_id?: string;
  data?: Record<string, unknown>;
}

/** The log event or chunk a server message carries, or null for anything else. */
export function fromMessage(message: ClientMessage, id?: string): TailItem | null {
  const data = message.data ?? {};
  if (message.type === "node:stream") {
    const text = String(data.chunk ?? data.text ?? data.token ?? data.delta ?? "");
    return { seq: 0, event: { type: "node:stream", node_id: message.node_id ?? String(data.node_id ?? ""), text } };
  }
  const { event: tag, seq, ...fields } = data as { event?: string; seq?: number };
  if (typeof tag !== "string") return null;
  return { seq: Number(seq ?? id ?? 0), event: { ...fields, type: tag } as ExecutionEvent };
}

export interface TailHandle {
  close(): void;
}

/**
 * Follow `/api/executions/:id/events`, calling `onItem` for every item, `onStatus` as the
 * connection changes. Reconnects with `Last-Event-ID` until the terminal event arrives.
 */
export function followExecution(
  executionId: string,
  onItem: (item: TailItem) => void,
  onStatus: (status: "connecting" | "live" | "reconnecting" | "ended") => void = () => {},
  fromSeq = 0,
): TailHandle {
  const stopped = new AbortController();
  let attempt: AbortController | null = null;
  let wake: (() => void) | null = null;
  let lastSeq = fromSeq;
  let ended = false;
  let delay = 500;

  // When the browser knows the network is gone, drop the stream at once; when it is
  // back, resume without waiting for the back-off.
  const onOffline = () => attempt?.abort();
  const onOnline = () => wake?.();
  window.addEventListener("offline", onOffline);
  window.addEventListener("online", onOnline);

  const readOnce = async (signal: AbortSignal) => {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (lastSeq) headers["Last-Event-ID"] = String(lastSeq);
    const response = await fetch(`/api/executions/${encodeURIComponent(executionId)}/events`, { headers, signal });
    if (!response.ok || !response.body) throw new Error(`tail answered ${response.status}`);
    onStatus("live");
    delay = 500;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const feed = sseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const message of feed(value)) {
        let parsed: ClientMessage;
        try {
          parsed = JSON.parse(message.data) as ClientMessage;
        } catch {
          continue;
        }
        if (!parsed.type && message.event) parsed.type = message.event;
        const item = fromMessage(parsed, message.id);
        if (!item) continue;
        if (item.seq) {
          if (item.seq <= lastSeq) continue; // already seen before a reconnect
          lastSeq = item.seq;
        }
        onItem(item);
        if (/^execution\.(completed|failed|cancelled)$/.test(item.event.type)) ended = true;
      }
    }
  };

  const run = async () => {
    while (!stopped.signal.aborted && !ended) {
      onStatus(lastSeq ? "reconnecting" : "connecting");
      attempt = new AbortController();
      const stop = () => attempt?.abort();
      stopped.signal.addEventListener("abort", stop);
      try {
        if (navigator.onLine !== false) await readOnce(attempt.signal);
      } catch (error) {
        if (stopped.signal.aborted) break;
        console.warn("live tail dropped; resuming", error);
      } finally {
        stopped.signal.removeEventListener("abort", stop);
      }
      if (ended || stopped.signal.aborted) break;
      onStatus("reconnecting");
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, navigator.onLine === false ? 60_000 : delay);
      });
      wake = null;
      delay = Math.min(delay * 2, 5000);
    }
    window.removeEventListener("offline", onOffline);
    window.removeEventListener("online", onOnline);
    onStatus("ended");
  };
  void run();
  return { close: () => stopped.abort() };
}
