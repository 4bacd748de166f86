/** Pure helpers of the compare view: the shapes `GET /api/executions/:a/diff/:b` and
 * `/verify` answer, and how a pair of values and a change are shown. */

/** One difference between two outputs: at `path` (JSON Pointer), `a` became `b`. */
export interface ValueChange {
  path: string;
  op: "added" | "removed" | "changed";
  a?: unknown;
  b?: unknown;
}

/** One node in both runs (`only_in` names the run that has it, if only one). */
export interface NodeDiff {
  node_id: string;
  type: string;
  only_in: "a" | "b" | null;
  changed: boolean;
  status_a: string | null;
  status_b: string | null;
  attempts_a: number;
  attempts_b: number;
  duration_ms_a: number | null;
  duration_ms_b: number | null;
  tokens_a: number | null;
  tokens_b: number | null;
  cost_usd_a: number | null;
  cost_usd_b: number | null;
  output_changes: ValueChange[];
  output_truncated: boolean;
}

/** Two runs compared. */
export interface ExecutionDiff {
  a: string;
  b: string;
  workflow_a: string | null;
  workflow_b: string | null;
  same_definition: boolean;
  status_a: string;
  status_b: string;
  duration_ms_a: number | null;
  duration_ms_b: number | null;
  tokens_a: number | null;
  tokens_b: number | null;
  cost_usd_a: number | null;
  cost_usd_b: number | null;
  changed_nodes: number;
  nodes: NodeDiff[];
}

/** A run's hash chain checked. */
export interface ChainReport {
  execution_id: string;
  ok: boolean;
  messages: number;
  stamps: number;
  ended: boolean;
  verified_through: number;
  first_bad_seq: number | null;
  detected_at_seq: number | null;
  reason: string | null;
  uncovered: number[];
  head: string;
}

export type Unit = "ms" | "usd" | "count" | "text";

/** One value as shown: `—` for none, rounded milliseconds, dollars, counts with separators. */
export function formatValue(value: unknown, unit: Unit = "text"): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") {
    if (unit === "ms") return `${Math.round(value).toLocaleString("en-US")} ms`;
    if (unit === "usd") return `$${value.toFixed(value < 0.01 && value > 0 ? 6 : 4)}`;
    return value.toLocaleString("en-US");
  }
  return String(value);
}

/** A pair of values: one when equal (`same`), else both and the change between them. */
export function formatPair(a: unknown, b: unknown, unit: Unit = "text"): { text: string; same: boolean; delta: string | null } {
  // equal as shown (1.2 ms and 1.4 ms both read "1 ms") counts as the same
  const same = a === b || formatValue(a, unit) === formatValue(b, unit);
  if (same) return { text: formatValue(a, unit), same, delta: null };
  let delta: string | null = null;
  if (typeof a === "number" && typeof b === "number" && unit !== "text") {
    const diff = b - a;
    const sign = diff > 0 ? "+" : "−";
    delta = `${sign}${formatValue(Math.abs(diff), unit)}`;
  }
  return { text: `${formatValue(a, unit)} → ${formatValue(b, unit)}`, same, delta };
}

/** A JSON value shortened to `max` characters for a table cell. */
export function shortJson(value: unknown, max = 80): string {
  if (value === undefined) return "";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** One line for an output change: `+ /path: value`, `- /path: value`, `~ /path: a → b`. */
export function changeLine(change: ValueChange): string {
  const path = change.path || "/";
  if (change.op === "added") return `+ ${path}: ${shortJson(change.b)}`;
  if (change.op === "removed") return `- ${path}: ${shortJson(change.a)}`;
  return `~ ${path}: ${shortJson(change.a)} → ${shortJson(change.b)}`;
}

/** The summary rows above the node table: status, duration, tokens and cost of each run. */
export function summaryRows(diff: ExecutionDiff): { label: string; text: string; same: boolean; delta: string | null }[] {
  return [
    { label: "status", ...formatPair(diff.status_a, diff.status_b) },
    { label: "duration", ...formatPair(diff.duration_ms_a, diff.duration_ms_b, "ms") },
    { label: "tokens", ...formatPair(diff.tokens_a, diff.tokens_b, "count") },
    { label: "cost", ...formatPair(diff.cost_usd_a, diff.cost_usd_b, "usd") },
  ];
}

/** The nodes to list: every one, or only those that differ; changed ones keep graph order. */
export function visibleNodes(diff: ExecutionDiff, onlyChanged: boolean): NodeDiff[] {
  return onlyChanged ? diff.nodes.filter((n) => n.changed) : diff.nodes;
}

/** A one-line verdict on a chain report, for the badge beside each run. */
export function chainVerdict(report: ChainReport | undefined): { text: string; ok: boolean | null } {
  if (!report) return { text: "checking log…", ok: null };
  if (report.ok) return { text: `log intact (${report.messages} messages)`, ok: true };
  return { text: `log tampered at seq ${report.first_bad_seq ?? "?"}: ${report.reason ?? ""}`.trim(), ok: false };
}
