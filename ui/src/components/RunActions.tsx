/** "Re-run" and "Retry from here" for a run on the execution page: each first shows the
 * side effects the new run would repeat (`EffectsConfirm`), then starts a new run linked
 * to this one (the server reuses what it may) and opens it. */
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { api } from "../api/client";
import { canRerun, canRetryFrom, entryNodes, originOf, retryFrom, type DerivedStart } from "../lib/reruns";
import { useExecutionStore } from "../stores/executionStore";
import { EffectsConfirm, type PendingRun } from "./EffectsConfirm";

export function RunActions({ executionId, detail, nodeId }: { executionId: string; detail?: Record<string, unknown>; nodeId?: string }) {
  const navigate = useNavigate();
  // the live tail knows when the run ends; the detail was read once, maybe mid-run
  const live = useExecutionStore((s) => s.live);
  const state = live ? ({ status: live.status, nodes: live.nodes } as Record<string, unknown>) : detail;
  const [pending, setPending] = useState<PendingRun | null>(null);

  const confirm = (title: string, from: string[], path: string, body?: unknown) =>
    setPending({
      title,
      executionId,
      from,
      start: async () => {
        const started = await api<DerivedStart>(`/api/executions/${executionId}/${path}`, { method: "POST", json: body });
        navigate(`/executions/${started.execution_id}`);
      },
    });

  const origin = originOf(detail);
  return (
    <span className="flex items-center gap-2" data-testid="run-actions">
      {origin && (
        <span className="muted text-xs" data-testid="run-origin">
          {origin.label}{" "}
          <Link className="font-mono underline" to={`/executions/${origin.executionId}`}>
            {origin.executionId.slice(-8)}
          </Link>
        </span>
      )}
      {canRerun(state) && (
        <button className="btn" onClick={() => confirm("Re-run", entryNodes(detail?.definition), "rerun")}>
          Re-run
        </button>
      )}
      {canRetryFrom(state, nodeId) && (
        <button className="btn btn-primary" onClick={() => confirm(`Retry from ${nodeId}`, retryFrom(state, nodeId!), "retry", { node_id: nodeId })}>
          Retry from here
        </button>
      )}
      <EffectsConfirm pending={pending} onClose={() => setPending(null)} />
    </span>
  );
}
