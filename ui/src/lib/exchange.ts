/** Export and import of a workflow as a JSON file. */
import type { WorkflowDefinition } from "../api/types";

export interface WorkflowFile {
  name: string;
  definition: WorkflowDefinition;
}

/** The file contents for a workflow. */
export function workflowFile(name: string, definition: WorkflowDefinition): string {
  return JSON.stringify({ name, definition }, null, 2) + "\n";
}

/** A workflow from a file: `{name, definition}` or a bare definition (as in `examples/`). */
export function parseWorkflowFile(text: string, fileName = "workflow.json"): WorkflowFile {
  const parsed = JSON.parse(text) as Partial<WorkflowFile> & WorkflowDefinition;
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed) || !(parsed.definition ?? parsed.nodes))
    throw new Error("not a workflow: expected nodes and edges");
  const definition = parsed.definition ?? {
    nodes: parsed.nodes ?? {},
    edges: parsed.edges ?? [],
    ...(Array.isArray(parsed.notes) ? { notes: parsed.notes } : {}),
  };
  if (typeof definition !== "object" || typeof definition.nodes !== "object" || !Array.isArray(definition.edges ?? []))
    throw new Error("not a workflow: expected nodes and edges");
  const name = typeof parsed.name === "string" && parsed.name ? parsed.name : fileName.replace(/\.json$/i, "");
  return { name, definition };
}

/** Offer `text` as a download called `fileName`. */
export function download(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
