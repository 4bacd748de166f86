import { describe, expect, it } from "vitest";
import { branchHandles } from "./handles";

describe("branch handles", () => {
  it("labels the branches of branching node types", () => {
    expect(branchHandles("conditional", {})).toEqual(["true", "false"]);
    expect(branchHandles("switch", { cases: [{ handle: "a", value: 1 }, { handle: "b", value: 2 }] })).toEqual(["a", "b", "default"]);
    expect(branchHandles("user_input", { mode: "approval" })).toEqual(["approved", "rejected"]);
    expect(branchHandles("user_input", { mode: "form" })).toEqual([]);
    expect(branchHandles("echo", {})).toEqual([]);
  });

  it("falls back to the handles the catalogue lists", () => {
    const info = { type: "router", name: "", category: "", description: "", config: {}, outputs: { handles: ["x", "y"] } };
    expect(branchHandles("router", {}, info)).toEqual(["x", "y"]);
    expect(branchHandles("echo", {}, { ...info, outputs: { handles: ["default"] } })).toEqual([]);
  });
});
