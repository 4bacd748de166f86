import { describe, expect, it } from "vitest";
import type { Batch, BatchCounts } from "../api/types";
import { batchFromMessage, batchSummary, csvHeader, endedRows, isBatchOver, progressSegments, resultsPath } from "./batches";

const counts = (over: Partial<BatchCounts>): BatchCounts => ({
  queued: 0, pending: 0, running: 0, paused: 0, completed: 0, failed: 0, cancelled: 0, ...over,
});

describe("batch progress", () => {
  it("draws non-empty statuses, ended first, as shares of all rows", () => {
    const segments = progressSegments(counts({ completed: 5, failed: 1, running: 2, queued: 2 }), 10);
    expect(segments.map((s) => [s.status, s.count, s.percent])).toEqual([
      ["completed", 5, 50],
      ["failed", 1, 10],
      ["running", 2, 20],
      ["queued", 2, 20],
    ]);
    expect(progressSegments(counts({}), 0)).toEqual([]);
  });

  it("counts ended rows and says when the batch is over", () => {
    expect(endedRows(counts({ completed: 3, failed: 2, cancelled: 1, running: 4 }))).toBe(6);
    expect(isBatchOver("completed")).toBe(true);
    expect(isBatchOver("cancelled")).toBe(true);
    expect(isBatchOver("cancelling")).toBe(false);
    expect(isBatchOver("running")).toBe(false);
    expect(batchSummary({ total: 4, counts: counts({ completed: 3, running: 1 }) })).toBe("3/4 ended · 3 completed · 1 running");
  });
});

describe("batch live messages", () => {
  const batch = { id: "b1", counts: counts({ queued: 1 }), total: 1, status: "running" } as Batch;

  it("carry the batch, and say when it ended", () => {
    expect(batchFromMessage("batch:progress", JSON.stringify(batch))).toEqual({ batch, ended: false });
    expect(batchFromMessage("batch:ended", JSON.stringify(batch))?.ended).toBe(true);
  });

  it("ignore other types and malformed data", () => {
    expect(batchFromMessage("node:completed", JSON.stringify(batch))).toBeNull();
    expect(batchFromMessage("batch:progress", "{not json")).toBeNull();
    expect(batchFromMessage("batch:progress", "{}")).toBeNull();
  });
});

describe("CSV header preview", () => {
  it("reads the first row, with quotes and escaped quotes", () => {
    expect(csvHeader('n,"full, name","say ""hi"""\r\n1,2,3')).toEqual(["n", "full, name", 'say "hi"']);
    expect(csvHeader(" a , b \n")).toEqual(["a", "b"]);
    expect(csvHeader("")).toEqual([]);
  });

  it("builds download paths", () => {
    expect(resultsPath("b/1", "csv")).toBe("/api/batches/b%2F1/results?format=csv");
  });
});
