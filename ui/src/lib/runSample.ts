/** What the last run recorded, shaped for completion and previews in the builder. */
import type { ExecutionDetail, WorkflowDefinition } from "../api/types";
import { completedOutputs, type ExecutionView } from "./executionState";
import { resolveReferences, type Scope } from "./references";

/** The scope of a run fetched from `GET /api/executions/:id`. */
export function scopeFromDetail(detail: ExecutionDetail): Scope {
  return { inputs: detail.inputs ?? {}, vars: detail.current_state?.variables ?? {}, outputs: detail.current_state?.nodes ?? {} };
}

/** The scope of a run followed live (or folded from its log) in this tab. */
export function scopeFromView(view: ExecutionView): Scope {
  return { inputs: view.inputs, vars: view.vars, outputs: completedOutputs(view) };
}

/**
 * The document an expression node evaluates on, as the executor builds it: its `input`
 * with references resolved, else the output of its one completed upstream node, else the
 * completed upstream outputs by node id. Undefined when the run recorded none of them.
 */
export function expressionDocument(definition: WorkflowDefinition, nodeId: string, data: Record<string, unknown>, scope: Scope): unknown {
  if (data.input !== undefined) return resolveReferences(data.input, scope);
  const upstream = [...new Set((definition.edges ?? []).filter((e) => e.target === nodeId).map((e) => e.source))];
  if (!upstream.length) return null;
  // Like the engine: only upstream nodes that completed (an untaken branch is left out).
  const present = upstream.filter((id) => id in scope.outputs);
  if (!present.length) return undefined;
  if (present.length === 1) return scope.outputs[present[0]];
  return Object.fromEntries(present.map((id) => [id, scope.outputs[id]]));
}
