import { describe, expect, it } from "vitest";
import { sseParser } from "./sse";

describe("sse parser", () => {
  it("parses messages split across chunks, with ids, events and comments", () => {
    const feed = sseParser();
    expect(feed(": keep-alive\nid: 3\nevent: node.completed\ndata: {\"a\"")).toEqual([]);
    expect(feed(":1}\n\nevent: node:stream\ndata: x\ndata: y\n\n")).toEqual([
      { id: "3", event: "node.completed", data: '{"a":1}' },
      { id: undefined, event: "node:stream", data: "x\ny" },
    ]);
  });

  it("accepts CRLF and defaults the event name", () => {
    expect(sseParser()("data: hi\r\n\r\n")).toEqual([{ id: undefined, event: "message", data: "hi" }]);
  });
});
