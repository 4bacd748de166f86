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

/** `GET /api/executions/:id/effects`: the nodes with external effects a run from one node
 * would run again, with the idempotency key each would carry. */
export interface EffectNode {
  node_id: string;
  type: string;
  idempotency_key: string;
  attempt: number;
  status?: string | null;
  via?: string[];
}

export interface EffectsPreview {
  execution_id: string;
  from_node: string;
  into: string;
  rerun: string[];
  effects: EffectNode[];
  unknown?: string[];
}

/** The `into` of a preview for a run that does not exist yet: a re-run, retry, replay or
 * fork is a new execution whose id the server gives when it starts, so its keys are shown
 * with this in place of that id (each node at its first attempt). */
export const NEW_RUN = "new-run";

/** The effects preview's address for a run of `executionId` from `from` as a new run. */
export function effectsPath(executionId: string, from: string): string {
  const query = new URLSearchParams({ from, into: NEW_RUN });
  return `/api/executions/${encodeURIComponent(executionId)}/effects?${query}`;
}

/** The nodes a re-run starts from: those no edge leads into (every node runs from them).
 * A graph without one (a cycle throughout) gives every node, which covers it too. */
export function entryNodes(definition: unknown): string[] {
  const graph = definition as { nodes?: Record<string, unknown>; edges?: { target: string }[] } | null | undefined;
  const ids = Object.keys(graph?.nodes ?? {});
  const targets = new Set((graph?.edges ?? []).map((e) => e.target));
  const entries = ids.filter((id) => !targets.has(id));
  return entries.length ? entries : ids;
}

/** One list out of the previews from several nodes: each effect node once, in the order
 * first seen; composites whose body is unknown once. */
export function mergeEffects(previews: EffectsPreview[]): { effects: EffectNode[]; unknown: string[] } {
  const effects = new Map<string, EffectNode>();
  const unknown = new Set<string>();
  for (const preview of previews) {
    for (const effect of preview.effects) {
      const key = [...(effect.via ?? []), effect.node_id].join("/");
      if (!effects.has(key)) effects.set(key, effect);
    }
    for (const id of preview.unknown ?? []) unknown.add(id);
  }
  return { effects: [...effects.values()], unknown: [...unknown] };
}

/** The line shown for one effect node: where it runs and its key. */
export function effectLabel(effect: EffectNode): string {
  const inside = effect.via?.length ? ` inside ${effect.via.join("/")}` : "";
  return `${effect.node_id} (${effect.type})${inside}`;
}

/** The nodes whose previews together cover what "Retry from here" on `nodeId` runs again:
 * the node (with everything downstream) and every other node that failed, since only
 * completed results are reused. */
export function retryFrom(detail: Record<string, unknown> | undefined, nodeId: string): string[] {
  const failed = Object.entries(nodesOf(detail))
    .filter(([id, node]) => id !== nodeId && node.status === "failed")
    .map(([id]) => id);
  return [nodeId, ...failed.sort()];
}
