/** Auto-layout of the canvas, left to right, with dagre. */
import dagre from "@dagrejs/dagre";
import { STICKY_TYPE, type CanvasEdge, type CanvasNode } from "./canvas";

const WIDTH = 200;
const HEIGHT = 72;

/** Nodes moved to a layered left-to-right layout; edges and sticky notes stay where they are. */
export function autoLayout(nodes: CanvasNode[], edges: CanvasEdge[]): CanvasNode[] {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 70 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) if (node.type !== STICKY_TYPE) graph.setNode(node.id, { width: node.measured?.width ?? WIDTH, height: node.measured?.height ?? HEIGHT });
  for (const edge of edges) graph.setEdge(edge.source, edge.target);
  dagre.layout(graph);
  return nodes.map((node) => {
    if (node.type === STICKY_TYPE) return node;
    const { x, y, width, height } = graph.node(node.id);
    return { ...node, position: { x: Math.round(x - width / 2), y: Math.round(y - height / 2) } };
  });
}
