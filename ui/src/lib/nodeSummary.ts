/** What a node card shows at a glance: an icon per node type and a one-line summary of its config. */

/**
 * One symbol per node type (plain Unicode symbols that common fonts carry, not emoji);
 * plugin types the build does not know get the generic one.
 */
export const NODE_ICONS: Record<string, string> = {
  agent: "⚙",
  audio: "♫",
  code: "λ",
  conditional: "⎇",
  database: "⛁",
  echo: "↻",
  email: "✉",
  embeddings: "≋",
  file: "▤",
  http: "☁",
  input: "⇥",
  llm: "✦",
  loop: "⟳",
  merge: "⋈",
  notion: "✎",
  output: "⇤",
  semantic_search: "◎",
  slack: "#",
  subworkflow: "❖",
  switch: "⇉",
  transform: "ƒ",
  user_input: "☝",
  variable: "≔",
  vision: "◉",
  wait: "◷",
  webhook: "⚡",
};

/** The icon of `type`. */
export const nodeIcon = (type: string | undefined): string => NODE_ICONS[type ?? ""] ?? "◆";

const SUMMARY_CHARS = 60;

type Data = Record<string, unknown>;

const text = (v: unknown): string => (typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v));

/** The first line of `v`, collapsed and cut to the summary length. */
function line(v: unknown): string {
  const collapsed = text(v).replace(/\s+/g, " ").trim();
  return collapsed.length > SUMMARY_CHARS ? `${collapsed.slice(0, SUMMARY_CHARS - 1)}…` : collapsed;
}

function seconds(value: number): string {
  if (value % 86_400 === 0) return `${value / 86_400} d`;
  if (value % 3600 === 0) return `${value / 3600} h`;
  if (value % 60 === 0) return `${value / 60} min`;
  return `${value} s`;
}

const model = (d: Data) => [d.provider, d.model].filter((v) => typeof v === "string" && v).join(" · ");
const joined = (...parts: string[]) => parts.filter(Boolean).join(" · ");
const count = (v: unknown, what: string) => (Array.isArray(v) ? `${v.length} ${what}${v.length === 1 ? "" : "s"}` : "");

const SUMMARIES: Record<string, (d: Data) => string> = {
  agent: (d) => joined(model(d), line(d.prompt)),
  llm: (d) => joined(model(d), line(d.prompt)),
  vision: (d) => joined(text(d.operation ?? "analyze"), model(d)),
  audio: (d) => joined(text(d.operation ?? "transcribe"), model(d)),
  embeddings: (d) => model(d),
  semantic_search: (d) => joined(text(d.operation ?? "search"), line(d.collection), line(d.query)),
  transform: (d) => joined(text(d.language ?? "jsonata"), line(d.expression)),
  conditional: (d) => joined(text(d.language ?? "jsonata"), line(d.expression)),
  switch: (d) => joined(line(d.expression), count(d.cases, "case")),
  code: (d) => joined(text(d.language ?? "javascript"), line(d.code)),
  http: (d) => joined(text(d.method ?? "GET").toUpperCase(), line(d.url)),
  webhook: (d) => joined("POST", line(d.url)),
  wait: (d) => (typeof d.seconds === "number" ? `wait ${seconds(d.seconds)}` : d.until ? `until ${line(d.until)}` : ""),
  input: (d) => {
    const fields = Object.keys((d.schema as Data | undefined) ?? {});
    return fields.length ? line(`inputs: ${fields.join(", ")}`) : "";
  },
  output: (d) => line(d.output),
  echo: (d) => line(d.value),
  variable: (d) => (d.name ? `${text(d.operation ?? "set")} vars.${text(d.name)}` : ""),
  merge: (d) => joined(text(d.mode ?? "all"), text(d.strategy ?? "object")),
  loop: (d) => joined(line(d.items), d.concurrency ? `×${text(d.concurrency)}` : ""),
  subworkflow: (d) => (d.workflow_id ? `workflow ${line(d.workflow_id)}` : d.definition ? "inline workflow" : ""),
  user_input: (d) => joined(text(d.mode ?? "approval"), line(d.prompt)),
  database: (d) => line(d.query),
  file: (d) => joined(text(d.format ?? "auto"), line(d.url ?? d.file_id)),
  email: (d) => joined(Array.isArray(d.to) ? line(d.to.join(", ")) : "", line(d.subject)),
  slack: (d) => joined(line(d.channel), line(d.text)),
  notion: (d) => text(d.operation ?? ""),
};

/** One line saying what a node does (model, expression, URL, wait time…); "" when unset. */
export function nodeSummary(type: string | undefined, data: Data): string {
  const summarise = SUMMARIES[type ?? ""];
  return summarise ? summarise(data) : "";
}
