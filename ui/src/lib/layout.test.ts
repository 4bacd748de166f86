import { describe, expect, it } from "vitest";
import branch from "../../../examples/branch.json";
import type { WorkflowDefinition } from "../api/types";
import { definitionToCanvas } from "./canvas";
import { autoLayout } from "./layout";

describe("auto-layout", () => {
  it("places every node to the right of its sources", () => {
    const { nodes, edges } = definitionToCanvas(branch as WorkflowDefinition);
    const laid = new Map(autoLayout(nodes, edges).map((n) => [n.id, n.position]));
    for (const edge of edges) expect(laid.get(edge.target)!.x).toBeGreaterThan(laid.get(edge.source)!.x);
  });
});
