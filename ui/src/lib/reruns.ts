/** Pure helpers for runs derived from an earlier one (re-run, retry, node tests). */

/** What the gateway answers when it starts a derived run. */
export interface DerivedStart {
  execution_id: string;
  workflow_id: string;
  workflow_version: number;
  status: string;
  started_at: string;
  test: boolean;
  origin_id: string | null;
  kind: "rerun" | "retry" | "replay" | "fork" | "test";
  reusable: string[];
  left_out: string[];
}

type NodeRows = Record<string, { status?: string; output?: unknown; error?: { message?: string } | null; reused_from?: unknown }>;

const nodesOf = (detail: Record<string, unknown> | undefined): NodeRows => (detail?.nodes as NodeRows | undefined) ?? {};

/** Whether "Retry from here" applies to `nodeId`: the run has ended and that node failed. */
export function canRetryFrom(detail: Record<string, unknown> | undefined, nodeId: string | undefined): boolean {
  if (!detail || !nodeId) return false;
  const status = detail.status as string | undefined;
  const ended = status === "completed" || status === "failed" || status === "cancelled";
  return ended && nodesOf(detail)[nodeId]?.status === "failed";
}

/** Whether a run can be run again (it has ended; a pending or running run is still going). */
export function canRerun(detail: Record<string, unknown> | undefined): boolean {
  const status = detail?.status as string | undefined;
  return status === "completed" || status === "failed" || status === "cancelled";
}

/**
 * The text typed into "edit inputs" as `{upstream node id: output}`, or an error message.
 * Empty text means no inputs (every upstream output is null).
 */
export function parseUpstream(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return { value: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON: ${(e as Error).message}` };
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return { error: "expected an object of node id → output" };
  return { value: parsed as Record<string, unknown> };
}

/** A starting text for "edit inputs": each node the tested one reads, with its output in
 * the chosen run (null when it has none). */
export function upstreamTemplate(upstream: string[], detail?: Record<string, unknown>): string {
  const nodes = nodesOf(detail);
  return JSON.stringify(Object.fromEntries(upstream.map((id) => [id, nodes[id]?.output ?? null])), null, 2);
}

/** Every node `nodeId` depends on (transitively), from the edges. */
export function ancestors(edges: { source: string; target: string }[], nodeId: string): string[] {
  const seen = new Set<string>();
  const stack = [nodeId];
  while (stack.length) {
    const current = stack.pop()!;
    for (const edge of edges) {
      if (edge.target === current && !seen.has(edge.source)) {
        seen.add(edge.source);
        stack.push(edge.source);
      }
    }
  }
  return [...seen].sort();
}

/** What a node test shows: running until the test run ended, then the node's outcome. */
export function testOutcome(
  detail: Record<string, unknown> | undefined,
  nodeId: string,
): { state: "running" | "completed" | "failed" | "skipped"; output?: unknown; error?: string } {
  if (!detail || !canRerun(detail)) return { state: "running" };
  const node = nodesOf(detail)[nodeId];
  if (node?.status === "completed") return { state: "completed", output: node.output };
  if (node?.status === "failed") return { state: "failed", error: node.error?.message ?? "failed" };
  const error = (detail.error as { message?: string } | null | undefined)?.message;
  return error ? { state: "failed", error } : { state: "skipped" };
}

/** "retry of", "replay of"…: how a derived run names its original (null for other runs,
 * and for a node test on inputs typed in). */
export function originOf(detail: Record<string, unknown> | undefined): { label: string; executionId: string } | null {
  const origin = detail?.origin as { execution_id?: string | null; kind?: string } | null | undefined;
  if (!origin?.execution_id || !origin.kind) return null;
  const label = origin.kind === "test" ? "node test on" : `${origin.kind === "rerun" ? "re-run" : origin.kind} of`;
  return { label, executionId: origin.execution_id };
}
