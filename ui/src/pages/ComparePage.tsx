/** Two runs side by side, node by node: status, output changes, duration, tokens and cost,
 * and whether each run's log is intact. Reached from an execution's page (**Compare**). */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api } from "../api/client";
import { useExecution } from "../api/hooks";
import type { ExecutionPage } from "../api/types";
import { TopBar } from "../App";
import { StatusBadge } from "../components/StatusBadge";
import { type ChainReport, changeLine, chainVerdict, type ExecutionDiff, formatPair, summaryRows, visibleNodes } from "../lib/compare";

function useChain(id: string | null) {
  return useQuery({
    queryKey: ["chain", id],
    enabled: !!id,
    queryFn: () => api<ChainReport>(`/api/executions/${id}/verify`),
  });
}

function ChainBadge({ id }: { id: string }) {
  const report = useChain(id);
  const verdict = report.error ? { text: String(report.error), ok: false } : chainVerdict(report.data);
  const colour = verdict.ok === null ? "muted" : verdict.ok ? "text-emerald-700 dark:text-emerald-400" : "field-error";
  return (
    <span className={`text-xs ${colour}`} data-testid={`chain-${id}`} title={report.data?.head ? `chain head ${report.data.head}` : undefined}>
      {verdict.text}
    </span>
  );
}

function Cell({ a, b, unit }: { a: unknown; b: unknown; unit?: "ms" | "usd" | "count" }) {
  const pair = formatPair(a, b, unit);
  return (
    <td className={`p-1 ${pair.same ? "" : "font-semibold text-amber-700 dark:text-amber-400"}`}>
      {pair.text}
      {pair.delta && <span className="muted"> ({pair.delta})</span>}
    </td>
  );
}

export function ComparePage() {
  const { id = "" } = useParams();
  const [search, setSearch] = useSearchParams();
  const other = search.get("with");
  const [onlyChanged, setOnlyChanged] = useState(false);
  const detail = useExecution(id);
  const workflowId = detail.data?.workflow_id;
  const candidates = useQuery({
    queryKey: ["compare-candidates", workflowId],
    enabled: !!workflowId,
    queryFn: () => api<ExecutionPage>(`/api/executions?workflow_id=${encodeURIComponent(workflowId!)}&limit=50`),
  });
  const diff = useQuery({
    queryKey: ["diff", id, other],
    enabled: !!other,
    queryFn: () => api<ExecutionDiff>(`/api/executions/${id}/diff/${other}`),
  });

  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <Link className="underline" to={`/executions/${id}`}>
          Run <span className="font-mono text-xs">{id}</span>
        </Link>
        <span className="muted">/ compare</span>
      </TopBar>
      <main className="flex flex-col gap-3 overflow-auto p-4 text-sm">
        <div className="flex flex-wrap items-center gap-3">
          <span>
            A <span className="font-mono text-xs">{id}</span> <ChainBadge id={id} />
          </span>
          <label>
            B{" "}
            <select className="input" aria-label="Run to compare with" value={other ?? ""} onChange={(e) => setSearch(e.target.value ? { with: e.target.value } : {})}>
              <option value="">choose a run…</option>
              {(candidates.data?.executions ?? [])
                .filter((e) => e.id !== id)
                .map((e) => (
                  <option key={e.id} value={e.id}>
                    {e.id} · {e.status}{e.started_at ? ` · ${new Date(e.started_at).toLocaleString()}` : ""}
                  </option>
                ))}
            </select>
          </label>
          {other && <ChainBadge id={other} />}
          <label className="flex items-center gap-1">
            <input type="checkbox" checked={onlyChanged} onChange={(e) => setOnlyChanged(e.target.checked)} /> only what differs
          </label>
        </div>
        {diff.error && <p className="field-error">{String(diff.error)}</p>}
        {diff.data && (
          <>
            <table className="text-left text-xs" data-testid="compare-summary">
              <tbody>
                {summaryRows(diff.data).map((row) => (
                  <tr key={row.label} className="border-t">
                    <th className="p-1">{row.label}</th>
                    <td className={`p-1 ${row.same ? "" : "font-semibold text-amber-700 dark:text-amber-400"}`}>
                      {row.text}
                      {row.delta && <span className="muted"> ({row.delta})</span>}
                    </td>
                  </tr>
                ))}
                <tr className="border-t">
                  <th className="p-1">definition</th>
                  <td className="p-1">{diff.data.same_definition ? "the same" : "differs"}</td>
                </tr>
              </tbody>
            </table>
            <p data-testid="compare-count">
              {diff.data.changed_nodes} of {diff.data.nodes.length} nodes differ
            </p>
            <table className="text-left text-xs" data-testid="compare-nodes">
              <thead>
                <tr>
                  <th className="p-1">node</th>
                  <th className="p-1">status</th>
                  <th className="p-1">duration</th>
                  <th className="p-1">tokens</th>
                  <th className="p-1">cost</th>
                  <th className="p-1">output</th>
                </tr>
              </thead>
              <tbody>
                {visibleNodes(diff.data, onlyChanged).map((n) => (
                  <tr key={n.node_id} className="border-t align-top" data-node={n.node_id} data-changed={n.changed}>
                    <td className="p-1">
                      <span className="font-mono">{n.node_id}</span> <span className="muted">{n.type}</span>
                      {n.only_in && <span className="muted"> (only in {n.only_in.toUpperCase()})</span>}
                    </td>
                    <td className="p-1">
                      {n.status_a ? <StatusBadge status={n.status_a} /> : "—"}
                      {n.status_a !== n.status_b && (
                        <>
                          {" → "}
                          {n.status_b ? <StatusBadge status={n.status_b} /> : "—"}
                        </>
                      )}
                    </td>
                    <Cell a={n.duration_ms_a} b={n.duration_ms_b} unit="ms" />
                    <Cell a={n.tokens_a} b={n.tokens_b} unit="count" />
                    <Cell a={n.cost_usd_a} b={n.cost_usd_b} unit="usd" />
                    <td className="p-1 font-mono">
                      {n.output_changes.length === 0 ? (
                        <span className="muted">same</span>
                      ) : (
                        n.output_changes.map((c) => <div key={`${c.op}${c.path}`}>{changeLine(c)}</div>)
                      )}
                      {n.output_truncated && <div className="muted">… more changes</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
        {!other && <p className="muted">Choose a run of the same workflow to compare with.</p>}
      </main>
    </div>
  );
}
