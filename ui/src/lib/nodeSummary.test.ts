import { describe, expect, it } from "vitest";
import { NODE_TYPES } from "../api/types";
import { NODE_ICONS, nodeIcon, nodeSummary } from "./nodeSummary";

describe("node card summaries", () => {
  it("says what each kind of node does in one short line", () => {
    expect(nodeSummary("llm", { provider: "openai", model: "gpt-4o-mini", prompt: "Summarise\n\n  ${inputs.text}" })).toBe(
      "openai · gpt-4o-mini · Summarise ${inputs.text}",
    );
    expect(nodeSummary("transform", { expression: "items[price > 10].name", language: "jmespath" })).toBe("jmespath · items[price > 10].name");
    expect(nodeSummary("transform", { expression: "$sum(a)" })).toBe("jsonata · $sum(a)");
    expect(nodeSummary("http", { url: "https://api.example.com/v1/orders" })).toBe("GET · https://api.example.com/v1/orders");
    expect(nodeSummary("http", { method: "post", url: "https://x.test" })).toBe("POST · https://x.test");
    expect(nodeSummary("wait", { seconds: 7200 })).toBe("wait 2 h");
    expect(nodeSummary("wait", { seconds: 90 })).toBe("wait 90 s");
    expect(nodeSummary("wait", { until: "2026-12-01T00:00:00Z" })).toBe("until 2026-12-01T00:00:00Z");
    expect(nodeSummary("switch", { expression: "kind", cases: [{ handle: "a", value: 1 }] })).toBe("kind · 1 case");
    expect(nodeSummary("input", { schema: { topic: { type: "string" }, n: { type: "integer" } } })).toBe("inputs: topic, n");
    expect(nodeSummary("variable", { name: "total" })).toBe("set vars.total");
  });

  it("cuts long config to one line and says nothing for unset config or unknown types", () => {
    const summary = nodeSummary("code", { code: "x".repeat(500) });
    expect(summary.length).toBeLessThanOrEqual("javascript · ".length + 60);
    expect(summary.endsWith("…")).toBe(true);
    expect(nodeSummary("http", {})).toBe("GET");
    expect(nodeSummary("wait", {})).toBe("");
    expect(nodeSummary("plugin_thing", { a: 1 })).toBe("");
  });

  it("has an icon for every built-in node type and a generic one for others", () => {
    expect(NODE_TYPES.filter((t) => !NODE_ICONS[t])).toEqual([]);
    expect(nodeIcon("plugin_thing")).toBe("◆");
  });
});
