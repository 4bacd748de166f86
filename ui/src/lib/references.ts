/** `${...}` references a node can use, and autocomplete of them while typing. */
import type { WorkflowDefinition } from "../api/types";

export interface ReferenceOption {
  /** The whole reference, e.g. `${inputs.topic}`. */
  text: string;
  /** Where it comes from, for the suggestion list. */
  detail: string;
}

/** Every node upstream of `nodeId` (its transitive predecessors), nearest first. */
export function upstreamNodes(definition: WorkflowDefinition, nodeId: string): string[] {
  const incoming = new Map<string, string[]>();
  for (const edge of definition.edges ?? []) {
    incoming.set(edge.target, [...(incoming.get(edge.target) ?? []), edge.source]);
  }
  const seen = new Set<string>([nodeId]);
  const order: string[] = [];
  let frontier = [nodeId];
  while (frontier.length) {
    const next: string[] = [];
    for (const id of frontier)
      for (const source of incoming.get(id) ?? [])
        if (!seen.has(source)) {
          seen.add(source);
          order.push(source);
          next.push(source);
        }
    frontier = next;
  }
  return order;
}

/** Most paths offered inside one recorded value, so a huge output cannot flood the list. */
const MAX_PATHS_PER_VALUE = 60;
const MAX_PATH_DEPTH = 5;
const MAX_SUGGESTIONS = 100;

/**
 * A short, one-line rendering of a sample value for the suggestion list. It stops walking
 * the value once `max` characters are written, so a huge output costs no more than a small one.
 */
export function sampleText(value: unknown, max = 40): string {
  let out = "";
  const write = (v: unknown): boolean => {
    if (out.length > max) return false;
    if (Array.isArray(v)) {
      out += "[";
      for (let i = 0; i < v.length; i++) if ((i && !(out += ",")) || !write(v[i])) return false;
      out += "]";
    } else if (v && typeof v === "object") {
      out += "{";
      let first = true;
      for (const key in v) {
        if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
        out += `${first ? "" : ","}${JSON.stringify(key)}:`;
        first = false;
        if (!write((v as Record<string, unknown>)[key])) return false;
      }
      out += "}";
    } else out += JSON.stringify(v) ?? String(v);
    return out.length <= max;
  };
  write(value);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

const kindOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? `array[${v.length}]` : typeof v);

/** `base` followed by one step into a key or index, as the engine's reference grammar writes it. */
const step = (base: string, key: string | number) =>
  typeof key === "number" ? `${base}[${key}]` : /^[A-Za-z0-9_-]+$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;

/**
 * The paths inside a recorded `value` below `base` (e.g. `a.output`), breadth first: each
 * object key, the first element of each array, down to a small depth and count.
 */
export function samplePaths(base: string, value: unknown): { path: string; value: unknown }[] {
  const found: { path: string; value: unknown }[] = [];
  let frontier: { path: string; value: unknown }[] = [{ path: base, value }];
  for (let depth = 0; depth < MAX_PATH_DEPTH && frontier.length; depth++) {
    const next: { path: string; value: unknown }[] = [];
    for (const item of frontier) {
      const v = item.value;
      const children: [string | number, unknown][] = Array.isArray(v)
        ? v.length ? [[0, v[0]]] : []
        : v && typeof v === "object" ? Object.entries(v) : [];
      for (const [key, child] of children) {
        if (found.length >= MAX_PATHS_PER_VALUE) return found;
        const entry = { path: step(item.path, key), value: child };
        found.push(entry);
        next.push(entry);
      }
    }
    frontier = next;
  }
  return found;
}

/**
 * The references available inside `nodeId`'s config: inputs, variables, upstream outputs;
 * with `sample` (what the last run recorded), also the paths inside those values, each
 * shown with its recorded value.
 */
export function availableReferences(definition: WorkflowDefinition, nodeId: string, sample?: Scope | null): ReferenceOption[] {
  const nodes = definition.nodes ?? {};
  const options: ReferenceOption[] = [];
  const seen = new Set<string>();
  const add = (text: string, detail: string) => {
    if (!seen.has(text)) {
      seen.add(text);
      options.push({ text, detail });
    }
  };
  const addSample = (base: string, value: unknown) => {
    for (const found of samplePaths(base, value)) add(`\${${found.path}}`, `${kindOf(found.value)} · ${sampleText(found.value)}`);
  };
  if (sample) addSample("inputs", sample.inputs);
  if (sample)
    for (const [name, value] of Object.entries(sample.vars)) {
      add(`\${vars.${name}}`, `variable · ${sampleText(value)}`);
      addSample(`vars.${name}`, value);
    }
  for (const node of Object.values(nodes)) {
    if (node.type !== "input") continue;
    const schema = ((node.data ?? {}) as { schema?: Record<string, { type?: string }> }).schema ?? {};
    for (const [field, spec] of Object.entries(schema)) add(`\${inputs.${field}}`, `input · ${spec?.type ?? "string"}`);
  }
  for (const node of Object.values(nodes)) {
    const data = (node.data ?? {}) as { operation?: string; name?: unknown };
    if (node.type === "variable" && data.operation !== "get" && typeof data.name === "string" && data.name)
      add(`\${vars.${data.name}}`, `variable set by ${node.id}`);
  }
  for (const id of upstreamNodes(definition, nodeId)) {
    const recorded = sample && id in sample.outputs;
    add(`\${${id}.output}`, `output of ${nodes[id]?.type ?? "node"} ${id}${recorded ? ` · ${sampleText(sample.outputs[id])}` : ""}`);
    if (recorded) addSample(`${id}.output`, sample.outputs[id]);
  }
  return options;
}

