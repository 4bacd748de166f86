/** The node palette: catalogue node types grouped by category, dragged onto the canvas. */
import { useNodeTypes } from "../api/hooks";
import type { NodeTypeInfo } from "../api/types";

export const DRAG_TYPE = "application/x-flowmaestro-node";

export function Palette({ onAdd }: { onAdd: (type: string) => void }) {
  const { data, isLoading, error } = useNodeTypes();
  const groups = new Map<string, NodeTypeInfo[]>();
  for (const info of data ?? []) groups.set(info.category, [...(groups.get(info.category) ?? []), info]);
  return (
    <aside className="panel flex w-52 shrink-0 flex-col gap-3 overflow-y-auto border-r p-2" aria-label="Node palette">
      {isLoading && <p className="muted">Loading nodes…</p>}
      {error && <p className="field-error">{String(error)}</p>}
      {[...groups].map(([category, infos]) => (
        <section key={category}>
          <h3 className="muted mb-1 text-[11px] font-semibold uppercase tracking-wide">{category}</h3>
          <ul className="flex flex-col gap-1">
            {infos.map((info) => (
              <li key={info.type}>
                <button
                  draggable
                  data-palette-type={info.type}
                  title={info.description}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(DRAG_TYPE, info.type);
                    e.dataTransfer.effectAllowed = "move";
                  }}
                  onDoubleClick={() => onAdd(info.type)}
                  onKeyDown={(e) => e.key === "Enter" && onAdd(info.type)}
                  className="w-full cursor-grab rounded border border-slate-200 bg-slate-50 px-2 py-1 text-left hover:border-sky-400 dark:border-slate-700 dark:bg-slate-800"
                >
                  {info.name}
                  <span className="muted block font-mono text-[10px]">{info.type}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      <p className="muted mt-auto text-[11px]">Drag onto the canvas, or press Enter to add.</p>
    </aside>
  );
}
