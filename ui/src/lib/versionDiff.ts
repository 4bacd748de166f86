/** A definition diff as lines people read: what was added, removed, changed and rewired. */
import type { DefinitionDiff } from "../api/drafts";
import { fieldLabel } from "./problems";

export interface DiffLine {
  kind: "added" | "removed" | "changed" | "edge-added" | "edge-removed" | "moved";
  node?: string;
  text: string;
  /** Config values before and after, for a changed field. */
  before?: string;
  after?: string;
}

/** A value shown in one line, bounded so a large config cannot flood the dialog. */
export function formatValue(value: unknown, max = 120): string {
  if (value === undefined) return "(not set)";
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const edge = (e: { source: string; target: string; source_handle?: string | null }) =>
  `${e.source}${e.source_handle ? ` (${e.source_handle})` : ""} → ${e.target}`;

/** Every change, nodes first, in a stable order. */
export function diffLines(diff: DefinitionDiff): DiffLine[] {
  const lines: DiffLine[] = [];
  for (const n of diff.added) lines.push({ kind: "added", node: n.id, text: `Added ${n.type ?? "node"} "${n.id}"` });
  for (const n of diff.removed) lines.push({ kind: "removed", node: n.id, text: `Removed ${n.type ?? "node"} "${n.id}"` });
  for (const n of diff.changed) {
    for (const f of n.fields) {
      const what = f.path === "type" ? "type" : fieldLabel(f.path);
      const verb = f.before === undefined ? "set" : f.after === undefined ? "cleared" : "changed";
      lines.push({ kind: "changed", node: n.id, text: `"${n.id}": ${what} ${verb}`, before: formatValue(f.before), after: formatValue(f.after) });
    }
    if (n.truncated) lines.push({ kind: "changed", node: n.id, text: `"${n.id}": more changes not listed` });
  }
  for (const e of diff.edges_added) lines.push({ kind: "edge-added", text: `Connected ${edge(e)}` });
  for (const e of diff.edges_removed) lines.push({ kind: "edge-removed", text: `Disconnected ${edge(e)}` });
  if (diff.moved.length) lines.push({ kind: "moved", text: `Moved ${diff.moved.length} node${diff.moved.length > 1 ? "s" : ""} (layout only)` });
  return lines;
}

/** One-line summary: "2 added, 1 removed, 3 changed" or "No changes". */
export function diffSummary(diff: DefinitionDiff): string {
  const parts: string[] = [];
  if (diff.added.length) parts.push(`${diff.added.length} added`);
  if (diff.removed.length) parts.push(`${diff.removed.length} removed`);
  if (diff.changed.length) parts.push(`${diff.changed.length} changed`);
  const edges = diff.edges_added.length + diff.edges_removed.length;
  if (edges) parts.push(`${edges} connection${edges > 1 ? "s" : ""} changed`);
  if (!parts.length) return diff.moved.length ? "Layout only (no new version)" : "No changes";
  return parts.join(", ");
}
