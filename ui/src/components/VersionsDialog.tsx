/** The version list: when each version was made, what it changed, and restore. */
import * as Dialog from "@radix-ui/react-dialog";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { conflictRevision } from "../api/draftSync";
import { draftApi, type VersionDiff } from "../api/drafts";
import { keys, useVersions } from "../api/hooks";
import type { WorkflowRecord } from "../api/types";
import { diffSummary } from "../lib/versionDiff";
import { useAuthStore } from "../stores/authStore";
import { useGraphStore } from "../stores/graphStore";
import { DiffView } from "./DiffView";

interface Props {
  workflowId: string;
  current: number | null;
  /** Sends pending edits first, so what a restore replaces is known to the server. */
  flush(): Promise<boolean>;
  onRestored(w: WorkflowRecord): void;
}

export function VersionsDialog({ workflowId, current, flush, onRestored }: Props) {
  const [open, setOpen] = useState(false);
  const versions = useVersions(workflowId, open);
  const client = useQueryClient();
  const me = useAuthStore((s) => s.user);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<VersionDiff | null>(null);

  const restore = async (version: number) => {
    setError(null);
    const g = useGraphStore.getState();
    if ((g.dirty || g.hasDraft) && !window.confirm(`Restoring version ${version} replaces your unpublished changes. Restore anyway?`)) return;
    try {
      await flush();
      await draftApi.restore(workflowId, version, useGraphStore.getState().sync === "conflict" ? null : useGraphStore.getState().revision);
      const workflow = await draftApi.get(workflowId);
      const record: WorkflowRecord = { id: workflowId, name: workflow.name, definition: workflow.definition, version: workflow.version };
      client.setQueryData(keys.workflow(workflowId), (old: WorkflowRecord | undefined) => ({ ...old, ...record }));
      await client.invalidateQueries({ queryKey: keys.versions(workflowId) });
      useGraphStore.getState().load({ ...record, revision: workflow.revision, hasDraft: workflow.has_draft });
      onRestored(record);
      setOpen(false);
    } catch (e) {
      setError(conflictRevision(e) !== null ? "The workflow was changed elsewhere since you loaded it; reload first." : e instanceof Error ? e.message : String(e));
    }
  };

  const showChanges = async (version: number) => {
    setError(null);
    if (shown?.version === version) return setShown(null);
    try {
      setShown(await draftApi.diff(workflowId, version, version - 1));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <Dialog.Root open={open} onOpenChange={(next) => (setOpen(next), setShown(null))}>
      <Dialog.Trigger asChild>
        <button className="btn whitespace-nowrap" title="Versions">
          Versions{current ? ` (v${current})` : ""}
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className="panel fixed left-1/2 top-1/2 z-50 max-h-[85vh] w-[32rem] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg border p-4 shadow-xl">
          <Dialog.Title className="mb-2 font-semibold">Versions</Dialog.Title>
          <Dialog.Description className="muted mb-3 text-xs">
            Every publish that changes more than layout creates a version. Restoring makes a new version with the old definition and discards the draft.
          </Dialog.Description>
          {versions.isLoading && <p className="muted">Loading…</p>}
          {error && <p className="field-error">{error}</p>}
          <ul className="max-h-96 divide-y divide-slate-200 overflow-y-auto dark:divide-slate-800">
            {[...(versions.data ?? [])].sort((a, b) => b.version - a.version).map((v) => (
              <li key={v.version} className="py-1.5" data-version={v.version}>
                <div className="flex items-center gap-2">
                  <span className="font-mono">v{v.version}</span>
                  <span className="muted flex-1 text-xs">
                    {v.created_by ?? v.author ?? me?.name ?? me?.email ?? "you"} · {v.created_at ? new Date(v.created_at).toLocaleString() : ""}
                    {"restored_from" in v && (v as { restored_from?: number | null }).restored_from ? ` · restored from v${(v as { restored_from?: number }).restored_from}` : ""}
                  </span>
                  {v.version > 1 && (
                    <button className="btn" onClick={() => void showChanges(v.version)} aria-expanded={shown?.version === v.version}>
                      Changes
                    </button>
                  )}
                  {v.version === current ? (
                    <span className="muted text-xs">current</span>
                  ) : (
                    <button className="btn" onClick={() => restore(v.version)}>
                      Restore
                    </button>
                  )}
                </div>
                {shown?.version === v.version && (
                  <div className="mt-1 rounded border border-slate-200 p-2 dark:border-slate-700" data-testid={`diff-v${v.version}`}>
                    <p className="mb-1 text-xs font-medium">
                      Since v{shown.against}: {diffSummary(shown.diff)}
                    </p>
                    <DiffView diff={shown.diff} />
                  </div>
                )}
              </li>
            ))}
          </ul>
          <Dialog.Close asChild>
            <button className="btn mt-3">Close</button>
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
