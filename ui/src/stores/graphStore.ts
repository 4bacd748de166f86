/**
 * The workflow being edited: its definition as canvas nodes and edges, undo/redo, the
 * clipboard and the server's validation errors. Run state lives in `executionStore`.
 */
import { addEdge, applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange } from "@xyflow/react";
import { create } from "zustand";
import type { WorkflowDefinition } from "../api/types";
import {
  type Canvas,
  type CanvasEdge,
  type CanvasNode,
  canvasToDefinition,
  definitionToCanvas,
  duplicateSelection,
  freshEdgeId,
  freshNodeId,
  MAX_NOTES,
  NOTE_SIZE,
  NOTE_Z,
  STICKY_TYPE,
} from "../lib/canvas";
import { positionAfter } from "../lib/palette";
import { autoLayout } from "../lib/layout";

/** Server validation errors: node id (or "" for the workflow) → field (or "") → message. */
export type ServerErrors = Record<string, Record<string, string>>;

/** Where the draft stands on the server: `pending` (edits not yet sent), `saving`,
 * `saved`, `conflict` (written elsewhere since: reload or overwrite), `error`. */
export type SyncStatus = "saved" | "pending" | "saving" | "conflict" | "error";

interface GraphState {
  workflowId: string | null;
  name: string;
  version: number | null;
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  past: Canvas[];
  future: Canvas[];
  clipboard: Canvas | null;
  dirty: boolean;
  readOnly: boolean;
  serverErrors: ServerErrors;
  lastTag: string | null;
  /** The workflow's revision on the server, sent as `If-Match` with the next write. */
  revision: number | null;
  /** The server holds a draft that differs from (or was not yet) published. */
  hasDraft: boolean;
  sync: SyncStatus;
  /** The revision another tab or user wrote, when `sync` is `conflict`. */
  conflictRevision: number | null;
  syncError: string | null;

  load(
    workflow: { id: string | null; name: string; version?: number | null; definition: WorkflowDefinition; revision?: number | null; hasDraft?: boolean },
    readOnly?: boolean,
  ): void;
  definition(): WorkflowDefinition;
  setName(name: string): void;
  markSaved(version: number | null): void;
  /** The draft as of `sent` reached the server at `revision`; edits made since stay dirty. */
  markDraftSaved(revision: number, sent: { nodes: CanvasNode[]; edges: CanvasEdge[]; name: string }, errors: ServerErrors): void;
  setSync(sync: SyncStatus, detail?: { conflictRevision?: number | null; error?: string | null }): void;
  onNodesChange(changes: NodeChange<CanvasNode>[]): void;
  onEdgesChange(changes: EdgeChange[]): void;
  connect(connection: Connection): void;
  addNode(type: string, position: { x: number; y: number }, data?: Record<string, unknown>): string;
  /** Add a node one step right of `sourceId`, wired from it (through `sourceHandle` if given). */
  addNodeAfter(type: string, sourceId: string, sourceHandle?: string | null): string;
  /** Add a sticky note; null when the workflow already holds the most notes it may. */
  addNote(position: { x: number; y: number }): string | null;
  updateNodeData(id: string, field: string, value: unknown): void;
  checkpoint(tag?: string): void;
  deleteSelected(): void;
  selectAll(): void;
  select(id: string | null): void;
  copy(): void;
  paste(): void;
  undo(): void;
  redo(): void;
  layout(): void;
  setServerErrors(errors: ServerErrors): void;
}

const snapshot = (s: { nodes: CanvasNode[]; edges: CanvasEdge[] }): Canvas => ({ nodes: s.nodes, edges: s.edges });
const HISTORY = 100;

