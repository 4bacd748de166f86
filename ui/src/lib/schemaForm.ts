/** Turning a node type's config JSON Schema into form fields, and validating values against it. */
import type { JsonSchema } from "../api/types";

export type FieldKind = "string" | "text" | "number" | "integer" | "boolean" | "enum" | "any" | "json";

export interface FormField {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  nullable: boolean;
  description?: string;
  default?: unknown;
  options?: unknown[];
  /** Settings every node shares (retry, timeouts), shown folded away. */
  advanced: boolean;
}

const ADVANCED = new Set(["retry", "timeout_seconds", "timeout_ms", "max_depth", "cache"]);
const LONG_TEXT = new Set(["prompt", "system", "system_prompt", "expression", "template", "body", "code", "query"]);

type Schema = Record<string, unknown>;

/** The object schema a config schema stands for, following a root `$ref` into `$defs`. */
export function rootSchema(schema: JsonSchema): Schema {
  let current: Schema = schema;
  const defs = (schema.$defs ?? schema.definitions ?? {}) as Record<string, Schema>;
  for (let i = 0; i < 5 && typeof current.$ref === "string"; i++) {
    const name = (current.$ref as string).split("/").pop()!;
    current = defs[name] ?? {};
  }
  return current;
}

function unwrapNullable(schema: Schema): { schema: Schema; nullable: boolean } {
  const anyOf = schema.anyOf as Schema[] | undefined;
  if (Array.isArray(anyOf)) {
    const rest = anyOf.filter((s) => s.type !== "null");
    if (rest.length === 1 && rest.length < anyOf.length) return { schema: { ...rest[0], default: schema.default }, nullable: true };
  }
  return { schema, nullable: false };
}

function kindOf(name: string, schema: Schema): FieldKind {
  if (Array.isArray(schema.enum)) return "enum";
  switch (schema.type) {
    case "string":
      return LONG_TEXT.has(name) ? "text" : "string";
    case "number":
      return "number";
    case "integer":
      return "integer";
    case "boolean":
      return "boolean";
    case "object":
    case "array":
      return "json";
  }
  if (schema.$ref || schema.anyOf) return "json";
  return "any";
}

const humanise = (name: string) => name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

/** The form fields of a config schema, in schema order with required fields first. */
export function schemaToFields(schema: JsonSchema): FormField[] {
  const root = rootSchema(schema);
  const properties = (root.properties ?? {}) as Record<string, Schema>;
  const required = new Set((root.required ?? []) as string[]);
  const fields = Object.entries(properties).map(([name, raw]) => {
    const { schema: prop, nullable } = unwrapNullable(raw);
    const field: FormField = {
      name,
      label: name === "label" ? "Label" : humanise(name),
      kind: kindOf(name, prop),
      required: required.has(name),
      nullable,
      advanced: ADVANCED.has(name),
    };
    if (typeof prop.description === "string") field.description = prop.description;
    if ("default" in prop && prop.default !== null) field.default = prop.default;
    if (Array.isArray(prop.enum)) field.options = prop.enum;
    return field;
  });
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

/** The problem with one value, or null. `undefined` means the field is left unset. */
export function validateField(field: FormField, value: unknown): string | null {
  if (value === undefined || value === "" || value === null) {
    return field.required ? "required" : null;
  }
  switch (field.kind) {
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? null : "must be a number";
    case "integer":
      return Number.isInteger(value) ? null : "must be a whole number";
    case "boolean":
      return typeof value === "boolean" ? null : "must be true or false";
    case "enum":
      return field.options?.includes(value) ? null : `must be one of ${field.options?.join(", ")}`;
    case "string":
    case "text":
      return typeof value === "string" ? null : "must be text";
    case "json":
      return typeof value === "object" ? null : "must be a JSON object or list";
    case "any":
      return null;
  }
}

/** Field name → problem for every invalid field of `data`. */
export function validateConfig(fields: FormField[], data: Record<string, unknown>): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const field of fields) {
    const problem = validateField(field, data[field.name]);
    if (problem) problems[field.name] = problem;
  }
  return problems;
}

/**
 * What a text box holds as a value of the field's kind: numbers parsed, JSON parsed for
 * object fields (kept as text when it does not parse, so validation reports it), and for
 * free-form values JSON only when it clearly is (objects, lists, true/false, numbers).
 */
export function parseFieldText(field: FormField, text: string): unknown {
  if (text === "") return undefined;
  switch (field.kind) {
    case "number":
    case "integer": {
      const n = Number(text);
      return Number.isNaN(n) ? text : n;
    }
    case "json":
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    case "any":
      if (/^\s*[[{]/.test(text) || /^(true|false|-?\d+(\.\d+)?)$/.test(text.trim())) {
        try {
          return JSON.parse(text);
        } catch {
          return text;
        }
      }
      return text;
    default:
      return text;
  }
}

/** The text a field's text box shows for a value. */
export function fieldText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value, null, 2);
  return String(value);
}

/** Fields of an input node's or user_input node's `schema` map, as a form of its own. */
export function inputFieldsToForm(schema: Record<string, { type?: string; required?: boolean; default?: unknown; description?: string | null }>): FormField[] {
  return Object.entries(schema ?? {}).map(([name, spec]) => {
    const type = spec?.type ?? "string";
    const kind: FieldKind = type === "object" || type === "array" ? "json" : (type as FieldKind);
    const field: FormField = { name, label: humanise(name), kind, required: !!spec?.required, nullable: false, advanced: false };
    if (spec?.description) field.description = spec.description;
    if (spec?.default !== undefined) field.default = spec.default;
    return field;
  });
}

/** Start values for a form: each field's default. */
export const defaults = (fields: FormField[]): Record<string, unknown> =>
  Object.fromEntries(fields.filter((f) => f.default !== undefined).map((f) => [f.name, f.default]));
