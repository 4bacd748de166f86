/** "Re-run" and "Retry from here" for a run on the execution page: each starts a new run
 * linked to this one (the server reuses what it may) and opens it. */
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { api, ApiError } from "../api/client";
import { canRerun, canRetryFrom, originOf, type DerivedStart } from "../lib/reruns";
import { useExecutionStore } from "../stores/executionStore";

export function RunActions({ executionId, detail, nodeId }: { executionId: string; detail?: Record<string, unknown>; nodeId?: string }) {
  const navigate = useNavigate();
  // the live tail knows when the run ends; the detail was read once, maybe mid-run
  const live = useExecutionStore((s) => s.live);
  const state = live ? ({ status: live.status, nodes: live.nodes } as Record<string, unknown>) : detail;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const start = async (path: string, body?: unknown) => {
    setBusy(true);
    setError(null);
    try {
      const started = await api<DerivedStart>(`/api/executions/${executionId}/${path}`, { method: "POST", json: body });
      navigate(`/executions/${started.execution_id}`);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

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
        <button className="btn" disabled={busy} onClick={() => void start("rerun")}>
          Re-run
        </button>
      )}
      {canRetryFrom(state, nodeId) && (
        <button className="btn btn-primary" disabled={busy} onClick={() => void start("retry", { node_id: nodeId })}>
          Retry from here
        </button>
      )}
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
