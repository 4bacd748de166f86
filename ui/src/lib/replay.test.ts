import { describe, expect, it } from "vitest";
import { describeOp, loadReport, nextEffectRoot, replayEffects, reportReady, reportView, type EffectsPreview, type ExecutionReport, type ReplayPlan } from "./replay";

const report: ExecutionReport = {
  execution_id: "e2",
  origin_id: "e1",
  kind: "replay",
  status: "completed",
  original_status: "completed",
  counts: { same: 2, changed: 1, added: 1, removed: 1 },
  nodes: [
    { node_id: "start", verdict: "same", status: "completed", original_status: "completed", reused: true },
    { node_id: "a", verdict: "same", status: "completed", original_status: "completed", reused: true },
    { node_id: "b", verdict: "changed", status: "completed", original_status: "completed", diff: [{ op: "replace", path: "/text", old: "x", value: "y" }] },
    { node_id: "c", verdict: "added", status: "completed" },
    { node_id: "old", verdict: "removed", original_status: "completed" },
  ],
};

const plan: ReplayPlan = { reuse: ["start", "a"], run: ["b", "c", "mail", "result"], changed: ["b"], added: ["c"], removed: ["old"] };

const preview = (from: string, rerun: string[], effects: EffectsPreview["effects"]): EffectsPreview => ({ execution_id: "e1", from_node: from, into: "new-run", rerun, effects });

describe("replay report", () => {
  it("maps verdicts to node cards and keeps removed nodes apart", () => {
    const view = reportView(report);
    expect(view.verdicts.a).toEqual({ verdict: "same", label: "same", reused: true, diff: [] });
    expect(view.verdicts.b.verdict).toBe("changed");
    expect(view.verdicts.b.diff).toHaveLength(1);
    expect(view.verdicts.c.label).toBe("added");
    expect(view.verdicts.old).toBeUndefined();
    expect(view.removed).toEqual(["old"]);
  });

  it("labels a newly run node in words", () => {
    const view = reportView({ ...report, nodes: [{ node_id: "x", verdict: "newly_run", status: "completed", original_status: "skipped" }] });
    expect(view.verdicts.x.label).toBe("newly run");
  });

  it("is asked for only for a derived run that ended", () => {
    expect(reportReady({ status: "completed", origin: { execution_id: "e1" } })).toBe(true);
    expect(reportReady({ status: "running", origin: { execution_id: "e1" } })).toBe(false);
    expect(reportReady({ status: "running", origin: { execution_id: "e1" } }, "failed")).toBe(true);
    expect(reportReady({ status: "completed", origin: null })).toBe(false);
    expect(reportReady(undefined)).toBe(false);
  });

  it("loads the report, null while the run has not ended, other errors thrown", async () => {
    const paths: string[] = [];
    const view = await loadReport(async (path) => (paths.push(path), report), "e2");
    expect(paths).toEqual(["/api/executions/e2/report"]);
    expect(view?.removed).toEqual(["old"]);
    const conflict = Object.assign(new Error("not ended"), { status: 409 });
    expect(await loadReport(() => Promise.reject(conflict), "e2")).toBeNull();
    const gone = Object.assign(new Error("gone"), { status: 404 });
    await expect(loadReport(() => Promise.reject(gone), "e2")).rejects.toThrow("gone");
  });

  it("describes each change of an output", () => {
    expect(describeOp({ op: "replace", path: "/text", old: "x", value: "y" })).toBe('replace /text "x" → "y"');
    expect(describeOp({ op: "add", path: "/n", value: 1 })).toBe("add /n 1");
    expect(describeOp({ op: "remove", path: "", old: null })).toBe("remove / (was null)");
    expect(describeOp({ op: "truncated", path: "/list" })).toBe("… more changes under /list");
  });
});

describe("replay side effects", () => {
  it("previews from the first uncovered node the original has", () => {
    expect(nextEffectRoot(plan, [])).toBe("b");
    expect(nextEffectRoot(plan, [preview("b", ["b", "result"], [])])).toBe("mail");
    expect(nextEffectRoot(plan, [preview("b", ["b", "mail", "result"], [])])).toBeNull();
    expect(nextEffectRoot({ ...plan, run: ["c"] }, [])).toBeNull();
  });

  it("lists the effect nodes the plan runs once each, keyed against the new run", () => {
    const effects = replayEffects(plan, [
      preview("b", ["b", "mail", "result"], [
        { node_id: "mail", type: "email", idempotency_key: "new-run:mail:1", attempt: 1 },
        { node_id: "post", type: "http", idempotency_key: "new-run:loop:1:*:post:1", attempt: 1, via: ["loop"] },
      ]),
      preview("mail", ["mail"], [{ node_id: "mail", type: "email", idempotency_key: "new-run:mail:1", attempt: 1 }]),
    ]);
    expect(effects).toEqual([{ node_id: "mail", type: "email", idempotency_key: "<new run>:mail:1", via: [] }]);
  });
});
