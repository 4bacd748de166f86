/** "Replay…" on the execution page: the run again on another definition of its workflow (a
 * published version or the current draft). A dry replay shows the plan (reused, run,
 * changed, added, removed) and the side effects of what would run again; "Replay" starts it
 * and opens the new run. */
import * as Dialog from "@radix-ui/react-dialog";
import { useState } from "react";
import { useNavigate } from "react-router";
import { api, ApiError } from "../api/client";
import { useVersions } from "../api/hooks";
import type { WorkflowDefinition } from "../api/types";
import { canRerun } from "../lib/reruns";
import { NEW_RUN, nextEffectRoot, replayEffects, type EffectsPreview, type ReplayOutcome, type ReplayPlan } from "../lib/replay";
import { useExecutionStore } from "../stores/executionStore";

/** At most this many effects previews per plan (each covers a node and what is below it). */
const MAX_PREVIEWS = 20;

type Target = { version: number } | { definition: WorkflowDefinition };

function PlanRow({ label, nodes, testId }: { label: string; nodes: string[]; testId: string }) {
  return (
    <div data-testid={testId}>
      <span className="font-semibold">{label}</span>{" "}
      {nodes.length ? <span className="font-mono">{nodes.join(", ")}</span> : <span className="muted">none</span>}
    </div>
  );
}

export function ReplayDialog({ executionId, detail }: { executionId: string; detail?: Record<string, unknown> }) {
  const navigate = useNavigate();
  const workflowId = detail?.workflow_id as string | undefined;
  const liveStatus = useExecutionStore((s) => s.live?.status);
  const [open, setOpen] = useState(false);
  const versions = useVersions(workflowId ?? "", open && !!workflowId);
  const [choice, setChoice] = useState("");
  const [plan, setPlan] = useState<ReplayPlan | null>(null);
  const [effects, setEffects] = useState<ReturnType<typeof replayEffects> | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!workflowId || !canRerun(liveStatus ? { status: liveStatus } : detail)) return null;

  const target = async (): Promise<Target> => {
    if (choice === "draft") {
      const draft = await api<{ definition: WorkflowDefinition }>(`/api/workflows/${workflowId}/draft`);
      return { definition: draft.definition };
    }
    return { version: Number(choice) };
  };

  const preview = async () => {
    setBusy(true);
    setError(null);
    setPlan(null);
    setEffects(null);
    try {
      const outcome = await api<ReplayOutcome>(`/api/executions/${executionId}/replay`, { method: "POST", json: { ...(await target()), dry: true } });
      setPlan(outcome.plan);
      const previews: EffectsPreview[] = [];
      for (let root = nextEffectRoot(outcome.plan, previews); root && previews.length < MAX_PREVIEWS; root = nextEffectRoot(outcome.plan, previews)) {
        const query = new URLSearchParams({ from: root, into: NEW_RUN });
        previews.push(await api<EffectsPreview>(`/api/executions/${executionId}/effects?${query}`));
      }
      setEffects(replayEffects(outcome.plan, previews));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const replay = async () => {
    setBusy(true);
    setError(null);
    try {
      const outcome = await api<ReplayOutcome>(`/api/executions/${executionId}/replay`, { method: "POST", json: { ...(await target()), dry: false } });
      setOpen(false);
      if (outcome.execution) navigate(`/executions/${outcome.execution.execution_id}`);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const reset = (next: boolean) => {
    setOpen(next);
    setPlan(null);
    setEffects(null);
    setError(null);
  };

  return (
    <Dialog.Root open={open} onOpenChange={reset}>
      <Dialog.Trigger asChild>
        <button className="btn" title="Run this again on another definition, reusing what did not change">
          Replay…
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className="panel fixed left-1/2 top-1/2 z-50 max-h-[85vh] w-[32rem] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg border p-4 shadow-xl" data-testid="replay-dialog">
          <Dialog.Title className="mb-2 font-semibold">Replay this run</Dialog.Title>
          <Dialog.Description className="muted mb-3 text-xs">
            Runs it again on another definition with the same inputs: unchanged nodes reuse their recorded results; changed and added nodes and everything below them run.
          </Dialog.Description>
          <label className="flex items-center gap-2 text-sm">
            Against
            <select
              className="input flex-1"
              value={choice}
              onChange={(e) => {
                setChoice(e.target.value);
                setPlan(null);
                setEffects(null);
              }}
            >
              <option value="">choose a definition…</option>
              {[...(versions.data ?? [])]
                .sort((a, b) => b.version - a.version)
                .map((v) => (
                  <option key={v.version} value={String(v.version)}>
                    v{v.version}
                    {v.version === detail?.workflow_version ? " (this run's)" : ""}
                  </option>
                ))}
              <option value="draft">the current draft</option>
            </select>
            <button className="btn" disabled={!choice || busy} onClick={() => void preview()}>
              Show plan
            </button>
          </label>
          {error && (
            <p className="field-error mt-2" role="alert">
              {error}
            </p>
          )}
          {plan && (
            <div className="mt-3 flex flex-col gap-1 text-xs" data-testid="replay-plan">
              <PlanRow label="Reused:" nodes={plan.reuse} testId="plan-reuse" />
              <PlanRow label="Run:" nodes={plan.run} testId="plan-run" />
              <PlanRow label="Changed:" nodes={plan.changed} testId="plan-changed" />
              <PlanRow label="Added:" nodes={plan.added} testId="plan-added" />
              <PlanRow label="Removed:" nodes={plan.removed} testId="plan-removed" />
              <div className="mt-2" data-testid="replay-effects">
                <span className="font-semibold">Side effects:</span>{" "}
                {effects === null ? (
                  <span className="muted">checking…</span>
                ) : effects.length === 0 ? (
                  <span className="muted">no node that runs again reaches outside the platform</span>
                ) : (
                  <ul className="mt-1 list-disc pl-4">
                    {effects.map((e) => (
                      <li key={`${e.via.join("/")}/${e.node_id}`}>
                        <span className="font-mono">{[...e.via, e.node_id].join(" › ")}</span> ({e.type}) runs again with key{" "}
                        <span className="font-mono">{e.idempotency_key}</span>
                      </li>
                    ))}
                  </ul>
                )}
                {plan.added.length > 0 && <p className="muted">Added nodes run for the first time; look at their settings for what they reach.</p>}
              </div>
              <button className="btn btn-primary mt-2 self-start" disabled={busy} onClick={() => void replay()}>
                Replay
              </button>
            </div>
          )}
          <Dialog.Close asChild>
            <button className="btn mt-3">Close</button>
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
