/** Pure helpers for a replay (a run again on another definition) and for the report of a
 * derived run compared with its original, node by node. */

/** `POST /api/executions/:id/replay`'s plan: node ids in graph order. */
export interface ReplayPlan {
  reuse: string[];
  run: string[];
  changed: string[];
  added: string[];
  removed: string[];
}

export interface ReplayOutcome {
  dry: boolean;
  plan: ReplayPlan;
  execution?: { execution_id: string } | null;
}

/** One change of a changed output: JSON-Patch-like, with the old value. */
export interface PatchOp {
  op: "add" | "remove" | "replace" | "truncated";
  path: string;
  value?: unknown;
  old?: unknown;
}

export type Verdict = "same" | "changed" | "newly_run" | "removed" | "added";

export interface NodeReport {
  node_id: string;
  verdict: Verdict;
  status?: string | null;
  original_status?: string | null;
  reused?: boolean;
  diff?: PatchOp[] | null;
}

/** `GET /api/executions/:id/report`. */
export interface ExecutionReport {
  execution_id: string;
  origin_id: string;
  kind: string;
  status: string;
  original_status: string;
  nodes: NodeReport[];
  counts: Record<string, number>;
}

/** `GET /api/executions/:id/effects`. */
export interface EffectsPreview {
  execution_id: string;
  from_node: string;
  into: string;
  rerun: string[];
  effects: { node_id: string; type: string; idempotency_key: string; attempt: number; status?: string | null; via?: string[] }[];
  unknown?: string[];
}

/** The execution id given as `into` when previewing a replay's effects: the replay is a new
 * run whose id is not known yet; shown as {@link NEW_RUN_LABEL}. */
export const NEW_RUN = "new-run";
export const NEW_RUN_LABEL = "<new run>";

/** The short name of a verdict on a node card. */
export const VERDICT_LABEL: Record<Verdict, string> = {
  same: "same",
  changed: "changed",
  newly_run: "newly run",
  added: "added",
  removed: "removed",
};

/** What the report shows on the graph: a verdict per node still in the definition, the
 * removed nodes apart (they have no card), and the output changes of the changed ones. */
export interface ReportView {
  verdicts: Record<string, { verdict: Verdict; label: string; reused: boolean; diff: PatchOp[] }>;
  removed: string[];
  counts: Record<string, number>;
}

export function reportView(report: ExecutionReport): ReportView {
  const verdicts: ReportView["verdicts"] = {};
  const removed: string[] = [];
  for (const node of report.nodes) {
    if (node.verdict === "removed") removed.push(node.node_id);
    else verdicts[node.node_id] = { verdict: node.verdict, label: VERDICT_LABEL[node.verdict] ?? node.verdict, reused: !!node.reused, diff: node.diff ?? [] };
  }
  return { verdicts, removed, counts: report.counts };
}

/** Whether a run's report can be asked for: it is derived (has an origin) and has ended. */
export function reportReady(detail: Record<string, unknown> | undefined, liveStatus?: string): boolean {
  const origin = detail?.origin as { execution_id?: string | null } | null | undefined;
  const status = liveStatus ?? (detail?.status as string | undefined);
  return !!origin?.execution_id && (status === "completed" || status === "failed" || status === "cancelled");
}

/** Reads a derived run's report through `get` (the API client) and maps it for the graph;
 * null while the server says the run has not ended yet (409). */
export async function loadReport(
  get: (path: string) => Promise<unknown>,
  executionId: string,
): Promise<ReportView | null> {
  try {
    return reportView((await get(`/api/executions/${encodeURIComponent(executionId)}/report`)) as ExecutionReport);
  } catch (e) {
    if ((e as { status?: number }).status === 409) return null;
    throw e;
  }
}

/** One change as a line: `replace /text "a" → "b"`. */
export function describeOp(op: PatchOp): string {
  const show = (v: unknown) => JSON.stringify(v) ?? "undefined";
  if (op.op === "truncated") return `… more changes under ${op.path || "/"}`;
  if (op.op === "add") return `add ${op.path || "/"} ${show(op.value)}`;
  if (op.op === "remove") return `remove ${op.path || "/"} (was ${show(op.old)})`;
  return `replace ${op.path || "/"} ${show(op.old)} → ${show(op.value)}`;
}

/** The next node a replay's effects are previewed from: the first node the plan runs that
 * the original run has (added nodes are not in it) and no earlier preview covered (a preview
 * from a node covers it and everything downstream); null when every one is covered. */
export function nextEffectRoot(plan: ReplayPlan, previews: EffectsPreview[]): string | null {
  const covered = new Set(previews.flatMap((p) => p.rerun));
  return plan.run.find((n) => !plan.added.includes(n) && !covered.has(n)) ?? null;
}

/** The side effects of a replay: the effect nodes of the previews that the plan runs,
 * once each, in plan order, with the key shown against the new run. */
export function replayEffects(
  plan: ReplayPlan,
  previews: EffectsPreview[],
): { node_id: string; type: string; idempotency_key: string; via: string[] }[] {
  const runs = new Set(plan.run);
  const seen = new Map<string, { node_id: string; type: string; idempotency_key: string; via: string[] }>();
  for (const preview of previews) {
    for (const effect of preview.effects) {
      const top = effect.via?.[0] ?? effect.node_id;
      if (!runs.has(top)) continue;
      const key = `${(effect.via ?? []).join("/")}/${effect.node_id}`;
      if (seen.has(key)) continue;
      const shown = effect.idempotency_key.split(NEW_RUN).join(NEW_RUN_LABEL);
      seen.set(key, { node_id: effect.node_id, type: effect.type, idempotency_key: shown, via: effect.via ?? [] });
    }
  }
  const order = (id: string) => plan.run.indexOf(id);
  return [...seen.values()].sort((a, b) => order(a.via[0] ?? a.node_id) - order(b.via[0] ?? b.node_id));
}
