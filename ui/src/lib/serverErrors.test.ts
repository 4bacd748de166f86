import { describe, expect, it } from "vitest";
import { toServerErrors } from "./serverErrors";

describe("server validation errors", () => {
  it("are keyed by node and field", () => {
    const error = {
      message: "invalid workflow",
      fieldErrors: [
        { node_id: "check", field: "data.expression", message: "required" },
        { node_id: "check", field: "data.retry.max_attempts", message: "bad" },
        { message: "the graph has a cycle" },
      ],
    };
    expect(toServerErrors(error)).toEqual({
      check: { expression: "required", retry: "bad" },
      "": { "": "the graph has a cycle" },
    });
  });

  it("fall back to the message when no details name a place", () => {
    expect(toServerErrors({ message: "nope", fieldErrors: [] })).toEqual({ "": { "": "nope" } });
  });
});
