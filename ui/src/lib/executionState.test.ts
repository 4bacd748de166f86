import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ExecutionEvent } from "../api/types";
import { describeEvent, evolve, fold, parseLog, type ExecutionView } from "./executionState";

const recorded = (name: string) => parseLog(readFileSync(join(__dirname, "fixtures", name), "utf8"));

describe("execution-state reducer fed with recorded logs", () => {
  it("follows a branch: taken side completes, the other is skipped", () => {
    const log = recorded("branch.jsonl");
    const state = fold(log)!;
    expect(state.status).toBe("completed");
    expect(state.nodes.check.handles).toEqual(["true"]);
    expect(state.nodes.big.status).toBe("completed");
    expect(state.nodes.small.status).toBe("skipped");
    expect(state.outputs).toEqual({ result: "large order of 250" });
    expect(state.lastSeq).toBe(log[log.length - 1].seq);
  });

  it("shows each node's state at any earlier point (the scrubber)", () => {
    const log = recorded("branch.jsonl");
    expect(fold(log, 1)!.nodes.start.status).toBe("pending");
    expect(fold(log, 2)!.nodes.start.status).toBe("running");
    expect(fold(log, 3)!.nodes.start.status).toBe("completed");
    expect(fold(log, 3)!.status).toBe("running");
  });

  it("counts retries and keeps every attempt", () => {
    const log = recorded("retry.jsonl");
    const retrying = log.findIndex((r) => r.event.type === "node.retrying") + 1;
    const mid = fold(log, retrying)!;
    expect(mid.nodes.flaky).toMatchObject({ status: "retrying", attempt: 2 });
    expect(mid.nodes.flaky.error?.message).toContain("attempt 1");
    const done = fold(log)!;
    expect(done.nodes.flaky.status).toBe("completed");
    expect(done.nodes.flaky.attempts.map((a) => a.status)).toEqual(["failed", "failed", "completed"]);
  });

  it("surfaces what a waiting human-input node asks", () => {
    const state = fold(recorded("approval-waiting.jsonl"))!;
    expect(state.nodes.approve.status).toBe("waiting");
    expect(state.nodes.approve.request).toMatchObject({ mode: "approval", prompt: "Approve a refund of 5?" });
  });

  it("pauses and resumes; nodes finishing while paused are recorded; nothing after the end", () => {
    const log = recorded("approval-waiting.jsonl");
    let state = fold(log)!;
    state = evolve(state, { type: "execution.pause_requested", requested_at: "2026-01-01T00:00:00Z" })!;
    expect(state.status).toBe("paused");
    expect(describeEvent({ type: "execution.pause_requested", requested_at: "2026-01-01T00:00:00Z" })).toBe("execution paused");
    state = evolve(state, { type: "node.completed", node_id: "approve", attempt: 1, completed_at: "2026-01-01T00:00:01Z", output: {} })!;
    expect(state.nodes.approve.status).toBe("completed");
    state = evolve(state, { type: "execution.resumed", resumed_at: "2026-01-01T00:00:02Z" })!;
    expect(state.status).toBe("running");
    state = evolve(state, { type: "execution.cancelled", cancelled_at: "2026-01-01T00:00:03Z" })!;
    state = evolve(state, { type: "execution.resumed", resumed_at: "2026-01-01T00:00:04Z" })!;
    expect(state.status).toBe("cancelled");
  });

  it("ignores duplicates, unknown nodes and anything after the end", () => {
    const log = recorded("branch.jsonl");
    let state = fold(log)!;
    const again = log.reduce<ExecutionView | null>((s, r) => evolve(s, r.event, r.seq), state)!;
    expect(again.nodes).toEqual(state.nodes);
    state = evolve(state, { type: "node.skipped", node_id: "nope" })!;
    expect(state.status).toBe("completed");
  });

  it("appends streamed tokens to a node, including those landing just after it completed", () => {
    const log = recorded("branch.jsonl");
    let state = fold(log, 2)!;
    state = evolve(state, { type: "node:stream", node_id: "start", text: "Hel" })!;
    state = evolve(state, { type: "node:stream", node_id: "start", token: "lo" })!;
    expect(state.nodes.start.streamed).toBe("Hello");
    state = evolve(state, log[2].event, log[2].seq)!;
    expect(evolve(state, { type: "node:stream", node_id: "start", text: "!" })!.nodes.start.streamed).toBe("Hello!");
    const ended = fold(log)!;
    expect(evolve(ended, { type: "node:stream", node_id: "small", text: "x" })!.nodes.small.streamed).toBe("");
  });

  it("keeps tokens that outran the node's start, and starts a retry's text afresh", () => {
    const log = recorded("branch.jsonl");
    let state = fold(log, 1)!;
    expect(state.nodes.start.status).toBe("pending");
    state = evolve(state, { type: "node:stream", node_id: "start", text: "ech" })!;
    state = evolve(state, log[1].event, log[1].seq)!;
    expect(state.nodes.start).toMatchObject({ status: "running", streamed: "ech" });
    const retried = evolve(
      { ...state, nodes: { ...state.nodes, start: { ...state.nodes.start, status: "retrying" } } },
      { ...(log[1].event as Extract<ExecutionEvent, { type: "node.scheduled" }>), attempt: 2 },
      99,
    )!;
    expect(retried.nodes.start).toMatchObject({ status: "running", attempt: 2, streamed: "" });
  });

  it("lets node events from a newer server pass without changing any status", () => {
    const log = recorded("branch.jsonl");
    const before = fold(log, 2)!;
    const future = { type: "node.teleported", node_id: "start", attempt: 1 } as unknown as ExecutionEvent;
    const after = evolve(before, future, 99)!;
    expect(after.nodes).toEqual(before.nodes);
    expect(after.lastSeq).toBe(99);
    expect(describeEvent(future)).toBe("start node.teleported");
  });

  it("records progress steps and child executions of the current attempt", () => {
    let state = fold(recorded("branch.jsonl"), 2)!;
    const at = "2026-01-01T00:00:00Z";
    state = evolve(state, { type: "node.progress", node_id: "start", attempt: 1, key: "tool-1", data: { ok: true }, recorded_at: at })!;
    state = evolve(state, { type: "node.progress", node_id: "start", attempt: 1, key: "tool-1", recorded_at: at })!;
    state = evolve(state, { type: "child.started", node_id: "start", attempt: 1, index: 1, execution_id: "c1" })!;
    state = evolve(state, { type: "child.started", node_id: "start", attempt: 1, index: 0, execution_id: "c0" })!;
    state = evolve(state, { type: "child.finished", node_id: "start", attempt: 1, index: 0, execution_id: "c0", status: "completed" })!;
    expect(state.nodes.start.status).toBe("running");
    expect(state.nodes.start.progress).toEqual([{ key: "tool-1", data: { ok: true } }]);
    expect(state.nodes.start.children).toEqual([
      { index: 0, executionId: "c0", status: "completed" },
      { index: 1, executionId: "c1", status: "running" },
    ]);
  });

  it("describes events for the timeline", () => {
    const log = recorded("branch.jsonl");
    expect(log.map((r) => describeEvent(r.event))).toContain("check completed → true");
  });
});

