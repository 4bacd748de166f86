/**
 * Publishing the draft: what changed since the published version, and for each running or
 * waiting execution whether it could go on under the new version, must stay pinned to
 * its own, or is incompatible (the node it is on was removed or changed).
 */
import * as Dialog from "@radix-ui/react-dialog";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError } from "../api/client";
import { conflictRevision } from "../api/draftSync";
import { type CompatibilityReport, draftApi, type Problem, type Published } from "../api/drafts";
import { keys } from "../api/hooks";
import { problemSentence, problemsToErrors } from "../lib/problems";
import { diffSummary } from "../lib/versionDiff";
import { useGraphStore } from "../stores/graphStore";
import { DiffView } from "./DiffView";

const VERDICT: Record<string, { label: string; className: string }> = {
  safe: { label: "safe to continue", className: "text-emerald-700 dark:text-emerald-400" },
  pinned: { label: "stays on its version", className: "text-amber-700 dark:text-amber-400" },
  incompatible: { label: "incompatible", className: "text-rose-600" },
};

interface Props {
  workflowId: string;
  /** Sends pending edits; false when the draft did not reach the server. */
  flush(): Promise<boolean>;
  onPublished(published: Published): void;
}

export function PublishDialog({ workflowId, flush, onPublished }: Props) {
  const [open, setOpen] = useState(false);
  const [report, setReport] = useState<CompatibilityReport | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const client = useQueryClient();
  const dirty = useGraphStore((s) => s.dirty || s.hasDraft);

  const check = async () => {
    setReport(null);
    setProblems([]);
    setError(null);
    setOpen(true);
    if (!(await flush())) {
      setError("The draft could not be saved; resolve that first.");
      return;
    }
    try {
      setReport(await draftApi.compatibility(workflowId));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const publish = async () => {
    setBusy(true);
    setError(null);
    try {
      if (!(await flush())) throw new Error("The draft could not be saved; resolve that first.");
      const published = await draftApi.publish(workflowId, useGraphStore.getState().revision);
      client.setQueryData(keys.workflow(workflowId), published.workflow);
      await client.invalidateQueries({ queryKey: keys.versions(workflowId) });
      onPublished(published);
      setOpen(false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        const found = Array.isArray(e.details) ? (e.details as Problem[]) : [{ node_id: null, field: null, code: "invalid", message: e.message }];
        setProblems(found);
        useGraphStore.getState().setServerErrors(problemsToErrors(found));
        setError("The draft has problems to fix before it can be published.");
      } else if (conflictRevision(e) !== null) {
        useGraphStore.getState().setSync("conflict", { conflictRevision: conflictRevision(e) });
        setError("The workflow was changed elsewhere; reload or overwrite first.");
      } else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const executions = report?.executions ?? [];
  return (
    <Dialog.Root open={open} onOpenChange={setOpen}>
      <button className="btn btn-primary whitespace-nowrap" onClick={() => void check()} data-action="publish" title="Publish the draft as a new version">
        Publish{dirty ? " •" : ""}
      </button>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className="panel fixed left-1/2 top-1/2 z-50 max-h-[85vh] w-[34rem] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg border p-4 shadow-xl">
          <Dialog.Title className="mb-1 font-semibold">Publish a new version</Dialog.Title>
          <Dialog.Description className="muted mb-3 text-xs">
            Runs, triggers and batches use the published version; test runs can use the draft. Executions already started always finish on the version they started with.
          </Dialog.Description>
          {!report && !error && <p className="muted">Checking…</p>}
          {report && (
            <>
              <h3 className="mb-1 text-sm font-semibold">Changes since version {report.version}: {diffSummary(report.diff)}</h3>
              <DiffView diff={report.diff} />
              <h3 className="mb-1 mt-3 text-sm font-semibold" data-testid="compatibility-heading">
                Running and waiting executions
              </h3>
              {executions.length === 0 ? (
                <p className="muted text-xs">None: nothing is running on an older version.</p>
              ) : (
                <ul className="flex flex-col gap-1 text-xs" data-testid="compatibility">
                  {executions.map((e) => (
                    <li key={e.execution_id} data-verdict={e.verdict} className="flex flex-col">
                      <span>
                        <span className="font-mono">{e.execution_id.slice(0, 12)}</span> · v{e.workflow_version ?? "?"} · {e.status}
                        {e.test ? " · test" : ""} · <span className={VERDICT[e.verdict].className}>{VERDICT[e.verdict].label}</span>
                      </span>
                      <span className="muted">{e.reason}</span>
                    </li>
                  ))}
                  {report.truncated && <li className="muted">More executions are not listed.</li>}
                </ul>
              )}
            </>
          )}
          {problems.length > 0 && (
            <ul className="field-error mt-2 list-disc pl-4 text-xs" data-testid="publish-problems">
              {problems.map((p, i) => (
                <li key={i}>{problemSentence(p)}</li>
              ))}
            </ul>
          )}
          {error && <p className="field-error mt-2">{error}</p>}
          <div className="mt-3 flex gap-2">
            <button className="btn btn-primary" disabled={!report || busy} onClick={() => void publish()} data-action="confirm-publish">
              {busy ? "Publishing…" : "Publish"}
            </button>
            <Dialog.Close asChild>
              <button className="btn">Cancel</button>
            </Dialog.Close>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
