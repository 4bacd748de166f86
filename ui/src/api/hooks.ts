/** TanStack Query hooks over the API. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "./client";
import type {
  AuditPage,
  ExecutionDetail,
  ExecutionPage,
  Integration,
  ModelList,
  NodeCatalogue,
  ProbeResult,
  Trigger,
  WaitingInputPage,
  WorkflowDefinition,
  WorkflowPage,
  WorkflowRecord,
  WorkflowVersion,
} from "./types";
import { ApiError } from "./client";

export const keys = {
  nodes: ["nodes"] as const,
  workflows: ["workflows"] as const,
  workflow: (id: string) => ["workflows", id] as const,
  versions: (id: string) => ["workflows", id, "versions"] as const,
  executions: (workflowId?: string) => ["executions", workflowId ?? "all"] as const,
  execution: (id: string) => ["execution", id] as const,
  audit: (query: string) => ["audit", query] as const,
  triggers: (workflowId: string) => ["triggers", workflowId] as const,
  executionPage: (query: string) => ["executions", "page", query] as const,
  inbox: ["inbox"] as const,
  integrations: ["integrations"] as const,
  models: (integrationId: string, provider: string) => ["models", integrationId, provider] as const,
};

/** Not found (404) is an answer, not a failure to retry. */
const retryUnlessMissing = (count: number, error: unknown) => !(error instanceof ApiError && error.status === 404) && count < 2;

/** Node types from the catalogue; `config_schema` is accepted as `config`. */
export function useNodeTypes() {
  return useQuery({
    queryKey: keys.nodes,
    staleTime: Infinity,
    queryFn: async () => {
      const data = await api<NodeCatalogue>("/api/nodes");
      return data.nodes.map((n) => ({
        ...n,
        config: n.config ?? n.config_schema ?? {},
      }));
    },
  });
}

export function useWorkflows() {
  return useQuery({
    queryKey: keys.workflows,
    queryFn: async () => (await api<WorkflowPage>("/api/workflows?page=1&limit=100&sort=updated_at&order=desc")).workflows,
  });
}

export function useWorkflow(id: string) {
  return useQuery({ queryKey: keys.workflow(id), retry: retryUnlessMissing, queryFn: () => api<WorkflowRecord>(`/api/workflows/${encodeURIComponent(id)}`) });
}

export function useVersions(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.versions(id),
    enabled,
    queryFn: () => api<WorkflowVersion[]>(`/api/workflows/${id}/versions`),
  });
}

export function useExecutions(workflowId?: string, refetch = false) {
  return useQuery({
    queryKey: keys.executions(workflowId),
    refetchInterval: refetch ? 3000 : false,
    queryFn: async () =>
      (await api<ExecutionPage>(`/api/executions?limit=50${workflowId ? `&workflow_id=${encodeURIComponent(workflowId)}` : ""}`)).executions,
  });
}

export function useExecution(id: string) {
  return useQuery({ queryKey: keys.execution(id), retry: retryUnlessMissing, queryFn: () => api<ExecutionDetail>(`/api/executions/${encodeURIComponent(id)}`) });
}

/** One page of the executions list (`query` from `apiQuery`), refreshed while shown. */
export function useExecutionPage(query: string) {
  return useQuery({ queryKey: keys.executionPage(query), refetchInterval: 3000, queryFn: () => api<ExecutionPage>(`/api/executions?${query}`) });
}

/** Ask a run to stop; refreshes the lists and the run. */
export function useCancelExecution() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api(`/api/executions/${encodeURIComponent(id)}/cancel`, { method: "POST", json: {} }),
    onSuccess: (_data, id) => {
      void client.invalidateQueries({ queryKey: ["executions"] });
      void client.invalidateQueries({ queryKey: keys.execution(id) });
    },
  });
}

/** Human-input nodes waiting for the user, refreshed while shown. */
export function useInbox() {
  return useQuery({ queryKey: keys.inbox, refetchInterval: 2000, queryFn: () => api<WaitingInputPage>("/api/inbox?limit=100") });
}

/** How many answers are awaited (for the top bar), looked up now and then. */
export function useInboxCount(enabled: boolean) {
  return useQuery({
    queryKey: [...keys.inbox, "count"],
    enabled,
    refetchInterval: 10_000,
    queryFn: async () => (await api<WaitingInputPage>("/api/inbox?limit=1")).pagination.total,
  });
}

