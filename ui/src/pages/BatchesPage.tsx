/** Batches of one workflow: start one from a CSV, see each one's progress, open it. */
import { useState } from "react";
import { Link, useParams } from "react-router";
import { useBatchMutations, useBatches } from "../api/batches";
import { ApiError } from "../api/client";
import { useWorkflow } from "../api/hooks";
import { TopBar } from "../App";
import { BatchProgress } from "../components/BatchProgress";
import { StatusBadge } from "../components/StatusBadge";
import { batchSummary, csvHeader } from "../lib/batches";

export function BatchesPage() {
  const { id = "" } = useParams();
  const workflow = useWorkflow(id);
  const batches = useBatches(id);
  const { start } = useBatchMutations(id);
  const [file, setFile] = useState<File | null>(null);
  const [columns, setColumns] = useState<string[]>([]);
  const [concurrency, setConcurrency] = useState("");
  const error = start.error instanceof ApiError ? start.error : null;

  const choose = async (chosen: File | undefined) => {
    setFile(chosen ?? null);
    setColumns(chosen ? csvHeader(await chosen.slice(0, 64 * 1024).text()) : []);
  };

  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <Link to={`/workflows/${id}`} className="underline">
          {workflow.data?.name ?? "Workflow"}
        </Link>
        <span className="muted">/ batches</span>
      </TopBar>
      <main className="flex flex-col gap-4 overflow-auto p-4">
        <form
          className="panel flex flex-wrap items-end gap-3 rounded border p-3 text-sm"
          data-testid="batch-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (file) start.mutate({ file, concurrency: Number(concurrency) || undefined });
          }}
        >
          <label className="flex flex-col gap-1">
            CSV (header row = input names)
            <input type="file" accept=".csv,text/csv" aria-label="CSV file" onChange={(e) => void choose(e.target.files?.[0])} />
          </label>
          <label className="flex flex-col gap-1">
            At once
            <input className="input w-24" type="number" min={1} placeholder="max" aria-label="Concurrency" value={concurrency} onChange={(e) => setConcurrency(e.target.value)} />
          </label>
          <button className="btn btn-primary" type="submit" disabled={!file || start.isPending}>
            Run batch
          </button>
          {columns.length > 0 && <span className="muted">inputs: {columns.join(", ")}</span>}
          {error && (
            <div className="field-error w-full" role="alert">
              <p>{error.message}</p>
              <ul>
                {error.fieldErrors.slice(0, 10).map((d, i) => (
                  <li key={i}>{d.field ? `${d.field}: ` : ""}{d.message}</li>
                ))}
              </ul>
            </div>
          )}
        </form>
        <table className="text-left text-xs" data-testid="batches">
          <thead>
            <tr>
              <th className="p-1">started</th>
              <th className="p-1">status</th>
              <th className="p-1">progress</th>
              <th className="p-1">rows</th>
            </tr>
          </thead>
          <tbody>
            {(batches.data ?? []).map((batch) => (
              <tr key={batch.id} className="border-t">
                <td className="p-1">
                  <Link to={`/batches/${batch.id}`} className="underline">
                    {new Date(batch.created_at).toLocaleString()}
                  </Link>
                </td>
                <td className="p-1"><StatusBadge status={batch.status} /></td>
                <td className="w-64 p-1"><BatchProgress counts={batch.counts} total={batch.total} /></td>
                <td className="p-1">{batchSummary(batch)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {batches.data?.length === 0 && <p className="muted">No batches of this workflow yet.</p>}
      </main>
    </div>
  );
}