export const useGraphStore = create<GraphState>((set, get) => ({
  workflowId: null,
  name: "",
  version: null,
  nodes: [],
  edges: [],
  past: [],
  future: [],
  clipboard: null,
  dirty: false,
  readOnly: false,
  serverErrors: {},
  lastTag: null,
  revision: null,
  hasDraft: false,
  sync: "saved",
  conflictRevision: null,
  syncError: null,

  load: (workflow, readOnly = false) => {
    const canvas = definitionToCanvas(workflow.definition);
    set({
      workflowId: workflow.id,
      name: workflow.name,
      version: workflow.version ?? null,
      ...canvas,
      past: [],
      future: [],
      dirty: false,
      readOnly,
      serverErrors: {},
      lastTag: null,
      revision: workflow.revision ?? null,
      hasDraft: workflow.hasDraft ?? false,
      sync: "saved",
      conflictRevision: null,
      syncError: null,
    });
  },
  definition: () => canvasToDefinition(snapshot(get())),
  setName: (name) => set({ name, dirty: true }),
  markSaved: (version) => set({ version, dirty: false, serverErrors: {} }),
  markDraftSaved: (revision, sent, errors) =>
    set((s) => {
      const unchanged = s.nodes === sent.nodes && s.edges === sent.edges && s.name === sent.name;
      return { revision, hasDraft: true, dirty: !unchanged, serverErrors: errors, sync: unchanged ? "saved" : "pending", conflictRevision: null, syncError: null };
    }),
  setSync: (sync, detail = {}) => set({ sync, conflictRevision: detail.conflictRevision ?? null, syncError: detail.error ?? null }),

  checkpoint: (tag) => {
    const state = get();
    if (tag && tag === state.lastTag) return;
    set({ past: [...state.past, snapshot(state)].slice(-HISTORY), future: [], lastTag: tag ?? null });
  },

  onNodesChange: (changes) => {
    if (get().readOnly) changes = changes.filter((c) => c.type === "select" || c.type === "dimensions");
    if (changes.some((c) => c.type === "remove")) get().checkpoint();
    const structural = changes.some((c) => c.type !== "select" && c.type !== "dimensions");
    set((s) => ({ nodes: applyNodeChanges(changes, s.nodes), dirty: s.dirty || structural }));
  },
  onEdgesChange: (changes) => {
    if (get().readOnly) changes = changes.filter((c) => c.type === "select");
    if (changes.some((c) => c.type === "remove")) get().checkpoint();
    const structural = changes.some((c) => c.type !== "select");
    set((s) => ({ edges: applyEdgeChanges(changes, s.edges), dirty: s.dirty || structural }));
  },
  connect: (connection) => {
    if (get().readOnly || connection.source === connection.target) return;
    get().checkpoint();
    set((s) => ({
      edges: addEdge({ ...connection, id: freshEdgeId(s.edges.map((e) => e.id)) }, s.edges),
      dirty: true,
    }));
  },
  addNode: (type, position, data = {}) => {
    get().checkpoint();
    const id = freshNodeId(type, get().nodes.map((n) => n.id));
    set((s) => ({
      nodes: [...s.nodes.map((n) => ({ ...n, selected: false })), { id, type, position, data, selected: true }],
      dirty: true,
    }));
    return id;
  },
  addNodeAfter: (type, sourceId, sourceHandle) => {
    const { nodes, edges } = get();
    const source = nodes.find((n) => n.id === sourceId);
    if (!source) return get().addNode(type, { x: 100, y: 100 });
    const id = get().addNode(type, positionAfter(source, nodes));
    const edge = { id: freshEdgeId(edges.map((e) => e.id)), source: sourceId, target: id, ...(sourceHandle ? { sourceHandle } : {}) };
    set((s) => ({ edges: [...s.edges, edge] }));
    return id;
  },
  addNote: (position) => {
    if (get().readOnly || get().nodes.filter((n) => n.type === STICKY_TYPE).length >= MAX_NOTES) return null;
    get().checkpoint();
    const id = freshNodeId("note", get().nodes.map((n) => n.id));
    const note = { id, type: STICKY_TYPE, position, data: { text: "" }, ...NOTE_SIZE, zIndex: NOTE_Z, selected: true };
    set((s) => ({ nodes: [...s.nodes.map((n) => ({ ...n, selected: false })), note], dirty: true }));
    return id;
  },
  updateNodeData: (id, field, value) => {
    get().checkpoint(`data:${id}:${field}`);
    set((s) => {
      const errors = { ...s.serverErrors };
      if (errors[id]?.[field]) {
        const { [field]: _gone, ...rest } = errors[id];
        void _gone;
        errors[id] = rest;
      }
      return {
        nodes: s.nodes.map((n) => {
          if (n.id !== id) return n;
          const data = { ...n.data };
          if (value === undefined) delete data[field];
          else data[field] = value;
          return { ...n, data };
        }),
        dirty: true,
        serverErrors: errors,
      };
    });
  },
  deleteSelected: () => {
    const { nodes, edges, readOnly } = get();
    if (readOnly) return;
    const gone = new Set(nodes.filter((n) => n.selected).map((n) => n.id));
    if (!gone.size && !edges.some((e) => e.selected)) return;
    get().checkpoint();
    set({
      nodes: nodes.filter((n) => !gone.has(n.id)),
      edges: edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target)),
      dirty: true,
    });
  },
  selectAll: () => set((s) => ({ nodes: s.nodes.map((n) => ({ ...n, selected: true })), edges: s.edges.map((e) => ({ ...e, selected: true })) })),
  select: (id) => set((s) => ({ nodes: s.nodes.map((n) => ({ ...n, selected: n.id === id })), edges: s.edges.map((e) => ({ ...e, selected: false })) })),
  copy: () => {
    const { nodes, edges } = get();
    const picked = nodes.filter((n) => n.selected);
    if (picked.length) set({ clipboard: { nodes: picked, edges } });
  },
  paste: () => {
    const { clipboard, nodes, edges, readOnly } = get();
    if (!clipboard || readOnly) return;
    get().checkpoint();
    const copy = duplicateSelection(clipboard.nodes, clipboard.edges, { nodes: nodes.map((n) => n.id), edges: edges.map((e) => e.id) });
    set({
      nodes: [...nodes.map((n) => ({ ...n, selected: false })), ...copy.nodes],
      edges: [...edges, ...copy.edges],
      clipboard: { nodes: copy.nodes, edges: copy.edges },
      dirty: true,
    });
  },
  undo: () => {
    const { past, future } = get();
    const previous = past[past.length - 1];
    if (!previous) return;
    set((s) => ({ ...previous, past: past.slice(0, -1), future: [snapshot(s), ...future], dirty: true, lastTag: null }));
  },
  redo: () => {
    const { past, future } = get();
    const next = future[0];
    if (!next) return;
    set((s) => ({ ...next, past: [...past, snapshot(s)], future: future.slice(1), dirty: true, lastTag: null }));
  },
  layout: () => {
    get().checkpoint();
    set((s) => ({ nodes: autoLayout(s.nodes, s.edges), dirty: true }));
  },
  setServerErrors: (serverErrors) => set({ serverErrors }),
}));