describe("an ended execution leaves no node waiting or pending", () => {
  it("settles a waiting node as cancelled and unstarted ones as skipped on cancel", () => {
    const log = recorded("approval-waiting.jsonl");
    const last = log[log.length - 1].seq;
    const cancelled = { type: "execution.cancelled", cancelled_at: "2026-11-25T21:54:00Z" } as ExecutionEvent;
    const state = evolve(fold(log), cancelled, last + 1)!;
    expect(state.status).toBe("cancelled");
    expect(state.nodes.start.status).toBe("completed");
    expect(state.nodes.approve.status).toBe("cancelled");
    expect(state.nodes.approve.request).toBeNull();
    expect(state.nodes.approve.attempts.at(-1)?.status).toBe("cancelled");
    expect(Object.values(state.nodes).map((n) => n.status)).not.toContain("pending");
    expect(Object.values(state.nodes).map((n) => n.status)).not.toContain("waiting");
  });

  it("settles nodes still running when another one fails the execution", () => {
    const log = recorded("approval-waiting.jsonl");
    const failed = { type: "execution.failed", failed_at: "2026-11-25T21:54:00Z", node_id: "start", error: { message: "x" } } as ExecutionEvent;
    const state = evolve(fold(log), failed)!;
    expect(state.nodes.approve.status).toBe("cancelled");
    expect(new Set(Object.values(state.nodes).map((n) => n.status))).toEqual(new Set(["completed", "cancelled", "skipped"]));
  });
});
