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

/** The references available inside `nodeId`'s config: inputs, variables, upstream outputs. */
export function availableReferences(definition: WorkflowDefinition, nodeId: string): ReferenceOption[] {
  const nodes = definition.nodes ?? {};
  const options: ReferenceOption[] = [];
  const seen = new Set<string>();
  const add = (text: string, detail: string) => {
    if (!seen.has(text)) {
      seen.add(text);
      options.push({ text, detail });
    }
  };
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
  for (const id of upstreamNodes(definition, nodeId)) add(`\${${id}.output}`, `output of ${nodes[id]?.type ?? "node"} ${id}`);
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
  const starts = available.filter((o) => o.text.slice(2).toLowerCase().startsWith(needle));
  const contains = available.filter((o) => !starts.includes(o) && o.text.toLowerCase().includes(needle));
  const options = [...starts, ...contains];
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
