/** Branch handles of a node: the labelled out-handles of branching node types. */
import type { NodeTypeInfo } from "../api/types";

/** The handles a node of `type` configured with `data` can take; empty means one plain out-handle. */
export function branchHandles(type: string | undefined, data: Record<string, unknown>, info?: NodeTypeInfo): string[] {
  switch (type) {
    case "conditional":
      return ["true", "false"];
    case "switch": {
      const cases = Array.isArray(data.cases) ? (data.cases as { handle?: unknown }[]) : [];
      return [...cases.map((c) => c?.handle).filter((h): h is string => typeof h === "string"), "default"];
    }
    case "user_input":
      return data.mode === "approval" ? ["approved", "rejected"] : [];
  }
  const outputs = info?.outputs as { handles?: unknown } | undefined;
  const listed = info?.handles ?? outputs?.handles;
  const names = Array.isArray(listed) ? listed.filter((h): h is string => typeof h === "string") : [];
  // A lone "default" handle is the plain out-handle of a non-branching type.
  return names.length === 1 && names[0] === "default" ? [] : names;
}

/** Node types with no incoming edges (sources) and none going out (sinks). */
export const isSource = (type?: string) => type === "input";
export const isSink = (type?: string) => type === "output";
