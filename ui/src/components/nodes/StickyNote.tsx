/** A sticky note on the canvas: resizable text, saved with the workflow, never run. */
import { NodeResizer, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { MAX_NOTE_CHARS, type CanvasNode } from "../../lib/canvas";
import { useGraphStore } from "../../stores/graphStore";

function StickyNoteView({ id, data, selected }: NodeProps<CanvasNode>) {
  const readOnly = useGraphStore((s) => s.readOnly);
  const update = useGraphStore((s) => s.updateNodeData);
  const text = typeof data.text === "string" ? data.text : "";
  return (
    <div
      data-testid={`note-${id}`}
      className={`flex h-full w-full flex-col rounded-md border bg-amber-100 p-2 shadow-sm dark:bg-amber-900/60 ${
        selected ? "border-amber-500" : "border-amber-300 dark:border-amber-700"
      }`}
    >
      <NodeResizer
        isVisible={selected && !readOnly}
        minWidth={120}
        minHeight={60}
        maxWidth={2000}
        maxHeight={2000}
        onResizeStart={() => useGraphStore.getState().checkpoint()}
        onResizeEnd={() => useGraphStore.setState({ dirty: true })}
      />
      <textarea
        aria-label="Sticky note"
        className="nodrag nowheel h-full w-full flex-1 resize-none border-0 bg-transparent p-0 text-xs focus:outline-none focus:ring-0"
        placeholder="Note… (not run)"
        value={text}
        maxLength={MAX_NOTE_CHARS}
        readOnly={readOnly}
        onChange={(e) => update(id, "text", e.target.value.slice(0, MAX_NOTE_CHARS))}
      />
    </div>
  );
}

/** Sticky notes have no handles: nothing can be wired to or from one. */
export const StickyNote = memo(StickyNoteView);