export function useIntegrations() {
  return useQuery({ queryKey: keys.integrations, queryFn: async () => (await api<{ integrations: Integration[] }>("/api/integrations")).integrations });
}

/** Create, edit, delete and test integrations. */
export function useIntegrationMutations() {
  const client = useQueryClient();
  const done = () => client.invalidateQueries({ queryKey: keys.integrations });
  return {
    create: useMutation({
      mutationFn: (body: Record<string, unknown>) => api<Integration>("/api/integrations", { method: "POST", json: body }),
      onSuccess: done,
    }),
    update: useMutation({
      mutationFn: ({ id, body }: { id: string; body: Record<string, unknown> }) =>
        api<Integration>(`/api/integrations/${encodeURIComponent(id)}`, { method: "PUT", json: body }),
      onSuccess: done,
    }),
    remove: useMutation({
      mutationFn: (id: string) => api(`/api/integrations/${encodeURIComponent(id)}`, { method: "DELETE" }),
      onSuccess: done,
    }),
    test: useMutation({
      mutationFn: (id: string) => api<ProbeResult>(`/api/integrations/${encodeURIComponent(id)}/test`, { method: "POST" }),
    }),
  };
}

/** The models of an integration's provider (or of `provider` with the operator's key). */
export function useModels(integrationId: string, provider: string, enabled: boolean) {
  const query = new URLSearchParams();
  if (integrationId) query.set("integration_id", integrationId);
  if (provider) query.set("provider", provider);
  return useQuery({
    queryKey: keys.models(integrationId, provider),
    enabled,
    staleTime: 5 * 60_000,
    retry: false,
    queryFn: () => api<ModelList>(`/api/models?${query}`),
  });
}

/** Create, rename, duplicate, delete — invalidating the library after each. */
export function useWorkflowMutations() {
  const client = useQueryClient();
  const done = () => client.invalidateQueries({ queryKey: keys.workflows });
  return {
    create: useMutation({
      mutationFn: (body: { name: string; definition: WorkflowDefinition; description?: string }) =>
        api<WorkflowRecord>("/api/workflows", { method: "POST", json: body }),
      onSuccess: done,
    }),
    update: useMutation({
      mutationFn: ({ id, ...body }: { id: string; name?: string; definition?: WorkflowDefinition }) =>
        api<WorkflowRecord>(`/api/workflows/${id}`, { method: "PUT", json: body }),
      onSuccess: (w) => {
        client.setQueryData(keys.workflow(w.id), w);
        void client.invalidateQueries({ queryKey: keys.versions(w.id) });
        return done();
      },
    }),
    remove: useMutation({
      mutationFn: (id: string) => api(`/api/workflows/${id}`, { method: "DELETE" }),
      onSuccess: done,
    }),
  };
}

/** One page of the audit trail; `query` is the URL query (filters, page, limit). */
export function useAudit(query: string) {
  // Records of runs arrive with their projection: look again now and then.
  return useQuery({ queryKey: keys.audit(query), refetchInterval: 2000, queryFn: () => api<AuditPage>(`/api/audit?${query}`) });
}

/** A workflow's triggers, refreshed while the panel is open (next fires move on). */
export function useTriggers(workflowId: string) {
  return useQuery({
    queryKey: keys.triggers(workflowId),
    refetchInterval: 5000,
    queryFn: async () =>
      (await api<{ triggers: Trigger[] }>(`/api/triggers?workflow_id=${encodeURIComponent(workflowId)}`)).triggers,
  });
}

/** Create, pause, resume, delete a trigger — refreshing the workflow's list after each. */
export function useTriggerMutations(workflowId: string) {
  const client = useQueryClient();
  const done = () => client.invalidateQueries({ queryKey: keys.triggers(workflowId) });
  return {
    create: useMutation({
      mutationFn: (body: Record<string, unknown>) => api<Trigger>("/api/triggers", { method: "POST", json: body }),
      onSuccess: done,
    }),
    setPaused: useMutation({
      mutationFn: ({ id, paused }: { id: string; paused: boolean }) =>
        api<Trigger>(`/api/triggers/${id}/${paused ? "pause" : "resume"}`, { method: "POST" }),
      onSuccess: done,
    }),
    remove: useMutation({
      mutationFn: (id: string) => api(`/api/triggers/${id}`, { method: "DELETE" }),
      onSuccess: done,
    }),
  };
}
