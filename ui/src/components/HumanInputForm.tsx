/** The form a waiting `user_input` node asks a person to fill in (or approve / reject). */
import { useState } from "react";
import { api } from "../api/client";
import { defaults, inputFieldsToForm, validateConfig } from "../lib/schemaForm";
import { ValueForm } from "./ValueForm";

interface Props {
  executionId: string;
  nodeId: string;
  request: Record<string, unknown>;
  /** Called once the server accepted the answer. */
  onAnswered?: () => void;
}

export function HumanInputForm({ executionId, nodeId, request, onAnswered }: Props) {
  const fields = inputFieldsToForm((request.schema ?? {}) as Parameters<typeof inputFieldsToForm>[0]);
  const [values, setValues] = useState<Record<string, unknown>>(() => defaults(fields));
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const [tried, setTried] = useState(false);
  const approval = request.mode === "approval";

  const send = async (extra: Record<string, unknown> = {}) => {
    setTried(true);
    if (Object.keys(validateConfig(fields, values)).length) return;
    setError(null);
    try {
      await api(`/api/executions/${executionId}/nodes/${encodeURIComponent(nodeId)}/input`, {
        method: "POST",
        json: { input: { ...values, ...extra } },
      });
      setSent(true);
      onAnswered?.();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <form
      aria-label={`Input for ${nodeId}`}
      data-testid={`human-input-${nodeId}`}
      className="flex flex-col gap-2 rounded border border-amber-400 bg-amber-50 p-3 dark:bg-amber-950"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <div className="text-xs font-semibold text-amber-700 dark:text-amber-300">
        Waiting for you · <span className="font-mono">{nodeId}</span>
      </div>
      {typeof request.prompt === "string" && request.prompt && <p className="font-medium">{request.prompt}</p>}
      <ValueForm idPrefix={`answer-${nodeId}`} fields={fields} values={values} onChange={setValues} showErrors={tried} />
      {error && <p className="field-error" role="alert">{error}</p>}
      {sent ? (
        <p className="muted">Answer sent.</p>
      ) : approval ? (
        <div className="flex gap-2">
          <button type="button" className="btn btn-primary" onClick={() => send({ approved: true })}>
            Approve
          </button>
          <button type="button" className="btn btn-danger" onClick={() => send({ approved: false })}>
            Reject
          </button>
        </div>
      ) : (
        <button type="submit" className="btn btn-primary self-start">
          Submit answer
        </button>
      )}
    </form>
  );
}
