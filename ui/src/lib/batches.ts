/** Pure helpers of the batch view: the progress bar's segments, the end, live messages. */
import type { Batch, BatchCounts } from "../api/types";

/** Row statuses in the order the progress bar draws them (ended first). */
export const ROW_STATUSES = ["completed", "failed", "cancelled", "running", "paused", "pending", "queued"] as const;

export type RowStatus = (typeof ROW_STATUSES)[number];

/** One coloured stretch of the progress bar. */
export interface Segment {
  status: RowStatus;
  count: number;
  /** Share of all rows, 0–100. */
  percent: number;
}

/** The bar's segments: each non-empty status with its share of `total` rows. */
export function progressSegments(counts: BatchCounts, total: number): Segment[] {
  if (total <= 0) return [];
  return ROW_STATUSES.filter((s) => (counts[s] ?? 0) > 0).map((status) => ({
    status,
    count: counts[status],
    percent: (counts[status] * 100) / total,
  }));
}

/** Rows that have ended (completed, failed or cancelled). */
export function endedRows(counts: BatchCounts): number {
  return counts.completed + counts.failed + counts.cancelled;
}

/** True once the batch will change no more. */
export function isBatchOver(status: Batch["status"]): boolean {
  return status === "completed" || status === "cancelled";
}

/** A one-line summary: `12/20 ended · 10 completed · 2 failed`. */
export function batchSummary(batch: Pick<Batch, "counts" | "total">): string {
  const parts = [`${endedRows(batch.counts)}/${batch.total} ended`];
  for (const status of ROW_STATUSES) {
    const count = batch.counts[status];
    if (count) parts.push(`${count} ${status}`);
  }
  return parts.join(" · ");
}

/** The batch a live message (`batch:progress` / `batch:ended`) carries, or null. */
export function batchFromMessage(event: string, data: string): { batch: Batch; ended: boolean } | null {
  if (event !== "batch:progress" && event !== "batch:ended") return null;
  try {
    const batch = JSON.parse(data) as Batch;
    if (!batch || typeof batch.id !== "string" || !batch.counts) return null;
    return { batch, ended: event === "batch:ended" };
  } catch {
    return null;
  }
}

/** The columns of a CSV's header row (for a preview before upload); quotes respected. */
export function csvHeader(text: string): string[] {
  const line: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      line.push(cell.trim());
      cell = "";
    } else if (c === "\n" || c === "\r") break;
    else cell += c;
  }
  line.push(cell.trim());
  return line.length === 1 && line[0] === "" ? [] : line;
}

/** The download URL of a batch's results. */
export function resultsPath(batchId: string, format: "jsonl" | "csv"): string {
  return `/api/batches/${encodeURIComponent(batchId)}/results?format=${format}`;
}
