/**
 * API types. Engine shapes (definition, events, node configs) are generated from schemas/;
 * the gateway's record shapes below mirror its responses.
 */
export type { WorkflowDefinition, Node as DefinitionNode, Edge as DefinitionEdge } from "./generated/workflow-definition";
export type { Event as ExecutionEvent, ErrorInfo } from "./generated/events";
export type { NodeDataByType } from "./generated/node-data";
export { NODE_TYPES } from "./generated/node-data";

import type { WorkflowDefinition } from "./generated/workflow-definition";

export interface User {
  id: string;
  email: string;
  name?: string | null;
}

export interface AuthResult {
  user: User;
  token: string;
}

export interface Pagination {
  page: number;
  limit: number;
  total: number;
  pages: number;
}

export interface WorkflowRecord {
  id: string;
  name: string;
  description?: string | null;
  definition: WorkflowDefinition;
  version?: number;
  created_at?: string;
  updated_at?: string;
  last_execution?: { id?: string; status?: string; started_at?: string } | null;
  last_execution_status?: string | null;
}

export interface WorkflowVersion {
  version: number;
  created_at?: string;
  created_by?: string | null;
  author?: string | null;
  definition?: WorkflowDefinition;
  name?: string;
}

/** `pending` (started, no node scheduled yet) → `running` → an end. */
export type ExecutionStatus = "pending" | "running" | "paused" | "completed" | "failed" | "cancelled";

/** `GET /api/workflows`: one page of workflows. */
export interface WorkflowPage {
  workflows: WorkflowRecord[];
  pagination: Pagination;
}

/** `GET /api/executions`: one page of runs. */
export interface ExecutionPage {
  executions: ExecutionSummary[];
  pagination: Pagination;
}

/** What a run holds now: each completed node's output and the variables set. */
export interface CurrentState {
  nodes: Record<string, unknown>;
  variables: Record<string, unknown>;
  output_refs?: Record<string, string>;
}

/** `GET /api/executions/:id`; fields beyond the summary are read where needed. */
export interface ExecutionDetail extends ExecutionSummary {
  workflow_version?: number | null;
  current_state: CurrentState;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  definition?: WorkflowDefinition | null;
  [key: string]: unknown;
}

/** `GET /api/executions/:id/logs`: one entry per log event. */
export interface LogEntry {
  seq: number;
  node_id: string | null;
  level: "info" | "warn" | "error";
  event: string;
  message: string;
  metadata: Record<string, unknown>;
  created_at: string;
}

/** `POST /api/executions/:id/cancel`. */
export interface CancelResult {
  cancelled: true;
  execution_id: string;
}

export interface ExecutionSummary {
  id: string;
  execution_id?: string;
  workflow_id?: string | null;
  status: ExecutionStatus | string;
  started_at?: string | null;
  completed_at?: string | null;
  duration_ms?: number | null;
  test?: boolean;
  /** The batch this run is a row of, if any. */
  batch_id?: string | null;
  /** The trigger that started the run (null for the canvas, the API and the CLI). */
  trigger_id?: string | null;
  trigger_kind?: "schedule" | "webhook" | "event" | null;
  /** How the run started. */
  source?: "manual" | "schedule" | "webhook" | "event" | "batch";
  /** The workflow's current name (absent once deleted). */
  workflow_name?: string | null;
  workflow_version?: number | null;
}

/** A human-input node waiting for its owner's answer (`GET /api/inbox`). */
export interface WaitingInput {
  execution_id: string;
  node_id: string;
  workflow_id: string | null;
  workflow_name: string | null;
  workflow_version: number | null;
  test: boolean;
  request: Record<string, unknown>;
  waiting_since: string;
  execution_started_at: string;
}

export interface WaitingInputPage {
  waiting: WaitingInput[];
  pagination: Pagination;
}

/** An integration, its secrets masked. */
export interface Integration {
  id: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
  credentials: Record<string, string>;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

/** What a connection test (or a model listing) found. */
export interface ProbeResult {
  ok: boolean;
  message: string;
  kind?: string | null;
  duration_ms: number;
}

export interface ModelList extends ProbeResult {
  models: { id: string; name?: string | null }[];
}

export interface NodeHandleInfo {
  id?: string;
  name?: string;
  label?: string;
}

/** One node type as `GET /api/nodes` describes it. */
export interface NodeTypeInfo {
  type: string;
  category: string;
  name: string;
  description: string;
  inputs?: unknown;
  outputs?: unknown;
  handles?: string[];
  config: JsonSchema;
}

export type JsonSchema = { [key: string]: unknown };

/** `GET /api/nodes`: the node catalogue. */
export interface NodeCatalogue {
  nodes: (NodeTypeInfo & { config_schema?: JsonSchema })[];
}

export interface ApiErrorBody {
  message: string;
  code?: string;
  details?: unknown;
}

/** Who acted, and from which client address. */
export interface AuditActor {
  user_id: string;
  address?: string | null;
}

/** One person's action on a workflow, integration or execution. */
export interface AuditEntry {
  id: string;
  at: string;
  actor: AuditActor;
  action: string;
  resource_type: "workflow" | "integration" | "execution" | "batch" | "trigger" | "event";
  resource_id: string;
  details: Record<string, unknown>;
}

/** `GET /api/audit`: one page of the audit trail. */
export interface AuditPage {
  entries: AuditEntry[];
  pagination: Pagination;
}

/** How many rows of a batch are in each status. */
export interface BatchCounts {
  queued: number;
  pending: number;
  running: number;
  paused: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/** `GET /api/batches/:id`: a batch and its progress. */
export interface Batch {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: "running" | "cancelling" | "completed" | "cancelled";
  concurrency: number;
  total: number;
  ended: number;
  counts: BatchCounts;
  columns: string[];
  created_at: string;
  ended_at: string | null;
}

/** `GET /api/batches`: one page of batches. */
export interface BatchPage {
  batches: Batch[];
  pagination: Pagination;
}

/** One row of a batch: inputs, status, outputs once completed, error once failed. */
export interface BatchRow {
  row: number;
  execution_id: string;
  status: ExecutionStatus | "queued";
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
}

/** `GET /api/batches/:id/rows`: one page of rows. */
export interface BatchRowPage {
  rows: BatchRow[];
  pagination: Pagination;
}

export type TriggerKind = "schedule" | "webhook" | "event";

/** One fire of a trigger: a run started, a late fire skipped, a repeat, or a refusal. */
export interface TriggerFire {
  fire_key: string;
  outcome: "started" | "skipped" | "duplicate" | "refused";
  fired_at: string;
  execution_id?: string | null;
  scheduled_at?: string | null;
  detail?: string | null;
}

/** `GET /api/triggers`: a trigger with its next fire times and latest fires. */
export interface Trigger {
  id: string;
  workflow_id: string;
  name: string;
  kind: TriggerKind;
  inputs: Record<string, unknown>;
  paused: boolean;
  created_at: string;
  updated_at: string;
  schedule?: { cron: string; timezone: string; missed: "skip" | "run_once" } | null;
  webhook?: {
    url: string;
    mode: "async" | "sync";
    timeout_seconds: number;
    signed: boolean;
    signature_header: string;
    timestamp_header: string;
    replay_window_seconds: number;
    headers: Record<string, string>;
  } | null;
  event?: { subject: string; filter: string } | null;
  next_fires: string[];
  last_fires: TriggerFire[];
}