export interface Completion {
  /** Replace `text.slice(from, to)` with the chosen option's text. */
  from: number;
  to: number;
  options: ReferenceOption[];
}

/**
 * Suggestions at `caret` when the caret sits inside an unclosed `${`; null otherwise.
 * Options whose text starts with what was typed come first, then those that contain it.
 */
export function completeReference(text: string, caret: number, available: ReferenceOption[]): Completion | null {
  const before = text.slice(0, caret);
  const open = before.lastIndexOf("${");
  if (open < 0 || before.slice(open).includes("}") || (open > 0 && text[open - 1] === "$")) return null;
  const typed = before.slice(open);
  const closeAt = text.indexOf("}", caret);
  const nextOpen = text.indexOf("${", caret);
  const to = closeAt >= 0 && (nextOpen < 0 || closeAt < nextOpen) && !/\s/.test(text.slice(caret, closeAt)) ? closeAt + 1 : caret;
  const needle = typed.slice(2).toLowerCase();
  // Paths into recorded values unfold one level at a time, like a tree: `${a.output.` lists
  // the keys of a's output, not every path below them.
  const nearby = (o: ReferenceOption) => {
    const rest = o.text.slice(2 + needle.length, -1).replace(/\["[^"]*"\]/g, "[k]").replace(/^[.[]/, "");
    return (rest.match(/[.[]/g) ?? []).length <= (/[.[]/.test(needle) ? 0 : 1);
  };
  const starts = available.filter((o) => o.text.slice(2).toLowerCase().startsWith(needle) && nearby(o));
  const contains = available.filter((o) => !o.text.slice(2).toLowerCase().startsWith(needle) && o.text.toLowerCase().includes(needle));
  const options = [...starts, ...contains].slice(0, MAX_SUGGESTIONS);
  return options.length ? { from: open, to, options } : null;
}

/** `text` with a completion applied; returns the new text and caret. */
export function applyCompletion(text: string, completion: Completion, option: ReferenceOption): { text: string; caret: number } {
  const next = text.slice(0, completion.from) + option.text + text.slice(completion.to);
  return { text: next, caret: completion.from + option.text.length };
}

/** What references resolve against: execution inputs, variables and node outputs. */
export interface Scope {
  inputs: Record<string, unknown>;
  vars: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

const TEMPLATE = /\$\$\{|\$\{([^}]*)\}/g;
const STEP = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\["([^"]*)"\]/g;

/** The value `${body}` names, or undefined when it cannot be resolved (yet). */
function lookup(body: string, scope: Scope): unknown {
  const match = /^([A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_-]+|\[\d+\]|\["[^"]*"\])*)$/.exec(body.trim());
  if (!match) return undefined;
  const [, root, rest] = match;
  const path: (string | number)[] = [];
  for (const step of rest.matchAll(STEP)) path.push(step[2] !== undefined ? Number(step[2]) : (step[1] ?? step[3]));
  let current: unknown;
  if (root === "inputs") current = scope.inputs;
  else if (root === "vars") current = scope.vars;
  else {
    if (path[0] !== "output" || !(root in scope.outputs)) return undefined;
    current = scope.outputs[root];
    path.shift();
  }
  for (const step of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/**
 * A node's config with its references resolved, as the engine resolves them: a string that
 * is exactly one reference keeps the value's type; embedded references are stringified.
 * Unresolvable references are left as written. Shown by the inspector as the resolved input.
 */
export function resolveReferences(value: unknown, scope: Scope): unknown {
  if (typeof value === "string") {
    const whole = /^\$\{([^}]*)\}$/.exec(value);
    if (whole) {
      const found = lookup(whole[1], scope);
      return found === undefined ? value : found;
    }
    return value.replace(TEMPLATE, (m, body: string | undefined) => {
      if (body === undefined) return "${";
      const found = lookup(body, scope);
      return found === undefined ? m : typeof found === "string" ? found : JSON.stringify(found);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, scope));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, scope)]));
  return value;
}

/** What a field's text resolves to against a recorded run, and the references it could not resolve. */
export interface ReferencePreview {
  value: unknown;
  unresolved: string[];
}

/** The preview of `text` against `scope`: null when it holds no reference (nothing to preview). */
export function previewReferences(text: string, scope: Scope): ReferencePreview | null {
  const references = [...text.matchAll(TEMPLATE)].filter((m) => m[1] !== undefined);
  if (!references.length) return null;
  const unresolved = references.filter((m) => lookup(m[1], scope) === undefined).map((m) => m[0]);
  return { value: resolveReferences(text, scope), unresolved };
}
