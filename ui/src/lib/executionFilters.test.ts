import { describe, expect, it } from "vitest";
import { apiQuery, cancellable, readFilters, withFilter, writeFilters } from "./executionFilters";

describe("executions list filters", () => {
  it("reads known values from the URL and ignores the rest", () => {
    const filters = readFilters(new URLSearchParams("workflow=w1&status=failed&source=webhook&page=3"));
    expect(filters).toEqual({ workflowId: "w1", status: "failed", source: "webhook", test: undefined, page: 3 });
    expect(readFilters(new URLSearchParams("test=1")).test).toBe(true);
    expect(readFilters(new URLSearchParams("status=exploded&source=cron&page=-2"))).toEqual({
      workflowId: undefined,
      status: undefined,
      source: undefined,
      test: undefined,
      page: 1,
    });
    expect(readFilters(new URLSearchParams("page=abc")).page).toBe(1);
  });

  it("round-trips through the URL, leaving defaults out", () => {
    const filters = { workflowId: "w1", source: "batch" as const, page: 2 };
    expect(writeFilters(filters).toString()).toBe("workflow=w1&source=batch&page=2");
    expect(readFilters(writeFilters(filters))).toEqual({ ...filters, status: undefined, test: undefined });
    expect(writeFilters({ page: 1, test: true }).toString()).toBe("test=1");
    expect(writeFilters({ page: 1 }).toString()).toBe("");
  });

  it("asks the API for one page with the filters", () => {
    expect(apiQuery({ page: 2, status: "running", source: "manual" }, 10)).toBe("page=2&limit=10&status=running&source=manual");
    expect(apiQuery({ page: 1, workflowId: "a b" })).toBe("page=1&limit=20&workflow_id=a+b");
    expect(apiQuery({ page: 1, test: true })).toBe("page=1&limit=20&test=true");
  });

  it("goes back to the first page when a filter changes", () => {
    expect(withFilter({ page: 4, status: "failed" }, { source: "schedule" })).toEqual({ page: 1, status: "failed", source: "schedule" });
  });

  it("offers cancel only while a run is under way", () => {
    expect(["pending", "running", "paused"].every(cancellable)).toBe(true);
    expect(["completed", "failed", "cancelled"].some(cancellable)).toBe(false);
  });
});
