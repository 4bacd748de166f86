/** A definition diff: nodes added, removed and changed (with each config value before and after). */
import type { DefinitionDiff } from "../api/drafts";
import { diffLines } from "../lib/versionDiff";

const MARK: Record<string, string> = {
  added: "text-emerald-700 dark:text-emerald-400",
  "edge-added": "text-emerald-700 dark:text-emerald-400",
  removed: "text-rose-600",
  "edge-removed": "text-rose-600",
  changed: "text-amber-700 dark:text-amber-400",
  moved: "muted",
};

export function DiffView({ diff }: { diff: DefinitionDiff }) {
  const lines = diffLines(diff);
  if (!lines.length) return <p className="muted text-xs">No changes.</p>;
  return (
    <ul className="flex flex-col gap-1 text-xs" data-testid="diff">
      {lines.map((line, i) => (
        <li key={i} data-diff-kind={line.kind} className={MARK[line.kind]}>
          {line.text}
          {line.before !== undefined && (
            <div className="ml-3 font-mono text-[11px] text-slate-600 dark:text-slate-300">
              <span className="line-through">{line.before}</span> → <span>{line.after}</span>
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
