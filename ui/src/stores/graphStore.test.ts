import { beforeEach, describe, expect, it } from "vitest";
import branch from "../../../examples/branch.json";
import type { WorkflowDefinition } from "../api/types";
import { useGraphStore } from "./graphStore";

const store = () => useGraphStore.getState();

describe("graphStore", () => {
  beforeEach(() => store().load({ id: "w1", name: "Orders", definition: branch as WorkflowDefinition }));

  it("loads a definition and gives it back unchanged", () => {
    expect(store().definition()).toEqual(branch);
    expect(store().dirty).toBe(false);
  });

  it("adds, connects, undoes and redoes", () => {
    const id = store().addNode("echo", { x: 0, y: 0 });
    expect(id).toBe("echo");
    store().connect({ source: "result", target: id, sourceHandle: null, targetHandle: null });
    expect(store().edges).toHaveLength(7);
    store().undo();
    expect(store().edges).toHaveLength(6);
    store().undo();
    expect(store().nodes.map((n) => n.id)).not.toContain("echo");
    store().redo();
    store().redo();
    expect(store().edges).toHaveLength(7);
    expect(store().dirty).toBe(true);
  });

  it("groups successive edits of one field into one undo step", () => {
    store().updateNodeData("big", "value", "a");
    store().updateNodeData("big", "value", "ab");
    store().updateNodeData("big", "value", "abc");
    expect(store().definition().nodes!.big.data).toEqual({ value: "abc" });
    store().undo();
    expect(store().definition().nodes!.big.data).toEqual({ value: "large order of ${inputs.amount}" });
  });

  it("deletes the selection with its edges, and pastes copies", () => {
    store().select("join");
    store().copy();
    store().paste();
    expect(store().nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(["echo"]);
    store().select("join");
    store().deleteSelected();
    expect(store().nodes.map((n) => n.id)).not.toContain("join");
    expect(store().edges.some((e) => e.source === "join" || e.target === "join")).toBe(false);
  });

  it("clears a server error on the field once it is edited", () => {
    store().setServerErrors({ check: { expression: "required" } });
    store().updateNodeData("check", "expression", "amount > 1");
    expect(store().serverErrors.check).toEqual({});
  });

  it("quick-adds a node after another, wired from it, in one undo step", () => {
    const id = store().addNodeAfter("transform", "check", "true");
    const added = store().nodes.find((n) => n.id === id)!;
    expect(added.selected).toBe(true);
    expect(added.position.x).toBeGreaterThan(store().nodes.find((n) => n.id === "check")!.position.x);
    expect(store().edges.at(-1)).toMatchObject({ source: "check", target: id, sourceHandle: "true" });
    store().undo();
    expect(store().nodes.map((n) => n.id)).not.toContain(id);
    expect(store().edges).toHaveLength(6);
  });

  it("keeps sticky notes in the definition's notes, not its nodes", () => {
    const id = store().addNote({ x: 10, y: 20 })!;
    store().updateNodeData(id, "text", "Checks the amount");
    const definition = store().definition();
    expect(Object.keys(definition.nodes!)).not.toContain(id);
    expect(definition.notes).toEqual([{ id, text: "Checks the amount", position: { x: 10, y: 20 }, width: 220, height: 140 }]);
    store().load({ id: "w1", name: "Orders", definition });
    expect(store().definition()).toEqual(definition);
  });

  it("refuses more notes than the server accepts", () => {
    for (let i = 0; i < 100; i++) expect(store().addNote({ x: i, y: 0 })).not.toBeNull();
    expect(store().addNote({ x: 0, y: 0 })).toBeNull();
  });
});

describe("draft bookkeeping", () => {
  beforeEach(() => store().load({ id: "w1", name: "Orders", definition: branch as WorkflowDefinition, revision: 3 }));

  it("keeps edits made while a save was in flight dirty", () => {
    store().setName("First");
    const sent = { nodes: store().nodes, edges: store().edges, name: store().name };
    store().markDraftSaved(4, sent, {});
    expect(store()).toMatchObject({ revision: 4, dirty: false, hasDraft: true, sync: "saved" });
    store().setName("Second");
    const late = { nodes: store().nodes, edges: store().edges, name: "First" };
    store().markDraftSaved(5, late, { check: { expression: "This is required." } });
    expect(store()).toMatchObject({ revision: 5, dirty: true, sync: "pending" });
    expect(store().serverErrors.check.expression).toBe("This is required.");
  });
});
