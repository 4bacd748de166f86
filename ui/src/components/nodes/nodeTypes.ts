/** The canvas's `nodeTypes` map: one entry per catalogue node type, built once at module level. */
import type { NodeTypes } from "@xyflow/react";
import { NODE_TYPES } from "../../api/types";
import { withExtraTypes } from "../../lib/nodeTypeMap";
import { STICKY_TYPE } from "../../lib/canvas";
import { StickyNote } from "./StickyNote";
import { WorkflowNode } from "./WorkflowNode";

/** One entry per catalogue node type, and the sticky note (a canvas-only type, never run). */
export const nodeTypes: NodeTypes = { ...Object.fromEntries(NODE_TYPES.map((type) => [type, WorkflowNode])), [STICKY_TYPE]: StickyNote };

/** A type the UI was built without (a newer server) still renders with the generic component. */
export const fallbackNodeType = WorkflowNode;

const extended = new Map<string, NodeTypes>();

/** `nodeTypes` plus the types of the server's catalogue this build lacks (installed plugins). */
export function nodeTypesFor(types: Iterable<string>): NodeTypes {
  return withExtraTypes<NodeTypes[string]>(nodeTypes, types, fallbackNodeType, extended);
}
