/** A derived run's report on the execution page, once it ended: a verdict badge on each
 * node card (through the report store), the removed nodes, and the selected node's output
 * changes. */
import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { api } from "../api/client";
import { describeOp, loadReport, reportReady, VERDICT_LABEL } from "../lib/replay";
import { useExecutionStore } from "../stores/executionStore";
import { useReportStore } from "../stores/reportStore";

const COLOURS: Record<string, string> = {
  same: "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200",
  changed: "bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-100",
  newly_run: "bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-100",
  added: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-100",
  removed: "bg-rose-100 text-rose-800 dark:bg-rose-900 dark:text-rose-100",
};

/** The small verdict badge of one node card (nothing outside a derived run's report). */
export function VerdictBadge({ nodeId }: { nodeId: string }) {
  const entry = useReportStore((s) => s.view?.verdicts[nodeId]);
  if (!entry) return null;
  return (
    <span
      data-testid={`node-verdict-${nodeId}`}
      data-verdict={entry.verdict}
      title={entry.reused ? "reused from the original run: nothing ran" : `compared with the original run: ${entry.label}`}
      className={`shrink-0 whitespace-nowrap rounded px-1 text-[10px] ${COLOURS[entry.verdict] ?? ""}`}
    >
      {entry.label}
      {entry.reused ? " ↺" : ""}
    </span>
  );
}

export function ReplayReport({ executionId, detail, nodeId }: { executionId: string; detail?: Record<string, unknown>; nodeId?: string }) {
  const liveStatus = useExecutionStore((s) => s.live?.status);
  const ready = reportReady(detail, liveStatus);
  const report = useQuery({
    queryKey: ["execution-report", executionId],
    enabled: ready,
    staleTime: Infinity,
    queryFn: () => loadReport((path) => api(path), executionId),
    // the live tail may see the end before the server's report does (409 → null): ask again
    refetchInterval: (query) => (query.state.data === null ? 1000 : false),
  });
  const setView = useReportStore((s) => s.set);
  useEffect(() => {
    setView(report.data ?? null);
    return () => setView(null);
  }, [report.data, setView]);

  const view = report.data;
  if (!ready || !view) return null;
  const selected = nodeId ? view.verdicts[nodeId] : undefined;
  return (
    <section className="flex flex-col gap-1 border-b p-3 text-xs" data-testid="replay-report">
      <h3 className="font-semibold">Compared with the original</h3>
      <p className="muted">
        {Object.entries(view.counts)
          .filter(([, n]) => n > 0)
          .map(([verdict, n]) => `${n} ${VERDICT_LABEL[verdict as keyof typeof VERDICT_LABEL] ?? verdict}`)
          .join(" · ")}
      </p>
      {view.removed.length > 0 && (
        <p data-testid="report-removed">
          Removed (not in this definition): <span className="font-mono">{view.removed.join(", ")}</span>
        </p>
      )}
      {selected && (
        <div data-testid="report-node">
          <span className="font-mono">{nodeId}</span>: {selected.label}
          {selected.reused && " (reused, nothing ran)"}
          {selected.diff.length > 0 && (
            <ul className="mt-1 rounded bg-slate-100 p-2 font-mono dark:bg-slate-800" data-testid="report-diff">
              {selected.diff.map((op, i) => (
                <li key={i} className="[overflow-wrap:anywhere]">
                  {describeOp(op)}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {!selected && view.verdicts && <p className="muted">Select a node to see how its output changed.</p>}
    </section>
  );
}
