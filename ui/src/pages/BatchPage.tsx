/** One batch: live progress, cancel, downloads, and its rows with links to their runs. */
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { downloadResults, followBatch, useBatch, useBatchMutations, useBatchRows } from "../api/batches";
import type { Batch } from "../api/types";
import { TopBar } from "../App";
import { BatchProgress } from "../components/BatchProgress";
import { StatusBadge } from "../components/StatusBadge";
import { batchSummary, isBatchOver } from "../lib/batches";

function short(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

export function BatchPage() {
  const { id = "" } = useParams();
  const client = useQueryClient();
  const fetched = useBatch(id);
  const [live, setLive] = useState<Batch | null>(null);
  const [page, setPage] = useState(1);
  const batch = live ?? fetched.data;
  const over = batch ? isBatchOver(batch.status) : false;
  const rows = useBatchRows(id, page, !over);
  const { cancel } = useBatchMutations(batch?.workflow_id ?? "");
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (!id) return;
    return followBatch(id, (next, ended) => {
      setLive(next);
      if (ended) void client.invalidateQueries({ queryKey: ["batch", id] });
    });
  }, [id, client]);

  if (fetched.error) return <p className="field-error p-6">{String(fetched.error)}</p>;
  if (!batch) return <p className="muted p-6">Loading…</p>;
  const pages = rows.data?.pagination.pages ?? 1;

  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <Link to={`/workflows/${batch.workflow_id}/batches`} className="underline">
          Batches
        </Link>
        <span className="muted truncate">/ {batch.id}</span>
      </TopBar>
      <main className="flex flex-col gap-3 overflow-auto p-4 text-sm">
        <div className="flex flex-wrap items-center gap-3">
          <StatusBadge status={batch.status} />
          <span data-testid="batch-summary">{batchSummary(batch)}</span>
          <span className="muted">version {batch.workflow_version} · {batch.concurrency} at once</span>
          {!over && batch.status !== "cancelling" && (
            <button className="btn" onClick={() => cancel.mutate(batch.id)} disabled={cancel.isPending}>
              Cancel batch
            </button>
          )}
          {(["csv", "jsonl"] as const).map((format) => (
            <button key={format} className="btn" onClick={() => downloadResults(batch.id, format).catch((e) => setProblem(String(e)))}>
              Download {format === "csv" ? "CSV" : "JSON Lines"}
            </button>
          ))}
        </div>
        <BatchProgress counts={batch.counts} total={batch.total} />
        {problem && <p className="field-error">{problem}</p>}
        <table className="text-left text-xs" data-testid="batch-rows">
          <thead>
            <tr>
              <th className="p-1">row</th>
              <th className="p-1">status</th>
              <th className="p-1">inputs</th>
              <th className="p-1">outputs / error</th>
            </tr>
          </thead>
          <tbody>
            {(rows.data?.rows ?? []).map((row) => (
              <tr key={row.row} className="border-t" data-status={row.status}>
                <td className="p-1">
                  {row.status === "queued" || (row.status === "cancelled" && !row.outputs && !row.error) ? (
                    row.row
                  ) : (
                    <Link to={`/executions/${row.execution_id}`} className="underline">{row.row}</Link>
                  )}
                </td>
                <td className="p-1"><StatusBadge status={row.status} /></td>
                <td className="p-1 font-mono">{short(row.inputs)}</td>
                <td className="p-1 font-mono">{row.error ? short(row.error.message ?? row.error) : short(row.outputs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="flex items-center gap-2">
          <button className="btn" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</button>
          <span className="muted">page {page} of {pages}</span>
          <button className="btn" disabled={page >= pages} onClick={() => setPage(page + 1)}>Next</button>
        </div>
      </main>
    </div>
  );
}

