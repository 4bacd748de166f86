import { describe, expect, it } from "vitest";
import { fieldLabel, plainMessage, problemSentence, problemsToErrors } from "./problems";

const p = (message: string, code = "type", node_id: string | null = "check", field: string | null = "data.expression") => ({ node_id, field, code, message });

describe("plain problem messages", () => {
  it("turns msgspec type errors into sentences without backticks", () => {
    expect(plainMessage(p("Expected `object`, got `str`"))).toBe("This should be an object (key: value pairs), not text.");
    expect(plainMessage(p("Expected `int`, got `str` - at `$[0]`"))).toBe("This should be a whole number, not text.");
    expect(plainMessage(p("Expected `int` >= 1"))).toBe("This must be 1 or more.");
    expect(plainMessage(p("Invalid enum value 'xml'"))).toBe('"xml" is not one of the choices.');
    expect(plainMessage(p("'expression' is required", "required"))).toBe("This is required.");
  });

  it("explains syntax errors, references and limits", () => {
    expect(plainMessage(p("JSONata syntax error: Unexpected end of expression", "syntax"))).toBe(
      "The JSONata expression does not parse: unexpected end of expression.",
    );
    expect(plainMessage(p("${fetch.output}: 'fetch' is not upstream of 'check'", "not_upstream"))).toContain('reads node "fetch", which does not run before this one');
    expect(plainMessage(p("data.timeout_ms is 99999, above the maximum 10000 (FLOWMAESTRO_MAX_EXPRESSION_TIMEOUT_MS)", "over_limit"))).toBe(
      "99999 is above the maximum this server allows (10000).",
    );
    expect(plainMessage(p("cycle: a → b → a", "cycle"))).toContain("loops back on itself");
  });

  it("names node and field in whole sentences", () => {
    expect(fieldLabel("data.retry.max_attempts")).toBe("retry › max attempts");
    expect(fieldLabel("data.cases[0].value")).toBe("cases #0 › value");
    expect(problemSentence(p("Expected `object`, got `str`", "type", "check", "data.schema"), { check: "Check amount" })).toBe(
      'Node "Check amount", schema: This should be an object (key: value pairs), not text.',
    );
    expect(problemSentence(p("edge 'e1' source 'x' is not a node", "dangling_edge", null, "edges[0].source"))).toBe(
      'The workflow: A connection starts at "x", which is not a node.',
    );
  });

  it("maps problems onto nodes and config fields", () => {
    const errors = problemsToErrors([
      p("JSONata syntax error: Expected ] before end of expression", "syntax"),
      p("Expected `int`, got `str`", "type", "check", "data.retry.max_attempts"),
      p("cycle: a → b → a", "cycle", null, "edges"),
    ]);
    expect(Object.keys(errors.check)).toEqual(["expression", "retry"]);
    expect(errors[""][""]).toContain("loops back");
  });
});
