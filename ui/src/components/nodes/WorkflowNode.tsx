/** The canvas component of a workflow node: icon, label, what it does, handles and live status. */
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { useNodeTypes } from "../../api/hooks";
import type { CanvasNode } from "../../lib/canvas";
import { branchHandles, isSink, isSource } from "../../lib/handles";
import { nodeIcon, nodeSummary } from "../../lib/nodeSummary";
import { useExecutionStore } from "../../stores/executionStore";
import { useGraphStore } from "../../stores/graphStore";
import { focusPaletteSearch } from "../paletteFocus";
import { VerdictBadge } from "../ReplayReport";
import { StatusBadge } from "../StatusBadge";

const RING: Record<string, string> = {
  running: "ring-2 ring-sky-500",
  waiting: "ring-2 ring-amber-500",
  retrying: "ring-2 ring-orange-500",
  completed: "ring-2 ring-emerald-500",
  failed: "ring-2 ring-rose-500",
  skipped: "opacity-50",
  cancelled: "ring-2 ring-zinc-400 opacity-75",
};

function WorkflowNodeView({ id, type, data, selected }: NodeProps<CanvasNode>) {
  const info = useNodeTypes().data?.find((n) => n.type === type);
  const run = useExecutionStore((s) => s.shown?.nodes[id]);
  const errors = useGraphStore((s) => s.serverErrors[id]);
  const readOnly = useGraphStore((s) => s.readOnly);
  const handles = branchHandles(type, data, info);
  const status = run?.status;
  const label = typeof data.label === "string" && data.label ? data.label : (info?.name ?? type);
  const hasErrors = errors && Object.keys(errors).length > 0;
  const summary = nodeSummary(type, data);
  return (
    <div
      data-testid={`node-${id}`}
      data-node-status={status ?? "idle"}
      className={`relative w-44 rounded-md border bg-white px-3 py-2 shadow-sm dark:bg-slate-900 ${
        selected ? "border-sky-500" : hasErrors ? "border-rose-500" : "border-slate-300 dark:border-slate-600"
      } ${status ? (RING[status] ?? "") : ""}`}
    >
      {!isSource(type) && <Handle type="target" position={Position.Left} />}
      <div className="flex items-center gap-2">
        <span aria-hidden data-testid={`node-icon-${id}`} className="flex h-5 w-5 shrink-0 items-center justify-center rounded bg-slate-100 text-xs dark:bg-slate-800">
          {nodeIcon(type)}
        </span>
        <span className="text-[10px] uppercase tracking-wide text-slate-500">{info?.category ?? type}</span>
        {status && <StatusBadge status={status} suffix={run && run.attempt > 1 ? ` · attempt ${run.attempt}` : undefined} />}
        {status === "running" && <span aria-hidden className="h-2 w-2 animate-ping rounded-full bg-sky-500" />}
      </div>
      <div className="truncate font-medium" title={label}>{label}</div>
      {summary && (
        <div data-testid={`node-summary-${id}`} className="truncate font-mono text-[10px] text-slate-600 dark:text-slate-300" title={summary}>
          {summary}
        </div>
      )}
      <div className="flex items-center justify-between gap-1">
        <span className="truncate font-mono text-[10px] text-slate-500">{id}</span>
        <VerdictBadge nodeId={id} />
      </div>
      {run?.streamed && status === "running" && (
        <div data-testid={`stream-${id}`} className="mt-1 max-h-16 overflow-hidden text-xs text-slate-600 [overflow-wrap:anywhere] dark:text-slate-300">
          {run.streamed}
        </div>
      )}
      {hasErrors && (
        // Below the node, outside its measured box and as wide as the card: problems come
        // and go as the draft autosaves, and the node (and its handles) must not move while
        // someone drags an edge; long messages wrap instead of spreading over neighbours.
        <ul className="field-error panel absolute left-0 top-full z-10 mt-1 w-44 whitespace-normal rounded border border-rose-300 px-2 py-1 text-[11px] shadow-sm [overflow-wrap:anywhere]" data-testid={`node-errors-${id}`}>
          {Object.entries(errors).map(([field, message]) => (
            <li key={field}>
              {field ? `${field}: ` : ""}
              {message}
            </li>
          ))}
        </ul>
      )}
      {handles.length > 0
        ? handles.map((handle, i) => (
            <div key={handle} className="relative text-right text-[10px] text-slate-500" style={{ marginTop: i === 0 ? 6 : 2 }}>
              {handle}
              <Handle
                type="source"
                id={handle}
                position={Position.Right}
                className="react-flow__handle-labelled"
                data-handle={handle}
                style={{ top: "50%", right: -13 }}
              />
            </div>
          ))
        : !isSink(type) && <Handle type="source" position={Position.Right} />}
      {selected && !readOnly && !isSink(type) && (
        <button
          type="button"
          className="nodrag absolute -right-7 top-1/2 flex h-5 w-5 -translate-y-1/2 items-center justify-center rounded-full border border-sky-500 bg-white text-xs text-sky-600 hover:bg-sky-50 dark:bg-slate-900"
          title="Add a node after this one (/)"
          aria-label={`Add a node after ${id}`}
          onClick={(e) => {
            e.stopPropagation();
            focusPaletteSearch();
          }}
        >
          +
        </button>
      )}
    </div>
  );
}

/** One memoised component; each node type gets its own entry in `nodeTypes`. */
export const WorkflowNode = memo(WorkflowNodeView);
