/** Pure conversion between the workflow definition document and the canvas's nodes and edges. */
import type { Edge as FlowEdge, Node as FlowNode } from "@xyflow/react";
import type { WorkflowDefinition } from "../api/types";

export type NodeConfig = Record<string, unknown>;
export type CanvasNode = FlowNode<NodeConfig>;
export type CanvasEdge = FlowEdge;

/** The canvas node type of a sticky note: saved in the definition's `notes`, never run. */
export const STICKY_TYPE = "sticky";
/** Longest sticky note text the server accepts (`MAX_NOTE_CHARS` in libs/events). */
export const MAX_NOTE_CHARS = 4000;
/** Most sticky notes one workflow may hold (`MAX_NOTES` in libs/events). */
export const MAX_NOTES = 100;
/** A new sticky note's size. */
export const NOTE_SIZE = { width: 220, height: 140 };
/** Notes sit behind nodes, so a note dropped over a node never hides it. */
export const NOTE_Z = -1;

export interface Canvas {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}

/** The canvas view of a definition; nodes keep their order of appearance. */
export function definitionToCanvas(definition: WorkflowDefinition | null | undefined): Canvas {
  const nodes: CanvasNode[] = Object.entries(definition?.nodes ?? {}).map(([key, node], index) => ({
    id: node.id ?? key,
    type: node.type,
    position: {
      x: node.position?.x ?? index * 220,
      y: node.position?.y ?? 0,
    },
    data: { ...(node.data ?? {}) } as NodeConfig,
  }));
  for (const note of definition?.notes ?? [])
    nodes.push({
      id: note.id,
      type: STICKY_TYPE,
      position: { x: note.position?.x ?? 0, y: note.position?.y ?? 0 },
      data: { text: note.text ?? "" },
      width: note.width ?? NOTE_SIZE.width,
      height: note.height ?? NOTE_SIZE.height,
      zIndex: NOTE_Z,
    });
  const edges = (definition?.edges ?? []).map((edge) => {
    const out: CanvasEdge = { id: edge.id, source: edge.source, target: edge.target };
    if (edge.sourceHandle) out.sourceHandle = edge.sourceHandle;
    if (edge.targetHandle) out.targetHandle = edge.targetHandle;
    return out;
  });
  return { nodes, edges };
}

/**
 * The definition a canvas stands for: only ids, types, positions, config and handles;
 * sticky notes go to `notes` (left out when there are none).
 */
export function canvasToDefinition(canvas: Canvas): WorkflowDefinition {
  const nodes: NonNullable<WorkflowDefinition["nodes"]> = {};
  const notes: NonNullable<WorkflowDefinition["notes"]> = [];
  for (const node of canvas.nodes) {
    if (node.type === STICKY_TYPE) {
      notes.push({
        id: node.id,
        text: typeof node.data?.text === "string" ? node.data.text : "",
        position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
        width: Math.round(node.width ?? node.measured?.width ?? NOTE_SIZE.width),
        height: Math.round(node.height ?? node.measured?.height ?? NOTE_SIZE.height),
      });
      continue;
    }
    nodes[node.id] = {
      id: node.id,
      type: node.type ?? "echo",
      position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
      data: stripUndefined(node.data ?? {}),
    };
  }
  const edges = canvas.edges.map((edge) => {
    const out: NonNullable<WorkflowDefinition["edges"]>[number] = {
      id: edge.id,
      source: edge.source,
      target: edge.target,
    };
    if (edge.sourceHandle) out.sourceHandle = edge.sourceHandle;
    if (edge.targetHandle) out.targetHandle = edge.targetHandle;
    return out;
  });
  return notes.length ? { nodes, edges, notes } : { nodes, edges };
}

function stripUndefined(data: NodeConfig): NodeConfig {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
}

/** A node id not yet used on the canvas, derived from the node type (`llm`, `llm-2`, …). */
export function freshNodeId(type: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = type.replace(/[^A-Za-z0-9-]/g, "-");
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** An edge id for a new connection, unique among `taken`. */
export function freshEdgeId(taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let i = 1; ; i++) if (!used.has(`e${i}`)) return `e${i}`;
}

/**
 * Copies of `nodes` (and the edges among them) with fresh ids, shifted by `offset`, for paste.
 * References to a copied node inside copied config are renamed too.
 */
export function duplicateSelection(
  nodes: CanvasNode[],
  edges: CanvasEdge[],
  taken: { nodes: Iterable<string>; edges: Iterable<string> },
  offset = 40,
): Canvas {
  const usedNodes = new Set(taken.nodes);
  const usedEdges = new Set(taken.edges);
  const rename = new Map<string, string>();
  for (const node of nodes) {
    const id = freshNodeId(node.type ?? "node", usedNodes);
    usedNodes.add(id);
    rename.set(node.id, id);
  }
  const renameRefs = (value: unknown): unknown => {
    if (typeof value === "string")
      return value.replace(/\$\{([A-Za-z0-9_-]+)(?=[.[}])/g, (m, root: string) =>
        rename.has(root) ? "${" + rename.get(root) : m,
      );
    if (Array.isArray(value)) return value.map(renameRefs);
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renameRefs(v)]));
    return value;
  };
  const copiedNodes = nodes.map((node) => ({
    id: rename.get(node.id)!,
    type: node.type,
    position: { x: node.position.x + offset, y: node.position.y + offset },
    data: renameRefs(structuredClone(node.data)) as NodeConfig,
    selected: true,
    ...(node.type === STICKY_TYPE ? { width: node.width, height: node.height, zIndex: NOTE_Z } : {}),
  }));
  const copiedEdges: CanvasEdge[] = [];
  for (const edge of edges) {
    if (!rename.has(edge.source) || !rename.has(edge.target)) continue;
    const id = freshEdgeId(usedEdges);
    usedEdges.add(id);
    copiedEdges.push({
      ...edge,
      id,
      source: rename.get(edge.source)!,
      target: rename.get(edge.target)!,
      selected: false,
    });
  }
  return { nodes: copiedNodes, edges: copiedEdges };
}
