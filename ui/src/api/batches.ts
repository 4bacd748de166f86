/** Batches over the API: start from a CSV, follow progress over SSE, cancel, download. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, getToken } from "./client";
import type { ApiErrorBody, Batch, BatchPage, BatchRowPage } from "./types";
import { sseParser } from "../lib/sse";
import { batchFromMessage, resultsPath } from "../lib/batches";

export const batchKeys = {
  list: (workflowId: string) => ["batches", workflowId] as const,
  one: (id: string) => ["batch", id] as const,
  rows: (id: string, page: number) => ["batch", id, "rows", page] as const,
};

function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export function useBatches(workflowId: string) {
  return useQuery({
    queryKey: batchKeys.list(workflowId),
    refetchInterval: 3000,
    queryFn: async () => (await api<BatchPage>(`/api/batches?limit=50&workflow_id=${encodeURIComponent(workflowId)}`)).batches,
  });
}

export function useBatch(id: string) {
  return useQuery({ queryKey: batchKeys.one(id), queryFn: () => api<Batch>(`/api/batches/${encodeURIComponent(id)}`) });
}

export function useBatchRows(id: string, page: number, refetch: boolean) {
  return useQuery({
    queryKey: batchKeys.rows(id, page),
    refetchInterval: refetch ? 2000 : false,
    queryFn: () => api<BatchRowPage>(`/api/batches/${encodeURIComponent(id)}/rows?page=${page}&limit=50`),
  });
}

/** Start a batch from a CSV file (multipart), or cancel one. */
export function useBatchMutations(workflowId: string) {
  const client = useQueryClient();
  return {
    start: useMutation({
      mutationFn: async ({ file, concurrency }: { file: File; concurrency?: number }) => {
        const form = new FormData();
        form.append("file", file);
        if (concurrency) form.append("concurrency", String(concurrency));
        return api<Batch>(`/api/workflows/${encodeURIComponent(workflowId)}/batch`, { method: "POST", body: form });
      },
      onSuccess: () => client.invalidateQueries({ queryKey: batchKeys.list(workflowId) }),
    }),
    cancel: useMutation({
      mutationFn: (id: string) => api(`/api/batches/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
      onSuccess: (_, id) => client.invalidateQueries({ queryKey: batchKeys.one(id) }),
    }),
  };
}

/** Follow `/api/batches/:id/events`, calling `onBatch` with every progress update. */
export function followBatch(id: string, onBatch: (batch: Batch, ended: boolean) => void): () => void {
  const stopped = new AbortController();
  const run = async () => {
    while (!stopped.signal.aborted) {
      try {
        const response = await fetch(`/api/batches/${encodeURIComponent(id)}/events`, {
          headers: { Accept: "text/event-stream", ...authHeaders() },
          signal: stopped.signal,
        });
        if (!response.ok || !response.body) throw new Error(String(response.status));
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const feed = sseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const message of feed(value)) {
            const got = batchFromMessage(message.event, message.data);
            if (!got) continue;
            onBatch(got.batch, got.ended);
            if (got.ended) return;
          }
        }
      } catch {
        if (stopped.signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void run();
  return () => stopped.abort();
}

/** Download a batch's results as a file (the request carries the bearer token). */
export async function downloadResults(id: string, format: "jsonl" | "csv"): Promise<void> {
  const response = await fetch(resultsPath(id, format), { headers: authHeaders() });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: ApiErrorBody };
    throw new ApiError(response.status, body.error ?? { message: `${response.status}` });
  }
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = `batch-${id}.${format}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
