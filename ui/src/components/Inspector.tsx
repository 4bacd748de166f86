/** What one node did in the shown execution: status, attempts, input, output, error, usage. */
import { Link } from "react-router";
import { completedOutputs } from "../lib/executionState";
import { resolveReferences } from "../lib/references";
import { useExecutionStore } from "../stores/executionStore";
import { StatusBadge } from "./StatusBadge";

const json = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

/** Token counts and cost, wherever the node's output reports them. */
function usageOf(output: unknown): Record<string, unknown> | null {
  if (!output || typeof output !== "object") return null;
  const o = output as Record<string, unknown>;
  const usage = (o.usage ?? o.tokens ?? null) as Record<string, unknown> | null;
  const cost = o.cost_usd ?? o.cost;
  if (!usage && cost == null) return null;
  return { ...(typeof usage === "object" ? usage : { tokens: usage }), ...(cost != null ? { cost_usd: cost } : {}) };
}

export function Inspector({ nodeId, detail }: { nodeId: string; detail?: Record<string, unknown> }) {
  const shown = useExecutionStore((s) => s.shown);
  const node = shown?.nodes[nodeId];
  if (!shown || !node) return <p className="muted p-3">No run data for {nodeId} yet. Run the workflow to see it here.</p>;
  const recorded = ((detail?.nodes as Record<string, Record<string, unknown>> | undefined) ?? {})[nodeId];
  // The server records only a hash of a node's resolved input; resolve its recorded config
  // against what had happened when it was scheduled (references to inputs, vars, outputs).
  const config = shown.definition.nodes?.[nodeId]?.data;
  const input =
    recorded?.input ??
    (node.status !== "pending" && node.status !== "skipped" && config && Object.keys(config).length
      ? resolveReferences(config, { inputs: shown.inputs, vars: shown.vars, outputs: completedOutputs(shown) })
      : undefined);
  const usage = usageOf(node.output) ?? (recorded?.usage as Record<string, unknown> | undefined) ?? null;
  return (
    <div className="flex flex-col gap-3 p-3" data-testid={`inspector-${nodeId}`}>
      <div className="flex items-center gap-2">
        <span className="font-mono font-semibold">{nodeId}</span>
        <StatusBadge status={node.status} suffix={node.attempt > 1 ? ` · attempt ${node.attempt}` : undefined} />
        {node.durationMs !== undefined && <span className="muted text-xs">{node.durationMs.toFixed(1)} ms</span>}
      </div>
      {node.handles && node.handles.length > 0 && <div className="text-xs">Branch taken: <b>{node.handles.join(", ")}</b></div>}
      {node.streamed && (
        <section>
          <h4 className="muted text-xs font-semibold uppercase">{node.status === "running" ? "Streaming" : "Streamed"}</h4>
          <pre data-testid="inspector-stream" className="whitespace-pre-wrap rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{node.streamed}</pre>
        </section>
      )}
      {input !== undefined && (
        <section>
          <h4 className="muted text-xs font-semibold uppercase">Resolved input</h4>
          <pre data-testid="inspector-input" className="max-h-40 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{json(input)}</pre>
        </section>
      )}
      {node.status === "completed" && (
        <section>
          <h4 className="muted text-xs font-semibold uppercase">Output</h4>
          <pre data-testid="inspector-output" className="max-h-60 overflow-auto whitespace-pre-wrap rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">
            {node.outputRef ? `(stored as ${node.outputRef})` : json(node.output)}
          </pre>
        </section>
      )}
      {usage && (
        <section>
          <h4 className="muted text-xs font-semibold uppercase">Tokens and cost</h4>
          <pre className="rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{json(usage)}</pre>
        </section>
      )}
      {node.error && (
        <section>
          <h4 className="text-xs font-semibold uppercase text-rose-600">Error ({node.error.kind ?? "error"})</h4>
          <pre className="whitespace-pre-wrap text-xs text-rose-700 dark:text-rose-300">{node.error.message}</pre>
        </section>
      )}
      {node.progress.length > 0 && (
        <section>
          <h4 className="muted text-xs font-semibold uppercase">Steps</h4>
          <ol className="text-xs">
            {node.progress.map((p) => (
              <li key={p.key} className="truncate" title={json(p.data ?? null)}>
                {p.key}
              </li>
            ))}
          </ol>
        </section>
      )}
      {node.children.length > 0 && (
        <section>
          <h4 className="muted text-xs font-semibold uppercase">Child executions</h4>
          <ol className="text-xs">
            {node.children.map((c) => (
              <li key={c.index} className="flex gap-2">
                <span>#{c.index}</span>
                <Link className="font-mono underline" to={`/executions/${c.executionId}`}>
                  {c.executionId}
                </Link>
                <StatusBadge status={c.status} />
              </li>
            ))}
          </ol>
        </section>
      )}
      {node.attempts.length > 0 && (
        <section>
          <h4 className="muted text-xs font-semibold uppercase">Attempts</h4>
          <ol className="text-xs">
            {node.attempts.map((a) => (
              <li key={a.attempt}>
                #{a.attempt} {a.status}
                {a.durationMs !== undefined ? ` · ${a.durationMs.toFixed(1)} ms` : ""}
                {a.error ? ` · ${a.error.message}` : ""}
              </li>
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}
