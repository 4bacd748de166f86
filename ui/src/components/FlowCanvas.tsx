/** The canvas: xyflow bound to `graphStore`, with drop-to-add, minimap and controls. */
import { Background, Controls, MiniMap, ReactFlow, useReactFlow, type Edge } from "@xyflow/react";
import { useCallback, useMemo, useState } from "react";
import { useExecutionStore } from "../stores/executionStore";
import { useGraphStore } from "../stores/graphStore";
import { useNodeTypes } from "../api/hooks";
import { nodeTypesFor } from "./nodes/nodeTypes";
import { DRAG_TYPE } from "./Palette";

const MINIMAP_COLOURS: Record<string, string> = {
  running: "#0ea5e9",
  waiting: "#f59e0b",
  completed: "#10b981",
  failed: "#f43f5e",
  retrying: "#f97316",
  skipped: "#cbd5e1",
};

export function FlowCanvas() {
  const nodes = useGraphStore((s) => s.nodes);
  const edges = useGraphStore((s) => s.edges);
  const readOnly = useGraphStore((s) => s.readOnly);
  const onNodesChange = useGraphStore((s) => s.onNodesChange);
  const onEdgesChange = useGraphStore((s) => s.onEdgesChange);
  const connect = useGraphStore((s) => s.connect);
  const addNode = useGraphStore((s) => s.addNode);
  const checkpoint = useGraphStore((s) => s.checkpoint);
  const shown = useExecutionStore((s) => s.shown);
  const { screenToFlowPosition } = useReactFlow();
  // Fit the view once, to what is there when the canvas opens. With `fitView` on an empty
  // canvas, xyflow waits for the first node and then centres it: the node dropped first
  // jumped away from where it was dropped.
  const [fitOnOpen] = useState(() => useGraphStore.getState().nodes.length > 0);
  const catalogue = useNodeTypes().data;
  // Node types from installed plugins come with the server's catalogue, not this build.
  const nodeTypes = nodeTypesFor([...(catalogue ?? []).map((info) => info.type), ...nodes.map((node) => node.type ?? "")]);

  // Edges of a branch not taken fade; taken ones animate while the run goes on.
  const styledEdges = useMemo<Edge[]>(() => {
    if (!shown) return edges;
    return edges.map((edge) => {
      const source = shown.nodes[edge.source];
      const target = shown.nodes[edge.target];
      const taken = source?.status === "completed" && (!edge.sourceHandle || !source.handles || source.handles.includes(edge.sourceHandle));
      return {
        ...edge,
        animated: taken && target?.status === "running",
        style: target?.status === "skipped" ? { opacity: 0.35, strokeDasharray: "4 4" } : taken ? { stroke: "#10b981", strokeWidth: 2 } : undefined,
      };
    });
  }, [edges, shown]);

  const labelledEdges = useMemo(
    () => styledEdges.map((e) => (e.sourceHandle ? { ...e, label: e.sourceHandle, labelStyle: { fontSize: 10 } } : e)),
    [styledEdges],
  );

  const onDrop = useCallback(
    (event: React.DragEvent) => {
      event.preventDefault();
      const type = event.dataTransfer.getData(DRAG_TYPE);
      if (!type || readOnly) return;
      addNode(type, screenToFlowPosition({ x: event.clientX - 80, y: event.clientY - 30 }));
    },
    [addNode, readOnly, screenToFlowPosition],
  );

  return (
    <div className="h-full w-full" onDragOver={(e) => e.preventDefault()} onDrop={onDrop} data-testid="canvas">
      <ReactFlow
        nodes={nodes}
        edges={labelledEdges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={connect}
        onNodeDragStart={() => checkpoint()}
        nodesConnectable={!readOnly}
        nodesDraggable={!readOnly}
        deleteKeyCode={null}
        multiSelectionKeyCode={["Meta", "Control"]}
        selectionOnDrag={false}
        fitView={fitOnOpen}
        fitViewOptions={{ maxZoom: 1, padding: 0.2 }}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls />
        <MiniMap pannable zoomable nodeColor={(n) => MINIMAP_COLOURS[shown?.nodes[n.id]?.status ?? ""] ?? "#94a3b8"} />
      </ReactFlow>
    </div>
  );
}
