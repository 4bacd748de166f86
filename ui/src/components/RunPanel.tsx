/** Run and Test with an inputs form, live status, human-input forms, Cancel, and history. */
import { useEffect, useMemo, useState } from "react";
import { Link } from "react-router";
import { api } from "../api/client";
import { useExecutions } from "../api/hooks";
import { isTerminal } from "../lib/executionState";
import { defaults, inputFieldsToForm, validateConfig } from "../lib/schemaForm";
import { useExecutionStore } from "../stores/executionStore";
import { useGraphStore } from "../stores/graphStore";
import { HumanInputForm } from "./HumanInputForm";
import { StatusBadge } from "./StatusBadge";
import { ValueForm } from "./ValueForm";

interface Props {
  /** Saves the draft when it has unsaved changes; resolves false when saving failed. */
  ensureSaved(): Promise<boolean>;
  onRunError(message: string): void;
}

export function RunPanel({ ensureSaved, onRunError }: Props) {
  const workflowId = useGraphStore((s) => s.workflowId)!;
  const version = useGraphStore((s) => s.version);
  const hasDraft = useGraphStore((s) => s.hasDraft);
  const nodes = useGraphStore((s) => s.nodes);
  const live = useExecutionStore((s) => s.live);
  const executionId = useExecutionStore((s) => s.executionId);
  const connection = useExecutionStore((s) => s.connection);
  const eventCount = useExecutionStore((s) => s.records.length);
  const follow = useExecutionStore((s) => s.follow);
  const history = useExecutions(workflowId, !!live && !isTerminal(live.status));

  const fields = useMemo(
    () =>
      inputFieldsToForm(
        Object.assign({}, ...nodes.filter((n) => n.type === "input").map((n) => (n.data.schema ?? {}) as Record<string, never>)),
      ),
    [nodes],
  );
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const inputs = { ...defaults(fields), ...values };
  const ended = !!live && isTerminal(live.status);
  const { refetch } = history;
  useEffect(() => {
    // The history is a read model that trails the log a little; look again once it ends.
    if (!ended) return;
    const timer = setTimeout(() => void refetch(), 800);
    return () => clearTimeout(timer);
  }, [ended, refetch]);

  const start = async (test: boolean) => {
    setTried(true);
    if (Object.keys(validateConfig(fields, inputs)).length) return;
    setBusy(true);
    try {
      if (!(await ensureSaved())) return;
      const started = test
        ? await api<{ execution_id: string }>(`/api/workflows/${workflowId}/test`, { method: "POST", json: { inputs, draft: true } })
        : await api<{ execution_id: string }>("/api/workflows/execute", { method: "POST", json: { workflow_id: workflowId, inputs } });
      follow(started.execution_id, useGraphStore.getState().definition());
      void history.refetch();
    } catch (e) {
      onRunError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const control = (action: "cancel" | "pause" | "resume") =>
    executionId && api(`/api/executions/${executionId}/${action}`, { method: "POST", json: {} }).catch((e) => onRunError(String(e)));
  const waiting = live ? Object.entries(live.nodes).filter(([, n]) => n.status === "waiting" && n.request) : [];
  const running = !!live && !isTerminal(live.status);

  return (
    <div className="flex flex-col gap-3 p-3">
      <section aria-label="Inputs">
        <h3 className="mb-2 font-semibold">Inputs</h3>
        {fields.length ? (
          <ValueForm idPrefix="run-input" fields={fields} values={inputs} onChange={setValues} showErrors={tried} />
        ) : (
          <p className="muted text-xs">This workflow declares no inputs (add an Input node to declare some).</p>
        )}
        {hasDraft && (
          <p className="muted mt-2 text-xs" data-testid="run-hint">
            ▶ Run uses the published version{version ? ` v${version}` : ""}; Test runs your draft.
          </p>
        )}
        <div className="mt-3 flex gap-2">
          <button className="btn btn-primary" data-action="run" onClick={() => start(false)} disabled={busy} title={`Run the published version${version ? ` (v${version})` : ""} (Ctrl+Enter)`}>
            ▶ Run
          </button>
          <button className="btn" onClick={() => start(true)} disabled={busy} title="Test-run the draft as it is now">
            Test
          </button>
          {running && live.status === "running" && (
            <button className="btn" data-action="pause" onClick={() => control("pause")} title="Start no new node until resumed">
              ⏸ Pause
            </button>
          )}
          {running && live.status === "paused" && (
            <button className="btn" data-action="resume" onClick={() => control("resume")}>
              ⏵ Resume
            </button>
          )}
          {running && (
            <button className="btn btn-danger" onClick={() => control("cancel")}>
              Cancel
            </button>
          )}
        </div>
      </section>

      {live && (
        <section aria-label="Current run" className="flex flex-col gap-2" data-connection={connection} data-events={eventCount}>
          <div className="flex items-center gap-2">
            <h3 className="font-semibold">Run</h3>
            <StatusBadge status={live.status} />
            {connection === "reconnecting" && <span className="text-xs text-amber-600">reconnecting…</span>}
            <Link to={`/executions/${live.executionId}`} className="ml-auto text-xs underline">
              open
            </Link>
          </div>
          <div className="muted font-mono text-[10px]" data-testid="execution-id">{live.executionId}</div>
          {waiting.map(([nodeId, node]) => (
            <HumanInputForm key={`${live.executionId}-${nodeId}-${node.attempt}`} executionId={live.executionId} nodeId={nodeId} request={node.request!} />
          ))}
          {live.error && <p className="field-error">{live.error.message}</p>}
          {live.status === "completed" && (
            <pre data-testid="run-outputs" className="max-h-40 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">
              {JSON.stringify(live.outputs, null, 2)}
            </pre>
          )}
        </section>
      )}

      <section aria-label="History">
        <h3 className="mb-1 font-semibold">History</h3>
        <ul className="flex flex-col gap-1 text-xs">
          {(history.data ?? []).map((e) => (
            <li key={e.id}>
              <Link to={`/executions/${e.id}`} className="flex items-center gap-2 hover:underline" data-execution={e.id}>
                <StatusBadge status={e.status} />
                <span>{e.started_at ? new Date(e.started_at).toLocaleString() : ""}</span>
                <span className="muted ml-auto">{e.duration_ms != null ? `${Math.round(e.duration_ms)} ms` : ""}</span>
                {e.test && <span className="muted">test</span>}
                {e.trigger_kind && <span className="muted" title={`started by trigger ${e.trigger_id ?? ""}`}>{e.trigger_kind}</span>}
              </Link>
            </li>
          ))}
          {history.data?.length === 0 && <li className="muted">No runs yet.</li>}
        </ul>
      </section>
    </div>
  );
}
