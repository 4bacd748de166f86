/** Drafts, publishing, version diffs and compatibility checks: shapes and calls. */
import type { WorkflowDefinition, WorkflowRecord } from "./types";
import { api } from "./client";

/** One validation problem the server found (node and field at fault). */
export interface Problem {
  node_id: string | null;
  field: string | null;
  code: string;
  message: string;
}

/** `GET/PUT /api/workflows/:id/draft`: the draft, or the published definition. */
export interface Draft {
  workflow_id: string;
  revision: number;
  name: string;
  definition: WorkflowDefinition;
  has_draft: boolean;
  base_version: number;
  version: number;
  updated_at: string;
  problems: Problem[];
}

export interface FieldChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

/** How one definition differs from another (layout aside). */
export interface DefinitionDiff {
  added: { id: string; type: string | null }[];
  removed: { id: string; type: string | null }[];
  changed: { id: string; type: string | null; fields: FieldChange[]; truncated: boolean }[];
  edges_added: { source: string; target: string; source_handle?: string | null }[];
  edges_removed: { source: string; target: string; source_handle?: string | null }[];
  moved: string[];
}

export interface VersionDiff {
  workflow_id: string;
  version: number;
  against: number;
  diff: DefinitionDiff;
  layout_only: boolean;
}

export type Verdict = "safe" | "pinned" | "incompatible";

export interface ExecutionCompatibility {
  execution_id: string;
  status: string;
  workflow_version: number | null;
  test: boolean;
  started_at: string;
  verdict: Verdict;
  nodes: string[];
  reason: string;
}

export interface CompatibilityReport {
  workflow_id: string;
  version: number;
  executions: ExecutionCompatibility[];
  counts: Record<Verdict, number>;
  truncated: boolean;
  diff: DefinitionDiff;
}

export interface Published {
  workflow: WorkflowRecord;
  revision: number;
  new_version: boolean;
}

const ifMatch = (revision: number | null) => (revision === null ? undefined : { "If-Match": `"${revision}"` });

export const draftApi = {
  get: (id: string) => api<Draft>(`/api/workflows/${id}/draft`),
  save: (id: string, body: { name: string; definition: WorkflowDefinition }, revision: number | null) =>
    api<Draft>(`/api/workflows/${id}/draft`, { method: "PUT", json: body, headers: ifMatch(revision) }),
  discard: (id: string, revision: number | null) => api<Draft>(`/api/workflows/${id}/draft`, { method: "DELETE", headers: ifMatch(revision) }),
  publish: (id: string, revision: number | null) => api<Published>(`/api/workflows/${id}/publish`, { method: "POST", headers: ifMatch(revision) }),
  compatibility: (id: string) => api<CompatibilityReport>(`/api/workflows/${id}/compatibility`, { method: "POST", json: {} }),
  diff: (id: string, version: number, against: number) => api<VersionDiff>(`/api/workflows/${id}/versions/${version}/diff?against=${against}`),
  restore: (id: string, version: number, revision: number | null) =>
    api<WorkflowRecord>(`/api/workflows/${id}/versions/${version}/restore`, { method: "POST", json: {}, headers: ifMatch(revision) }),
};
