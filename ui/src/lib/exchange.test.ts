import { describe, expect, it } from "vitest";
import branch from "../../../examples/branch.json";
import { parseWorkflowFile, workflowFile } from "./exchange";

describe("workflow export/import", () => {
  it("round-trips a named workflow", () => {
    expect(parseWorkflowFile(workflowFile("Orders", branch))).toEqual({ name: "Orders", definition: branch });
  });

  it("imports a bare definition named after its file", () => {
    expect(parseWorkflowFile(JSON.stringify(branch), "branch.json")).toEqual({ name: "branch", definition: branch });
  });

  it("keeps the sticky notes of a bare definition", () => {
    const withNotes = { ...branch, notes: [{ id: "note", text: "why", position: { x: 0, y: 0 } }] };
    expect(parseWorkflowFile(JSON.stringify(withNotes), "n.json").definition).toEqual(withNotes);
  });

  it("rejects what is not a workflow", () => {
    expect(() => parseWorkflowFile("[1]")).toThrow(/not a workflow/);
  });
});
