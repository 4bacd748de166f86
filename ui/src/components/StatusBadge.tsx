/** A coloured status word, shared by nodes, executions and the library. */
const COLOURS: Record<string, string> = {
  pending: "bg-slate-200 text-slate-700 dark:bg-slate-700 dark:text-slate-200",
  running: "bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-200",
  paused: "bg-violet-100 text-violet-800 dark:bg-violet-900 dark:text-violet-200",
  waiting: "bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200",
  retrying: "bg-orange-100 text-orange-800 dark:bg-orange-900 dark:text-orange-200",
  completed: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200",
  failed: "bg-rose-100 text-rose-800 dark:bg-rose-900 dark:text-rose-200",
  cancelled: "bg-zinc-200 text-zinc-700 dark:bg-zinc-700 dark:text-zinc-200",
  skipped: "bg-slate-100 text-slate-400 line-through dark:bg-slate-800 dark:text-slate-500",
};

export function StatusBadge({ status, suffix }: { status: string; suffix?: string }) {
  return (
    <span data-status={status} className={`rounded px-1.5 py-0.5 text-xs font-medium ${COLOURS[status] ?? COLOURS.pending}`}>
      {status}
      {suffix}
    </span>
  );
}
