/**
 * The validator's problems in the user's words: msgspec and validator messages
 * ("Expected `object`, got `str`") become plain sentences naming the node and the field.
 */
import type { Problem } from "../api/drafts";
import type { ServerErrors } from "../stores/graphStore";
import { configField } from "./serverErrors";

const KINDS: Record<string, string> = {
  int: "a whole number",
  float: "a number",
  number: "a number",
  str: "text",
  string: "text",
  bool: "true or false",
  boolean: "true or false",
  object: "an object (key: value pairs)",
  array: "a list",
  null: "empty",
};

const kind = (name: string) => KINDS[name] ?? name;

/** A field path as people read it: `data.retry.max_attempts` → "retry › max attempts". */
export function fieldLabel(path: string | null | undefined): string {
  if (!path) return "";
  return path
    .replace(/^data\./, "")
    .replace(/\[(\d+)\]/g, " #$1")
    .split(".")
    .map((part) => part.replace(/_/g, " "))
    .join(" › ");
}

const capitalise = (text: string) => (text ? text[0].toUpperCase() + text.slice(1) : text);
const sentence = (text: string) => {
  const trimmed = text.trim();
  return capitalise(/[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`);
};

/** The problem's message alone, in plain words (for showing beside its field). */
export function plainMessage(problem: Pick<Problem, "code" | "message" | "node_id" | "field">): string {
  const m = problem.message.replace(/ - at `[^`]*`$/, "");
  let match: RegExpMatchArray | null;
  if ((match = m.match(/^Expected `(\w+)`, got `(\w+)`/))) return sentence(`this should be ${kind(match[1])}, not ${kind(match[2])}`);
  if ((match = m.match(/^Expected `(\w+)` >= (\S+)/))) return sentence(`this must be ${match[2]} or more`);
  if ((match = m.match(/^Expected `(\w+)` > (\S+)/))) return sentence(`this must be more than ${match[2]}`);
  if ((match = m.match(/^Expected `(\w+)` <= (\S+)/))) return sentence(`this must be ${match[2]} or less`);
  if ((match = m.match(/^Expected `(\w+)` < (\S+)/))) return sentence(`this must be less than ${match[2]}`);
  if ((match = m.match(/^Expected `(\w+)` of length <= (\d+)/))) return sentence(`this is too long (at most ${match[2]})`);
  if ((match = m.match(/^Expected `(\w+)` of length >= (\d+)/))) return sentence(`this is too short (at least ${match[2]})`);
  if ((match = m.match(/^Expected `(\w+)` matching regex/))) return "This is not in the expected format.";
  if ((match = m.match(/^Invalid enum value '(.*)'/))) return sentence(`"${match[1]}" is not one of the choices`);
  if ((match = m.match(/^Object missing required field `(\w+)`/))) return sentence(`${fieldLabel(match[1])} is required`);
  if ((match = m.match(/^Object contains unknown field `(\w+)`/))) return sentence(`${fieldLabel(match[1])} is not a setting of this node`);
  if ((match = m.match(/^'(\w+)' is required/))) return "This is required.";
  if ((match = m.match(/^(JSONata|JMESPath) syntax error: (.*)$/))) return sentence(`the ${match[1]} expression does not parse: ${match[2].replace(/^./, (c) => c.toLowerCase())}`);
  if (problem.code === "too_long") return sentence(m.replace(/^the expression/, "the expression"));
  if ((match = m.match(/^\$\{([^}]*)\}: '([^']+)' is not upstream of '([^']+)'/)))
    return sentence(`\${${match[1]}} reads node "${match[2]}", which does not run before this one: connect it upstream first`);
  if ((match = m.match(/^\$\{([^}]*)\} names no node/))) return sentence(`\${${match[1]}} refers to a node that does not exist`);
  if ((match = m.match(/^\$\{([^}]*)\}: no input node declares '([^']+)'/))) return sentence(`\${${match[1]}} reads an input "${match[2]}" that no Input node declares`);
  if ((match = m.match(/^\S+ is (\S+), above the maximum (\S+)/))) return sentence(`${match[1]} is above the maximum this server allows (${match[2]})`);
  if ((match = m.match(/^\S+ must be (at least|more than) (\S+)/))) return sentence(`this must be ${match[1]} ${match[2]}`);
  if ((match = m.match(/^unknown node type '(.*)'/))) return sentence(`"${match[1]}" is not a node type this server knows`);
  if ((match = m.match(/^cycle: (.*)$/))) return sentence(`the workflow loops back on itself (${match[1]}); workflows must not have cycles`);
  if ((match = m.match(/^edge '([^']+)' (source|target) '([^']+)' is not a node/))) return sentence(`a connection ${match[2] === "source" ? "starts" : "ends"} at "${match[3]}", which is not a node`);
  if ((match = m.match(/^edge '([^']+)' leaves through handle (.*); (\w+) node has (.*)$/))) return sentence(`a connection leaves through ${match[2]}, but this ${match[3]} node's outputs are ${match[4]}`);
  if (problem.code === "reference_in_code") return "References (${...}) cannot go inside code or expressions: put the value in the node's input field and read it there.";
  if (problem.code === "not_found") return sentence(m);
  return sentence(m.replace(/`/g, ""));
}

/** Where a problem is: `Node "check", Expression` (or the workflow as a whole). */
export function problemPlace(problem: Pick<Problem, "node_id" | "field">, labels: Record<string, string> = {}): string {
  const node = problem.node_id ? `Node "${labels[problem.node_id] ?? problem.node_id}"` : "The workflow";
  const field = problem.field && !problem.field.startsWith("edges") ? fieldLabel(problem.field) : "";
  return field ? `${node}, ${field}` : node;
}

/** A whole sentence naming the node and field: for lists of problems. */
export function problemSentence(problem: Problem, labels: Record<string, string> = {}): string {
  return `${problemPlace(problem, labels)}: ${plainMessage(problem)}`;
}

/** Problems → node id → config field → plain message (what nodes and fields show). */
export function problemsToErrors(problems: Problem[]): ServerErrors {
  const out: ServerErrors = {};
  for (const problem of problems) {
    const node = problem.node_id ?? "";
    const field = node ? configField(problem.field ?? undefined) : "";
    const text = node ? plainMessage(problem) : problemSentence(problem);
    const existing = out[node]?.[field];
    out[node] = { ...out[node], [field]: existing ? `${existing} ${text}` : text };
  }
  return out;
}
