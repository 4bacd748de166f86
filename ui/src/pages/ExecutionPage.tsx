import { useQuery } from "@tanstack/react-query";
import { ReactFlowProvider } from "@xyflow/react";
import { useEffect } from "react";
import { Link, useParams } from "react-router";
import { api, ApiError } from "../api/client";
import { useCancelExecution, useExecution } from "../api/hooks";
import type { WorkflowDefinition, WorkflowVersion } from "../api/types";
import { TopBar } from "../App";
import { FlowCanvas } from "../components/FlowCanvas";
import { HumanInputForm } from "../components/HumanInputForm";
import { Inspector } from "../components/Inspector";
import { ReplayDialog } from "../components/ReplayDialog";
import { ReplayReport } from "../components/ReplayReport";
import { RunActions } from "../components/RunActions";
import { StatusBadge } from "../components/StatusBadge";
import { Timeline } from "../components/Timeline";
import { cancellable } from "../lib/executionFilters";
import { isTerminal } from "../lib/executionState";
import { useExecutionStore } from "../stores/executionStore";
import { useGraphStore } from "../stores/graphStore";
import { NotFound } from "./NotFoundPage";

/**
 * The definition the execution ran: recorded with the run when the server returns it,
 * else the workflow version it started from (which is what the log recorded).
 */
function useRecordedDefinition(detail: Record<string, unknown> | undefined) {
  return useQuery({
    queryKey: ["execution-definition", detail?.id],
    enabled: !!detail,
    staleTime: Infinity,
    queryFn: async (): Promise<WorkflowDefinition> => {
      if (detail!.definition) return detail!.definition as WorkflowDefinition;
      const version = await api<WorkflowVersion>(`/api/workflows/${detail!.workflow_id}/versions/${detail!.workflow_version}`);
      return version.definition ?? { nodes: {}, edges: [] };
    },
  });
}

function ExecutionView({ id }: { id: string }) {
  const detail = useExecution(id);
  const definition = useRecordedDefinition(detail.data);
  const follow = useExecutionStore((s) => s.follow);
  const live = useExecutionStore((s) => s.live);
  const shown = useExecutionStore((s) => s.shown);
  const records = useExecutionStore((s) => s.records);
  const scrub = useExecutionStore((s) => s.scrub);
  const setScrub = useExecutionStore((s) => s.setScrub);
  const nodes = useGraphStore((s) => s.nodes);
  const selected = nodes.filter((n) => n.selected);

  useEffect(() => {
    if (!definition.data) return;
    useGraphStore.getState().load({ id: null, name: "", definition: definition.data }, true);
    follow(id, definition.data);
    return () => useExecutionStore.getState().clear();
  }, [definition.data, follow, id]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement)?.closest?.("input, textarea")) return;
      const position = scrub ?? records.length;
      if (e.key === "[") setScrub(Math.max(1, position - 1));
      if (e.key === "]") setScrub(position + 1);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [records.length, scrub, setScrub]);

  const cancel = useCancelExecution();
  const waiting = live && !isTerminal(live.status) ? Object.entries(live.nodes).filter(([, n]) => n.status === "waiting" && n.request) : [];
  const status = live?.status ?? detail.data?.status;

  if (detail.error instanceof ApiError && detail.error.status === 404) return <NotFound what="This execution" />;

  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <span className="font-mono text-xs">{id}</span>
        {shown && <StatusBadge status={shown.status} />}
        {detail.data?.workflow_id && (
          <Link className="btn" to={`/workflows/${detail.data.workflow_id}`} data-testid="execution-workflow">
            {detail.data.workflow_name ?? "Open workflow"}
            {detail.data.workflow_version != null && ` · v${detail.data.workflow_version}`}
          </Link>
        )}
        {/* The run's actions */}
        <div className="flex items-center gap-2" data-testid="execution-actions">
          {status && cancellable(status) && (
            <button className="btn btn-danger" disabled={cancel.isPending || live?.cancelRequested} onClick={() => cancel.mutate(id)}>
              {live?.cancelRequested ? "Cancelling…" : "Cancel"}
            </button>
          )}
          {cancel.error && <span className="field-error">{cancel.error.message}</span>}
          <RunActions executionId={id} detail={detail.data} nodeId={selected.length === 1 ? selected[0].id : undefined} />
          <ReplayDialog executionId={id} detail={detail.data} />
          <Link className="btn" to={`/executions/${id}/compare`} title="Compare with another run, node by node">
            Compare
          </Link>
        </div>
        {scrub !== null && <span className="text-xs text-amber-600">viewing an earlier point</span>}
      </TopBar>
      <div className="flex min-h-0 flex-1">
        <main className="relative min-w-0 flex-1">{definition.data ? <FlowCanvas /> : <p className="muted p-6">Loading…</p>}</main>
        <aside className="panel w-80 shrink-0 overflow-y-auto border-l">
          <div className="flex flex-col gap-2 p-3 text-xs">
            <div>
              Started {detail.data?.started_at ? new Date(detail.data.started_at).toLocaleString() : "—"}
              {detail.data?.duration_ms != null && <> · {Math.round(detail.data.duration_ms)} ms</>}
              {detail.data?.source && <> · started by {detail.data.source}</>}
            </div>
            {detail.data && (
              <details open data-testid="execution-inputs">
                <summary className="cursor-pointer font-semibold">Inputs</summary>
                <pre className="rounded bg-slate-100 p-2 dark:bg-slate-800">{JSON.stringify(detail.data.inputs ?? {}, null, 2)}</pre>
              </details>
            )}
            {waiting.map(([nodeId, node]) => (
              <HumanInputForm key={nodeId} executionId={id} nodeId={nodeId} request={node.request!} />
            ))}
            {shown?.error && <p className="field-error">{shown.error.message}</p>}
            {shown && Object.keys(shown.outputs).length > 0 && (
              <pre className="rounded bg-slate-100 p-2 dark:bg-slate-800">{JSON.stringify(shown.outputs, null, 2)}</pre>
            )}
          </div>
          <ReplayReport executionId={id} detail={detail.data} nodeId={selected.length === 1 ? selected[0].id : undefined} />
          {selected.length === 1 ? <Inspector nodeId={selected[0].id} detail={detail.data} /> : <p className="muted p-3">Select a node to inspect it.</p>}
        </aside>
      </div>
      <Timeline />
    </div>
  );
}

/** One past (or running) execution on the canvas as it ran, with the timeline scrubber. */
export function ExecutionPage() {
  const { id = "" } = useParams();
  return (
    <ReactFlowProvider>
      <ExecutionView key={id} id={id} />
    </ReactFlowProvider>
  );
}
