import { describe, expect, it } from "vitest";
import conditional from "../../../schemas/nodes/conditional.json";
import echo from "../../../schemas/nodes/echo.json";
import userInput from "../../../schemas/nodes/user_input.json";
import { inputFieldsToForm, parseFieldText, schemaToFields, validateConfig } from "./schemaForm";

describe("schema to form", () => {
  it("builds fields from a generated node schema, required first, shared settings advanced", () => {
    const fields = schemaToFields(conditional);
    expect(fields[0]).toMatchObject({ name: "expression", kind: "text", required: true });
    expect(fields.find((f) => f.name === "language")).toMatchObject({ kind: "enum", options: ["jmespath", "jsonata"], default: "jsonata" });
    expect(fields.find((f) => f.name === "retry")).toMatchObject({ kind: "json", nullable: true, advanced: true });
    expect(fields.find((f) => f.name === "label")).toMatchObject({ kind: "string", nullable: true, advanced: false });
    expect(fields.find((f) => f.name === "input")?.kind).toBe("any");
  });

  it("knows numbers, booleans-free schemas and object maps", () => {
    const echoFields = schemaToFields(echo);
    expect(echoFields.find((f) => f.name === "delay_seconds")).toMatchObject({ kind: "number", default: 0 });
    expect(echoFields.find((f) => f.name === "fail_first_attempts")?.kind).toBe("integer");
    const ui = schemaToFields(userInput);
    expect(ui.find((f) => f.name === "mode")?.options).toEqual(["approval", "form"]);
    expect(ui.find((f) => f.name === "schema")?.kind).toBe("json");
    expect(ui.find((f) => f.name === "prompt")?.kind).toBe("text");
  });

  it("validates inline", () => {
    const fields = schemaToFields(conditional);
    expect(validateConfig(fields, {})).toEqual({ expression: "required" });
    expect(validateConfig(fields, { expression: "x", language: "sql", timeout_ms: 1.5 })).toEqual({
      language: "must be one of jmespath, jsonata",
      timeout_ms: "must be a whole number",
    });
    expect(validateConfig(fields, { expression: "x", retry: "{oops" })).toEqual({ retry: "must be a JSON object or list" });
  });

  it("parses text boxes by kind", () => {
    const [expression] = schemaToFields(conditional);
    const any = { ...expression, kind: "any" as const };
    expect(parseFieldText(any, "${x.output}")).toBe("${x.output}");
    expect(parseFieldText(any, '{"a": 1}')).toEqual({ a: 1 });
    expect(parseFieldText(any, "42")).toBe(42);
    expect(parseFieldText({ ...expression, kind: "number" }, "2.5")).toBe(2.5);
    expect(parseFieldText({ ...expression, kind: "json" }, "{bad")).toBe("{bad");
    expect(parseFieldText(expression, "")).toBeUndefined();
  });

  it("turns an input node's field map into a run form", () => {
    expect(inputFieldsToForm({ topic: { type: "string", required: true }, n: { type: "integer", default: 3 } })).toEqual([
      { name: "topic", label: "Topic", kind: "string", required: true, nullable: false, advanced: false },
      { name: "n", label: "N", kind: "integer", required: false, nullable: false, advanced: false, default: 3 },
    ]);
  });
});
