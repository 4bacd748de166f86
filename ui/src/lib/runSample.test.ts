import { describe, expect, it } from "vitest";
import branch from "../../../examples/branch.json";
import type { ExecutionDetail, WorkflowDefinition } from "../api/types";
import { expressionDocument, scopeFromDetail } from "./runSample";

const definition = branch as WorkflowDefinition;

describe("the last run's recorded values", () => {
  const scope = scopeFromDetail({
    id: "x",
    status: "completed",
    inputs: { amount: 250 },
    current_state: { nodes: { start: { amount: 250 }, check: { result: true }, big: "large" }, variables: { n: 1 } },
  } as ExecutionDetail);

  it("reads inputs, variables and completed outputs from the execution API", () => {
    expect(scope).toEqual({ inputs: { amount: 250 }, vars: { n: 1 }, outputs: { start: { amount: 250 }, check: { result: true }, big: "large" } });
  });

  it("gives an expression node the document the executor would: input, else upstream", () => {
    expect(expressionDocument(definition, "check", {}, scope)).toEqual({ amount: 250 });
    expect(expressionDocument(definition, "check", { input: "${inputs.amount}" }, scope)).toBe(250);
    // a join after a branch sees only the branch that ran
    expect(expressionDocument(definition, "join", {}, scope)).toBe("large");
    expect(expressionDocument(definition, "result", {}, scope)).toBeUndefined();
    expect(expressionDocument(definition, "start", {}, scope)).toBeNull();
  });
});
