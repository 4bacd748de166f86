/** The executions list's filters: read from and written to the page's URL query, and
 * turned into the API's query (`/api/executions?...`). Pure. */

export const SOURCES = ["manual", "schedule", "webhook", "event", "batch"] as const;
export type ExecutionSource = (typeof SOURCES)[number];
export const STATUSES = ["pending", "running", "paused", "completed", "failed", "cancelled"] as const;
export const PAGE_SIZE = 20;

export interface ExecutionFilters {
  workflowId?: string;
  status?: (typeof STATUSES)[number];
  source?: ExecutionSource;
  /** Test runs (started from the builder's Run tab) instead of real ones. */
  test?: boolean;
  page: number;
}

const oneOf = <T extends string>(allowed: readonly T[], value: string | null): T | undefined =>
  value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;

/** Filters from the page's URL query; unknown values are ignored, the page is at least 1. */
export function readFilters(query: URLSearchParams): ExecutionFilters {
  const page = Math.floor(Number(query.get("page") ?? "1"));
  return {
    workflowId: query.get("workflow") || undefined,
    status: oneOf(STATUSES, query.get("status")),
    source: oneOf(SOURCES, query.get("source")),
    test: query.get("test") === "1" || undefined,
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  };
}

/** The page's URL query for `filters` (defaults left out). */
export function writeFilters(filters: ExecutionFilters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.workflowId) query.set("workflow", filters.workflowId);
  if (filters.status) query.set("status", filters.status);
  if (filters.source) query.set("source", filters.source);
  if (filters.test) query.set("test", "1");
  if (filters.page > 1) query.set("page", String(filters.page));
  return query;
}

/** The API query for one page of runs matching `filters`. */
export function apiQuery(filters: ExecutionFilters, limit = PAGE_SIZE): string {
  const query = new URLSearchParams({ page: String(filters.page), limit: String(limit) });
  if (filters.workflowId) query.set("workflow_id", filters.workflowId);
  if (filters.status) query.set("status", filters.status);
  if (filters.source) query.set("source", filters.source);
  if (filters.test) query.set("test", "true");
  return query.toString();
}

/** Changing a filter starts again from the first page. */
export function withFilter(filters: ExecutionFilters, change: Partial<Omit<ExecutionFilters, "page">>): ExecutionFilters {
  return { ...filters, ...change, page: 1 };
}

/** Whether a run can still be cancelled. */
export const cancellable = (status: string) => status === "pending" || status === "running" || status === "paused";
