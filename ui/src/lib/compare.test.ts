import { describe, expect, it } from "vitest";
import { changeLine, chainVerdict, type ExecutionDiff, formatPair, formatValue, type NodeDiff, shortJson, summaryRows, visibleNodes } from "./compare";

const node = (over: Partial<NodeDiff>): NodeDiff => ({
  node_id: "n",
  type: "echo",
  only_in: null,
  changed: false,
  status_a: "completed",
  status_b: "completed",
  attempts_a: 1,
  attempts_b: 1,
  duration_ms_a: 5,
  duration_ms_b: 5,
  tokens_a: null,
  tokens_b: null,
  cost_usd_a: null,
  cost_usd_b: null,
  output_changes: [],
  output_truncated: false,
  ...over,
});

const diff: ExecutionDiff = {
  a: "A",
  b: "B",
  workflow_a: "w",
  workflow_b: "w",
  same_definition: true,
  status_a: "completed",
  status_b: "failed",
  duration_ms_a: 1200.4,
  duration_ms_b: 900,
  tokens_a: 10,
  tokens_b: 10,
  cost_usd_a: 0.25,
  cost_usd_b: 1,
  changed_nodes: 1,
  nodes: [node({ node_id: "x" }), node({ node_id: "y", changed: true, status_b: "failed" })],
};

describe("values and pairs", () => {
  it("formats each unit and marks what is missing", () => {
    expect(formatValue(null)).toBe("—");
    expect(formatValue(1234.6, "ms")).toBe("1,235 ms");
    expect(formatValue(0.25, "usd")).toBe("$0.2500");
    expect(formatValue(0.000012, "usd")).toBe("$0.000012");
    expect(formatValue(12000, "count")).toBe("12,000");
  });

  it("shows one value when equal and the change with its delta when not", () => {
    expect(formatPair(3, 3, "count")).toEqual({ text: "3", same: true, delta: null });
    expect(formatPair(null, undefined)).toEqual({ text: "—", same: true, delta: null });
    expect(formatPair(100, 40, "ms")).toEqual({ text: "100 ms → 40 ms", same: false, delta: "−60 ms" });
    expect(formatPair(0.2, 0.4, "ms")).toEqual({ text: "0 ms", same: true, delta: null });
    expect(formatPair("completed", "failed")).toEqual({ text: "completed → failed", same: false, delta: null });
  });
});

describe("output changes", () => {
  it("writes one line per change and shortens long values", () => {
    expect(changeLine({ path: "/a", op: "added", b: 1 })).toBe("+ /a: 1");
    expect(changeLine({ path: "/a/0", op: "removed", a: "x" })).toBe('- /a/0: "x"');
    expect(changeLine({ path: "", op: "changed", a: 1, b: { k: true } })).toBe('~ /: 1 → {"k":true}');
    expect(shortJson("x".repeat(200), 10)).toHaveLength(10);
  });
});

describe("the compare view", () => {
  it("summarises both runs", () => {
    const rows = summaryRows(diff);
    expect(rows.map((r) => [r.label, r.same])).toEqual([
      ["status", false],
      ["duration", false],
      ["tokens", true],
      ["cost", false],
    ]);
    expect(rows[3].delta).toBe("+$0.7500");
  });

  it("lists every node or only the changed ones, in graph order", () => {
    expect(visibleNodes(diff, false).map((n) => n.node_id)).toEqual(["x", "y"]);
    expect(visibleNodes(diff, true).map((n) => n.node_id)).toEqual(["y"]);
  });

  it("says whether each log is intact", () => {
    expect(chainVerdict(undefined).ok).toBeNull();
    const base = { execution_id: "A", messages: 9, stamps: 4, ended: true, verified_through: 9, detected_at_seq: null, uncovered: [], head: "" };
    expect(chainVerdict({ ...base, ok: true, first_bad_seq: null, reason: null })).toEqual({ text: "log intact (9 messages)", ok: true });
    expect(chainVerdict({ ...base, ok: false, first_bad_seq: 5, reason: "changed" }).text).toBe("log tampered at seq 5: changed");
  });
});
