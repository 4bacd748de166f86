import { describe, expect, it } from "vitest";
import type { Trigger } from "../api/types";
import { EMPTY_FORM, describeTrigger, fireLabel, publishHint, relativeTime, triggerBody } from "./triggers";

const base: Trigger = {
  id: "t1",
  workflow_id: "w1",
  name: "t",
  kind: "schedule",
  inputs: {},
  paused: false,
  created_at: "",
  updated_at: "",
  next_fires: [],
  last_fires: [],
};

describe("the trigger form", () => {
  it("makes a schedule body with parsed inputs", () => {
    const made = triggerBody("w1", { ...EMPTY_FORM, name: " nightly ", inputs: '{"amount": 5}', cron: "0 2 * * *", timezone: "Europe/Paris" });
    expect(made).toEqual({
      body: {
        workflow_id: "w1",
        name: "nightly",
        kind: "schedule",
        inputs: { amount: 5 },
        schedule: { cron: "0 2 * * *", timezone: "Europe/Paris", missed: "skip" },
      },
    });
  });

  it("makes webhook and event bodies", () => {
    const hook = triggerBody("w1", { ...EMPTY_FORM, kind: "webhook", name: "h", mode: "sync", secret: "0123456789abcdef" });
    expect(hook).toMatchObject({ body: { webhook: { mode: "sync", secret: "0123456789abcdef" } } });
    const event = triggerBody("w1", { ...EMPTY_FORM, kind: "event", name: "e", subject: "orders.>" });
    expect(event).toMatchObject({ body: { event: { subject: "orders.>" } } });
  });

  it("names each problem", () => {
    expect(triggerBody("w1", { ...EMPTY_FORM, name: "", inputs: "[1]", cron: "0 *" })).toEqual({
      errors: { name: "required", inputs: "a JSON object", cron: "5 fields (or 6, seconds first)" },
    });
    expect(triggerBody("w1", { ...EMPTY_FORM, kind: "event", name: "e", subject: "a.>.b" })).toMatchObject({ errors: { subject: expect.any(String) } });
    expect(triggerBody("w1", { ...EMPTY_FORM, kind: "webhook", name: "h", secret: "short" })).toMatchObject({ errors: { secret: expect.any(String) } });
  });
});

describe("trigger summaries", () => {
  it("say what fires each kind", () => {
    expect(describeTrigger({ ...base, schedule: { cron: "0 9 * * 1-5", timezone: "UTC", missed: "run_once" } })).toBe(
      "cron 0 9 * * 1-5 (UTC), missed runs: once",
    );
    const webhook = { url: "/api/hooks/abc", mode: "sync" as const, timeout_seconds: 30, signed: true, signature_header: "", timestamp_header: "", replay_window_seconds: 300, headers: {} };
    expect(describeTrigger({ ...base, kind: "webhook", webhook }, "https://x")).toBe("POST https://x/api/hooks/abc (signed), waits for outputs");
    expect(describeTrigger({ ...base, kind: "event", event: { subject: "a.*", filter: "fm.tenant.u.events.a.*" } })).toBe("messages on fm.tenant.u.events.a.*");
  });

  it("say how to publish to an event trigger, and only to one", () => {
    const event = { subject: "orders.*.>", filter: "fm.tenant.u.events.orders.*.>" };
    expect(publishHint({ ...base, kind: "event", event }, "https://x")).toBe(
      "POST https://x/api/events/orders.example.example with a JSON object (your bearer token)",
    );
    expect(publishHint(base)).toBeNull();
  });

  it("tell times relative to now, and what became of a fire", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(relativeTime("2026-01-01T00:05:00Z", now)).toBe("in 5 min");
    expect(relativeTime("2025-12-31T22:00:00Z", now)).toBe("2 h ago");
    expect(relativeTime("2026-01-01T00:00:30Z", now)).toBe("in 30 s");
    expect(fireLabel({ fire_key: "k", outcome: "skipped", fired_at: "", detail: "missed" })).toBe("skipped — missed");
  });
});
