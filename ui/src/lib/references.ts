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
