/** A stacked bar of a batch's rows by status. */
import { memo } from "react";
import type { BatchCounts } from "../api/types";
import { progressSegments, type RowStatus } from "../lib/batches";

const COLOURS: Record<RowStatus, string> = {
  completed: "bg-emerald-500",
  failed: "bg-rose-500",
  cancelled: "bg-slate-400",
  running: "bg-sky-500",
  paused: "bg-amber-400",
  pending: "bg-sky-300",
  queued: "bg-slate-200 dark:bg-slate-700",
};

export const BatchProgress = memo(function BatchProgress({ counts, total }: { counts: BatchCounts; total: number }) {
  return (
    <div className="flex h-3 w-full overflow-hidden rounded bg-slate-100 dark:bg-slate-800" role="progressbar" aria-valuemin={0} aria-valuemax={total} aria-valuenow={counts.completed + counts.failed + counts.cancelled}>
      {progressSegments(counts, total).map((s) => (
        <div key={s.status} className={COLOURS[s.status]} style={{ width: `${s.percent}%` }} title={`${s.count} ${s.status}`} data-status={s.status} />
      ))}
    </div>
  );
});
