/** The last run of a workflow, as the builder's completion and previews use it. */
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { scopeFromDetail, scopeFromView } from "../lib/runSample";
import type { Scope } from "../lib/references";
import { useExecutionStore } from "../stores/executionStore";
import { api } from "./client";
import type { ExecutionDetail, ExecutionPage } from "./types";

/** The newest run (test runs included) of `workflowId` from the execution API, or null. */
function useLastRun(workflowId: string | null, enabled: boolean) {
  return useQuery({
    queryKey: ["last-run", workflowId],
    enabled: enabled && !!workflowId,
    staleTime: 10_000,
    queryFn: async () => {
      const base = `/api/executions?limit=1&workflow_id=${encodeURIComponent(workflowId!)}`;
      const [runs, tests] = await Promise.all([api<ExecutionPage>(base), api<ExecutionPage>(`${base}&test=true`)]);
      const newest = [...runs.executions, ...tests.executions].sort((a, b) => (b.started_at ?? "").localeCompare(a.started_at ?? ""))[0];
      return newest ? api<ExecutionDetail>(`/api/executions/${encodeURIComponent(newest.id)}`) : null;
    },
  });
}

/**
 * What the last run recorded (inputs, variables, node outputs): the run shown in this tab
 * when it belongs to `workflowId`, else the newest one the execution API has.
 */
export function useRunSample(workflowId: string | null): { scope: Scope | null; executionId: string | null } {
  // Changes with durable events only: streamed tokens must not rebuild every suggestion.
  const shownKey = useExecutionStore((s) =>
    s.shown && (!s.shown.workflowId || s.shown.workflowId === workflowId) ? `${s.shown.executionId}:${s.shown.lastSeq}` : "",
  );
  const fetched = useLastRun(workflowId, !shownKey).data;
  return useMemo(() => {
    const here = shownKey ? useExecutionStore.getState().shown : null;
    if (here) return { scope: scopeFromView(here), executionId: here.executionId };
    if (fetched) return { scope: scopeFromDetail(fetched), executionId: fetched.id };
    return { scope: null, executionId: null };
  }, [shownKey, fetched]);
}
