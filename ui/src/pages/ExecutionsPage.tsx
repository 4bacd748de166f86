/** Every execution of the user's workflows: filter by workflow, status and how it started;
 * open, re-run or cancel one. */
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api } from "../api/client";
import { useCancelExecution, useExecutionPage, useWorkflows } from "../api/hooks";
import type { ExecutionDetail, ExecutionSummary } from "../api/types";
import { TopBar } from "../App";
import { EffectsConfirm, type PendingRun } from "../components/EffectsConfirm";
import { StatusBadge } from "../components/StatusBadge";
import { canRerun, entryNodes, type DerivedStart } from "../lib/reruns";
import { apiQuery, cancellable, readFilters, SOURCES, STATUSES, withFilter, writeFilters, type ExecutionFilters } from "../lib/executionFilters";

/** A row's actions: open, re-run (after the side-effect preview; opens the new run),
 * cancel. */
function RowActions({ execution }: { execution: ExecutionSummary }) {
  const cancel = useCancelExecution();
  const navigate = useNavigate();
  const [pending, setPending] = useState<PendingRun | null>(null);
  const id = encodeURIComponent(execution.id);
  const rerun = () =>
    setPending({
      title: "Re-run",
      executionId: execution.id,
      // the list has no definitions: the run's own says where a re-run starts
      from: async () => entryNodes((await api<ExecutionDetail>(`/api/executions/${id}`)).definition),
      start: async () => {
        const started = await api<DerivedStart>(`/api/executions/${id}/rerun`, { method: "POST" });
        navigate(`/executions/${started.execution_id}`);
      },
    });
  return (
    <div className="flex gap-1" data-testid={`actions-${execution.id}`}>
      <Link className="btn" to={`/executions/${execution.id}`}>
        Open
      </Link>
      {canRerun({ status: execution.status }) && (
        <button className="btn" onClick={rerun}>
          Re-run
        </button>
      )}
      {cancellable(execution.status) && (
        <button className="btn btn-danger" disabled={cancel.isPending} onClick={() => cancel.mutate(execution.id)}>
          Cancel
        </button>
      )}
      <EffectsConfirm pending={pending} onClose={() => setPending(null)} />
    </div>
  );
}

export function ExecutionsPage() {
  const [query, setQuery] = useSearchParams();
  const filters = readFilters(query);
  const page = useExecutionPage(apiQuery(filters));
  const workflows = useWorkflows();
  const set = (next: ExecutionFilters) => setQuery(writeFilters(next));
  const pagination = page.data?.pagination;
  const rows = page.data?.executions ?? [];

  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <span className="font-medium">Executions</span>
      </TopBar>
      <main className="flex flex-col gap-3 overflow-auto p-4 text-sm">
        <div className="panel flex flex-wrap items-end gap-3 rounded border p-3" data-testid="execution-filters">
          <label className="flex flex-col gap-1">
            Workflow
            <select aria-label="Workflow" value={filters.workflowId ?? ""} onChange={(e) => set(withFilter(filters, { workflowId: e.target.value || undefined }))}>
              <option value="">all</option>
              {(workflows.data ?? []).map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1">
            Status
            <select aria-label="Status" value={filters.status ?? ""} onChange={(e) => set(withFilter(filters, { status: (e.target.value || undefined) as ExecutionFilters["status"] }))}>
              <option value="">all</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1">
            Started by
            <select aria-label="Started by" value={filters.source ?? ""} onChange={(e) => set(withFilter(filters, { source: (e.target.value || undefined) as ExecutionFilters["source"] }))}>
              <option value="">any</option>
              {SOURCES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label className="flex items-center gap-2">
            <input type="checkbox" checked={!!filters.test} onChange={(e) => set(withFilter(filters, { test: e.target.checked || undefined }))} />
            Test runs
          </label>
        </div>
        {page.error && <p className="field-error">{String(page.error)}</p>}
        <table className="text-left text-xs" data-testid="executions">
          <thead>
            <tr>
              <th className="p-1">started</th>
              <th className="p-1">workflow</th>
              <th className="p-1">status</th>
              <th className="p-1">started by</th>
              <th className="p-1">duration</th>
              <th className="p-1" />
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id} className="border-t" data-execution={e.id} data-status={e.status} data-source={e.source}>
                <td className="p-1">
                  <Link to={`/executions/${e.id}`} className="underline">
                    {e.started_at ? new Date(e.started_at).toLocaleString() : e.id}
                  </Link>
                </td>
                <td className="p-1">
                  {e.workflow_id ? <Link to={`/workflows/${e.workflow_id}`}>{e.workflow_name ?? e.workflow_id}</Link> : "—"}
                  {e.workflow_version != null && <span className="muted"> v{e.workflow_version}</span>}
                </td>
                <td className="p-1">
                  <StatusBadge status={e.status} />
                </td>
                <td className="p-1">{e.source ?? "manual"}</td>
                <td className="p-1">{e.duration_ms != null ? `${Math.round(e.duration_ms)} ms` : "—"}</td>
                <td className="p-1">
                  <RowActions execution={e} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.data && rows.length === 0 && <p className="muted">No executions match.</p>}
        {pagination && pagination.pages > 1 && (
          <nav className="flex items-center gap-2" aria-label="Pages">
            <button className="btn" disabled={filters.page <= 1} onClick={() => set({ ...filters, page: filters.page - 1 })}>
              Previous
            </button>
            <span className="muted" data-testid="page-position">
              page {pagination.page} of {pagination.pages} · {pagination.total} runs
            </span>
            <button className="btn" disabled={filters.page >= pagination.pages} onClick={() => set({ ...filters, page: filters.page + 1 })}>
              Next
            </button>
          </nav>
        )}
      </main>
    </div>
  );
}
