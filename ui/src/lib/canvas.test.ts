import { describe, expect, it } from "vitest";
import branch from "../../../examples/branch.json";
import type { WorkflowDefinition } from "../api/types";
import { canvasToDefinition, definitionToCanvas, duplicateSelection, freshNodeId } from "./canvas";

describe("definition ↔ canvas", () => {
  it("round-trips an example workflow", () => {
    const definition = branch as WorkflowDefinition;
    const canvas = definitionToCanvas(definition);
    expect(canvas.nodes.map((n) => n.id)).toEqual(["start", "check", "big", "small", "join", "result"]);
    expect(canvas.edges.find((e) => e.id === "e2")?.sourceHandle).toBe("true");
    expect(canvasToDefinition(canvas)).toEqual(definition);
  });

  it("drops canvas-only fields such as selection and measured size", () => {
    const definition = canvasToDefinition({
      nodes: [
        { id: "a", type: "echo", position: { x: 1.4, y: 2.6 }, data: { value: "x", gone: undefined }, selected: true, measured: { width: 10, height: 5 } },
      ],
      edges: [{ id: "e1", source: "a", target: "a", sourceHandle: null, selected: true }],
    });
    expect(definition).toEqual({
      nodes: { a: { id: "a", type: "echo", position: { x: 1, y: 3 }, data: { value: "x" } } },
      edges: [{ id: "e1", source: "a", target: "a" }],
    });
  });

  it("lays out nodes without positions in a row", () => {
    const canvas = definitionToCanvas({ nodes: { a: { id: "a", type: "echo" }, b: { id: "b", type: "echo" } } });
    expect(canvas.nodes.map((n) => n.position)).toEqual([{ x: 0, y: 0 }, { x: 220, y: 0 }]);
  });
});

describe("ids and paste", () => {
  it("derives fresh node ids from the type", () => {
    expect(freshNodeId("llm", [])).toBe("llm");
    expect(freshNodeId("llm", ["llm", "llm-2"])).toBe("llm-3");
    expect(freshNodeId("user_input", [])).toBe("user-input");
  });

  it("pastes copies with new ids, internal edges and renamed references", () => {
    const { nodes, edges } = definitionToCanvas(branch as WorkflowDefinition);
    const picked = nodes.filter((n) => n.id === "join" || n.id === "result");
    const copy = duplicateSelection(picked, edges, { nodes: nodes.map((n) => n.id), edges: edges.map((e) => e.id) });
    expect(copy.nodes.map((n) => n.id)).toEqual(["echo", "output"]);
    expect(copy.nodes[1].data).toEqual({ output: "${echo.output}" });
    expect(copy.edges).toHaveLength(1);
    expect(copy.edges[0]).toMatchObject({ id: "e7", source: "echo", target: "output" });
  });
});
