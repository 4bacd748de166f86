import { describe, expect, it } from "vitest";
import branch from "../../../examples/branch.json";
import type { WorkflowDefinition } from "../api/types";
import { applyCompletion, availableReferences, completeReference, previewReferences, resolveReferences, samplePaths, sampleText, upstreamNodes } from "./references";

const definition = branch as WorkflowDefinition;

describe("available references", () => {
  it("lists upstream nodes nearest first", () => {
    expect(upstreamNodes(definition, "result")).toEqual(["join", "big", "small", "check", "start"]);
    expect(upstreamNodes(definition, "start")).toEqual([]);
  });

  it("offers inputs, variables and upstream outputs only", () => {
    const withVar: WorkflowDefinition = {
      ...definition,
      nodes: { ...definition.nodes, v: { id: "v", type: "variable", data: { name: "total", value: 1 } } },
    };
    const texts = availableReferences(withVar, "big").map((o) => o.text);
    expect(texts).toEqual(["${inputs.amount}", "${vars.total}", "${check.output}", "${start.output}"]);
  });
});

describe("reference autocomplete", () => {
  const options = availableReferences(definition, "join");

  it("suggests nothing outside a reference", () => {
    expect(completeReference("hello", 5, options)).toBeNull();
    expect(completeReference("${inputs.amount} done", 20, options)).toBeNull();
    expect(completeReference("$${lit", 6, options)).toBeNull();
  });

  it("filters by what was typed after ${", () => {
    const c = completeReference("order ${ch", 10, options)!;
    expect(c.from).toBe(6);
    expect(c.options.map((o) => o.text)).toEqual(["${check.output}"]);
    expect(applyCompletion("order ${ch", c, c.options[0])).toEqual({ text: "order ${check.output}", caret: 21 });
  });

  it("replaces an existing closing brace instead of doubling it", () => {
    const text = "x ${in} y";
    const c = completeReference(text, 6, options)!;
    expect(applyCompletion(text, c, c.options[0]).text).toBe("x ${inputs.amount} y");
  });

  it("ranks prefix matches before substring matches", () => {
    const c = completeReference("${", 2, options)!;
    expect(c.options.length).toBe(options.length);
    const d = completeReference("${output", 8, options)!;
    expect(d.options[0].text).toBe("${big.output}");
  });
});

describe("resolving references for the inspector", () => {
  const scope = { inputs: { amount: 250 }, vars: { total: 3 }, outputs: { check: { result: true, items: [{ name: "a" }] } } };

  it("keeps the type of a whole reference and stringifies embedded ones", () => {
    expect(resolveReferences("${inputs.amount}", scope)).toBe(250);
    expect(resolveReferences("large order of ${inputs.amount}", scope)).toBe("large order of 250");
    expect(resolveReferences({ a: ["${check.output.items[0].name}", "${vars.total}"] }, scope)).toEqual({ a: ["a", 3] });
    expect(resolveReferences("x ${check.output} y", scope)).toBe('x {"result":true,"items":[{"name":"a"}]} y');
  });

  it("leaves what cannot be resolved yet, and literal $${", () => {
    expect(resolveReferences("${later.output}", scope)).toBe("${later.output}");
    expect(resolveReferences("$${inputs.amount}", scope)).toBe("${inputs.amount}");
  });
});

describe("completion into a recorded run's values", () => {
  const sample = {
    inputs: { amount: 250 },
    vars: {},
    outputs: { check: { result: true, data: { amount: 250, lines: [{ sku: "A-1", "unit price": 2 }] } }, big: "large order of 250" },
  };
  const options = availableReferences(definition, "join", sample);
  const texts = (typed: string) => completeReference(typed, typed.length, options)!.options.map((o) => o.text);

  it("offers the paths inside recorded outputs, each with its value", () => {
    expect(options.find((o) => o.text === "${check.output.data.amount}")?.detail).toBe("number · 250");
    expect(options.find((o) => o.text === "${big.output}")?.detail).toBe('output of echo big · "large order of 250"');
    expect(options.find((o) => o.text === "${inputs.amount}")?.detail).toBe("number · 250");
  });

  it("unfolds one level at a time", () => {
    expect(texts("${check.output.")).toEqual(["${check.output.result}", "${check.output.data}"]);
    expect(texts("${check.output.data.")).toEqual(["${check.output.data.amount}", "${check.output.data.lines}"]);
    expect(texts("${check.output.data.lines")).toEqual(["${check.output.data.lines}", "${check.output.data.lines[0]}"]);
    expect(texts("${check.output.data.lines[0]")).toEqual([
      "${check.output.data.lines[0]}",
      "${check.output.data.lines[0].sku}",
      '${check.output.data.lines[0]["unit price"]}',
    ]);
    expect(texts("${")).not.toContain("${check.output.data.amount}");
  });

  it("shows a sample value in one short line, however large it is", () => {
    expect(sampleText({ a: [1, "x"], b: null })).toBe('{"a":[1,"x"],"b":null}');
    expect(sampleText("é".repeat(100), 10)).toBe(`"${"é".repeat(8)}…`);
    const huge = Array.from({ length: 200_000 }, (_, i) => ({ i }));
    const started = performance.now();
    expect(sampleText(huge)).toBe('[{"i":0},{"i":1},{"i":2},{"i":3},{"i":4…');
    expect(performance.now() - started).toBeLessThan(50);
  });

  it("bounds the paths taken from one huge value", () => {
    const huge = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, { deep: { deeper: i } }]));
    expect(samplePaths("a.output", huge).length).toBe(60);
    const deep = { a: { a: { a: { a: { a: { a: { a: 1 } } } } } } };
    expect(samplePaths("x", deep).map((p) => p.path).at(-1)).toBe("x.a.a.a.a.a");
  });

  it("previews what a field resolves to and names what it cannot", () => {
    expect(previewReferences("plain text", sample)).toBeNull();
    expect(previewReferences("${check.output.data.lines[0].sku}", sample)).toEqual({ value: "A-1", unresolved: [] });
    expect(previewReferences("total ${inputs.amount} for ${later.output}", sample)).toEqual({
      value: "total 250 for ${later.output}",
      unresolved: ["${later.output}"],
    });
  });
});
