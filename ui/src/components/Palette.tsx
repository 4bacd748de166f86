/**
 * The node palette: catalogue node types with their descriptions, grouped by category;
 * search, then Enter adds the highlighted type after the selected node (keyboard-first),
 * or drag one onto the canvas.
 */
import { useMemo, useState } from "react";
import { useNodeTypes } from "../api/hooks";
import type { NodeTypeInfo } from "../api/types";
import { nodeIcon } from "../lib/nodeSummary";
import { searchNodeTypes } from "../lib/palette";
import { PALETTE_SEARCH } from "./paletteFocus";

export const DRAG_TYPE = "application/x-flowmaestro-node";

interface Props {
  /** Add a node of `type` (after the selected node when there is one). */
  onAdd(type: string): void;
  onAddNote(): void;
  /** The node a quick-add connects from, for the hint; null adds unconnected. */
  after: string | null;
}

export function Palette({ onAdd, onAddNote, after }: Props) {
  const { data, isLoading, error } = useNodeTypes();
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const found = useMemo(() => searchNodeTypes(data ?? [], query), [data, query]);
  const searching = query.trim() !== "";
  const groups = new Map<string, NodeTypeInfo[]>();
  if (!searching) for (const info of found) groups.set(info.category, [...(groups.get(info.category) ?? []), info]);
  const highlighted = searching ? found[Math.min(active, found.length - 1)] : undefined;

  const add = (type: string) => {
    onAdd(type);
    setQuery("");
    setActive(0);
  };
  const item = (info: NodeTypeInfo) => (
    <li key={info.type}>
      <button
        draggable
        data-palette-type={info.type}
        data-active={info === highlighted || undefined}
        title={info.description}
        onDragStart={(e) => {
          e.dataTransfer.setData(DRAG_TYPE, info.type);
          e.dataTransfer.effectAllowed = "move";
        }}
        onDoubleClick={() => add(info.type)}
        onKeyDown={(e) => e.key === "Enter" && add(info.type)}
        className={`flex w-full cursor-grab gap-2 rounded border px-2 py-1 text-left hover:border-sky-400 dark:border-slate-700 ${
          info === highlighted ? "border-sky-500 bg-sky-50 dark:bg-sky-950" : "border-slate-200 bg-slate-50 dark:bg-slate-800"
        }`}
      >
        <span aria-hidden className="w-4 shrink-0 text-center">
          {nodeIcon(info.type)}
        </span>
        <span className="min-w-0">
          {info.name}
          <span className="muted block text-[10px] leading-tight [overflow-wrap:anywhere]" data-palette-description>
            {info.description}
          </span>
        </span>
      </button>
    </li>
  );

  return (
    <aside className="panel flex w-60 shrink-0 flex-col gap-2 overflow-y-auto border-r p-2" aria-label="Node palette">
      <input
        type="search"
        {...{ [PALETTE_SEARCH]: "" }}
        aria-label="Search nodes"
        aria-controls="palette-results"
        placeholder="Search nodes…  ( / )"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            const n = Math.max(found.length, 1);
            setActive((a) => (Math.min(a, n - 1) + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
          } else if (e.key === "Enter" && highlighted) {
            e.preventDefault();
            add(highlighted.type);
            e.currentTarget.blur();
          } else if (e.key === "Escape") {
            setQuery("");
            e.currentTarget.blur();
          }
        }}
      />
      {searching && (
        <p className="muted text-[11px]" data-testid="palette-hint">
          {found.length ? `Enter adds ${highlighted?.name}${after ? ` after ${after}` : ""}` : "No node matches."}
        </p>
      )}
      {isLoading && <p className="muted">Loading nodes…</p>}
      {error && <p className="field-error">{String(error)}</p>}
      <div id="palette-results" aria-label="Node types" className="flex flex-col gap-3">
        {searching ? (
          <ul className="flex flex-col gap-1">{found.map(item)}</ul>
        ) : (
          [...groups].map(([category, infos]) => (
            <section key={category}>
              <h3 className="muted mb-1 text-[11px] font-semibold uppercase tracking-wide">{category}</h3>
              <ul className="flex flex-col gap-1">{infos.map(item)}</ul>
            </section>
          ))
        )}
      </div>
      <button className="btn mt-1" onClick={onAddNote} title="Add a sticky note (Shift+N)" data-action="add-note">
        + Sticky note
      </button>
      <p className="muted mt-auto text-[11px]">Type / to search; Enter adds after the selected node. Or drag onto the canvas.</p>
    </aside>
  );
}
