import { describe, expect, it } from "vitest";
import {
  ancestors,
  canRerun,
  canRetryFrom,
  effectLabel,
  effectsPath,
  entryNodes,
  mergeEffects,
  NEW_RUN,
  originOf,
  parseUpstream,
  retryFrom,
  testOutcome,
  upstreamTemplate,
  type EffectsPreview,
} from "./reruns";

const run = (status: string, nodes: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ status, nodes, ...extra });

describe("run actions", () => {
  it("offers retry only on a failed node of an ended run", () => {
    const failed = run("failed", { a: { status: "completed" }, b: { status: "failed" } });
    expect(canRetryFrom(failed, "b")).toBe(true);
    expect(canRetryFrom(failed, "a")).toBe(false);
    expect(canRetryFrom(failed, undefined)).toBe(false);
    expect(canRetryFrom(run("running", { b: { status: "failed" } }), "b")).toBe(false);
    expect(canRerun(failed)).toBe(true);
    expect(canRerun(run("pending", {}))).toBe(false);
  });

  it("parses hand-edited upstream outputs", () => {
    expect(parseUpstream("")).toEqual({ value: {} });
    expect(parseUpstream('{"a": {"text": "x"}}')).toEqual({ value: { a: { text: "x" } } });
    expect(parseUpstream("[1]").error).toMatch(/object/);
    expect(parseUpstream("{").error).toMatch(/not valid JSON/);
  });

  it("finds every node a node depends on and a template of their outputs", () => {
    const edges = [
      { source: "start", target: "a" },
      { source: "a", target: "b" },
      { source: "b", target: "c" },
      { source: "x", target: "c" },
    ];
    expect(ancestors(edges, "b")).toEqual(["a", "start"]);
    expect(ancestors(edges, "c")).toEqual(["a", "b", "start", "x"]);
    expect(JSON.parse(upstreamTemplate(["a", "start"], run("completed", { a: { output: 1 } })))).toEqual({ a: 1, start: null });
  });

  it("shows a node test's outcome once the test run ended", () => {
    expect(testOutcome(undefined, "b")).toEqual({ state: "running" });
    expect(testOutcome(run("running", { b: { status: "scheduled" } }), "b")).toEqual({ state: "running" });
    expect(testOutcome(run("completed", { b: { status: "completed", output: 3 } }), "b")).toEqual({ state: "completed", output: 3 });
    expect(testOutcome(run("failed", { b: { status: "failed", error: { message: "boom" } } }), "b")).toEqual({ state: "failed", error: "boom" });
    expect(testOutcome(run("completed", { b: { status: "skipped" } }), "b")).toEqual({ state: "skipped" });
  });
});

describe("origin", () => {
  it("names the run a derived run comes from", () => {
    expect(originOf({ origin: { execution_id: "e1", kind: "retry", node_id: "b" } })).toEqual({ label: "retry of", executionId: "e1" });
    expect(originOf({ origin: { execution_id: "e1", kind: "rerun" } })?.label).toBe("re-run of");
    expect(originOf({ origin: { execution_id: null, kind: "test" } })).toBeNull();
    expect(originOf({ origin: null })).toBeNull();
  });
});

describe("side-effect preview", () => {
  const preview = (from: string, effects: EffectsPreview["effects"], unknown: string[] = []): EffectsPreview => ({
    execution_id: "e1",
    from_node: from,
    into: NEW_RUN,
    rerun: [],
    effects,
    unknown,
  });
  const post = { node_id: "post", type: "http", idempotency_key: `${NEW_RUN}:post:1`, attempt: 1 };

  it("asks for a preview of the run as a new one", () => {
    expect(effectsPath("e 1", "b")).toBe(`/api/executions/e%201/effects?from=b&into=${NEW_RUN}`);
  });

  it("re-runs from the nodes no edge leads into", () => {
    const definition = {
      nodes: { start: {}, a: {}, side: {}, b: {} },
      edges: [
        { source: "start", target: "a" },
        { source: "a", target: "b" },
      ],
    };
    expect(entryNodes(definition)).toEqual(["start", "side"]);
    expect(entryNodes({ nodes: { a: {}, b: {} }, edges: [{ source: "a", target: "b" }, { source: "b", target: "a" }] })).toEqual(["a", "b"]);
    expect(entryNodes(undefined)).toEqual([]);
  });

  it("retries from the node and every other failed node", () => {
    const failed = run("failed", { a: { status: "failed" }, b: { status: "failed" }, c: { status: "completed" } });
    expect(retryFrom(failed, "b")).toEqual(["b", "a"]);
    expect(retryFrom(undefined, "b")).toEqual(["b"]);
  });

  it("lists each effect node once across previews", () => {
    const inLoop = { ...post, via: ["loop"], idempotency_key: "x" };
    const merged = mergeEffects([preview("a", [post, inLoop], ["sub"]), preview("b", [post], ["sub"])]);
    expect(merged.effects).toEqual([post, inLoop]);
    expect(merged.unknown).toEqual(["sub"]);
    expect(mergeEffects([])).toEqual({ effects: [], unknown: [] });
    expect(effectLabel(post)).toBe("post (http)");
    expect(effectLabel(inLoop)).toBe("post (http) inside loop");
  });
});
