/** The canvas component of a workflow node: type, label, handles and live status. */
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { useNodeTypes } from "../../api/hooks";
import type { CanvasNode } from "../../lib/canvas";
import { branchHandles, isSink, isSource } from "../../lib/handles";
import { useExecutionStore } from "../../stores/executionStore";
import { useGraphStore } from "../../stores/graphStore";
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
  const handles = branchHandles(type, data, info);
  const status = run?.status;
  const label = typeof data.label === "string" && data.label ? data.label : (info?.name ?? type);
  const hasErrors = errors && Object.keys(errors).length > 0;
  return (
    <div
      data-testid={`node-${id}`}
      data-node-status={status ?? "idle"}
      className={`min-w-36 max-w-52 rounded-md border bg-white px-3 py-2 shadow-sm dark:bg-slate-900 ${
        selected ? "border-sky-500" : hasErrors ? "border-rose-500" : "border-slate-300 dark:border-slate-600"
      } ${status ? (RING[status] ?? "") : ""}`}
    >
      {!isSource(type) && <Handle type="target" position={Position.Left} />}
      <div className="flex items-center gap-2">
        <span className="text-[10px] uppercase tracking-wide text-slate-500">{info?.category ?? type}</span>
        {status && <StatusBadge status={status} suffix={run && run.attempt > 1 ? ` · attempt ${run.attempt}` : undefined} />}
        {status === "running" && <span aria-hidden className="h-2 w-2 animate-ping rounded-full bg-sky-500" />}
      </div>
      <div className="font-medium">{label}</div>
      <div className="font-mono text-[10px] text-slate-500">{id}</div>
      {run?.streamed && status === "running" && (
        <div data-testid={`stream-${id}`} className="mt-1 max-h-16 overflow-hidden text-xs text-slate-600 dark:text-slate-300">
          {run.streamed}
        </div>
      )}
      {hasErrors && (
        <ul className="mt-1 field-error" data-testid={`node-errors-${id}`}>
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
    </div>
  );
}

/** One memoised component; each node type gets its own entry in `nodeTypes`. */
export const WorkflowNode = memo(WorkflowNodeView);
