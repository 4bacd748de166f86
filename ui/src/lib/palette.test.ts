import { describe, expect, it } from "vitest";
import { positionAfter, searchNodeTypes } from "./palette";

const catalogue = [
  { type: "http", name: "HTTP request", category: "io", description: "Calls a URL and returns the response." },
  { type: "llm", name: "LLM", category: "ai", description: "Asks a language model; can stream tokens." },
  { type: "transform", name: "Transform", category: "core", description: "JSONata or JMESPath over the input." },
  { type: "webhook", name: "Webhook", category: "io", description: "Posts JSON to a URL." },
];

describe("palette search", () => {
  it("keeps the catalogue order for an empty query", () => {
    expect(searchNodeTypes(catalogue, "  ").map((n) => n.type)).toEqual(["http", "llm", "transform", "webhook"]);
  });

  it("ranks name matches above description matches and needs every word", () => {
    expect(searchNodeTypes(catalogue, "url").map((n) => n.type)).toEqual(["http", "webhook"]);
    expect(searchNodeTypes(catalogue, "web").map((n) => n.type)).toEqual(["webhook"]);
    expect(searchNodeTypes(catalogue, "jsonata").map((n) => n.type)).toEqual(["transform"]);
    expect(searchNodeTypes(catalogue, "io post").map((n) => n.type)).toEqual(["webhook"]);
    expect(searchNodeTypes(catalogue, "stream model").map((n) => n.type)).toEqual(["llm"]);
    expect(searchNodeTypes(catalogue, "nothing-like-this")).toEqual([]);
  });
});

describe("quick-add position", () => {
  it("goes right of the source, below nodes already there", () => {
    const source = { position: { x: 0, y: 100 } };
    expect(positionAfter(source, [source])).toEqual({ x: 260, y: 100 });
    expect(positionAfter(source, [source, { position: { x: 265, y: 95 } }])).toEqual({ x: 260, y: 210 });
  });
});
