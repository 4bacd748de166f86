/** "Test this node": run the selected node alone, on what it received in a recorded run
 * or on upstream outputs typed in, and show its result (the rest of the workflow does not
 * run; the test run is listed with the test runs). */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiError } from "../api/client";
import type { ExecutionPage } from "../api/types";
import { ancestors, parseUpstream, testOutcome, upstreamTemplate, type DerivedStart } from "../lib/reruns";
import { useGraphStore } from "../stores/graphStore";

const json = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

export function TestNodePanel({ workflowId, nodeId }: { workflowId: string; nodeId: string }) {
  const edges = useGraphStore((s) => s.edges);
  const upstream = ancestors(edges, nodeId);
  const [source, setSource] = useState<string>("");
  const [text, setText] = useState<string>("");
  const [testId, setTestId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const runs = useQuery({
    queryKey: ["executions", workflowId, "for-test"],
    queryFn: async () => (await api<ExecutionPage>(`/api/executions?workflow_id=${workflowId}&limit=10`)).executions,
  });
  const result = useQuery({
    queryKey: ["execution", testId],
    enabled: !!testId,
    queryFn: () => api<Record<string, unknown>>(`/api/executions/${testId}`),
    refetchInterval: (query) => (testOutcome(query.state.data, nodeId).state === "running" ? 500 : false),
  });
  const outcome = testId ? testOutcome(result.data, nodeId) : null;

  const editing = source === "edit";
  const run = async () => {
    setError(null);
    let body: Record<string, unknown>;
    if (editing) {
      const parsed = parseUpstream(text);
      if (parsed.error) return setError(parsed.error);
      body = { inputs: parsed.value };
    } else if (source) body = { execution_id: source };
    else return setError("pick a recorded run or edit the inputs");
    try {
      const started = await api<DerivedStart>(`/api/workflows/${workflowId}/nodes/${nodeId}/test`, { method: "POST", json: body });
      setTestId(started.execution_id);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  return (
    <section className="flex flex-col gap-2 border-t p-3 text-xs" aria-label={`Test ${nodeId}`} data-testid="test-node">
      <h4 className="font-semibold">Test this node</h4>
      <label htmlFor={`test-source-${nodeId}`}>Inputs</label>
      <select
        id={`test-source-${nodeId}`}
        value={source}
        onChange={(e) => {
          setSource(e.target.value);
          if (e.target.value === "edit" && !text) setText(upstreamTemplate(upstream));
        }}
      >
        <option value="">—</option>
        {(runs.data ?? []).map((r) => (
          <option key={r.id} value={r.id}>
            as in run {r.id.slice(-8)} ({r.status})
          </option>
        ))}
        <option value="edit">edit inputs…</option>
      </select>
      {editing && (
        <textarea aria-label="Upstream outputs" rows={6} className="w-full font-mono text-xs" value={text} onChange={(e) => setText(e.target.value)} />
      )}
      <button className="btn btn-primary" onClick={() => void run()}>
        Test this node
      </button>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {outcome && (
        <div data-testid="test-node-result" data-state={outcome.state}>
          <span className="font-semibold">{outcome.state}</span>
          {outcome.output !== undefined && <pre className="mt-1 max-h-60 overflow-auto whitespace-pre-wrap rounded bg-slate-100 p-2 dark:bg-slate-800">{json(outcome.output)}</pre>}
          {outcome.error && <p className="field-error">{outcome.error}</p>}
        </div>
      )}
    </section>
  );
}
