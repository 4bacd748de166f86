/** The version list: who saved each version and when, with restore. */
import * as Dialog from "@radix-ui/react-dialog";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api } from "../api/client";
import { keys, useVersions } from "../api/hooks";
import type { WorkflowRecord } from "../api/types";
import { useAuthStore } from "../stores/authStore";

export function VersionsDialog({ workflowId, current, onRestored }: { workflowId: string; current: number | null; onRestored(w: WorkflowRecord): void }) {
  const [open, setOpen] = useState(false);
  const versions = useVersions(workflowId, open);
  const client = useQueryClient();
  const me = useAuthStore((s) => s.user);
  const [error, setError] = useState<string | null>(null);

  const restore = async (version: number) => {
    setError(null);
    try {
      await api(`/api/workflows/${workflowId}/versions/${version}/restore`, { method: "POST", json: {} });
      const workflow = await api<WorkflowRecord>(`/api/workflows/${workflowId}`);
      client.setQueryData(keys.workflow(workflowId), workflow);
      await client.invalidateQueries({ queryKey: keys.versions(workflowId) });
      onRestored(workflow);
      setOpen(false);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <Dialog.Root open={open} onOpenChange={setOpen}>
      <Dialog.Trigger asChild>
        <button className="btn" title="Versions">
          Versions{current ? ` (v${current})` : ""}
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className="panel fixed left-1/2 top-1/2 z-50 w-[28rem] -translate-x-1/2 -translate-y-1/2 rounded-lg border p-4 shadow-xl">
          <Dialog.Title className="mb-2 font-semibold">Versions</Dialog.Title>
          <Dialog.Description className="muted mb-3 text-xs">Every save creates a version. Restoring makes a new version with the old definition.</Dialog.Description>
          {versions.isLoading && <p className="muted">Loading…</p>}
          {error && <p className="field-error">{error}</p>}
          <ul className="max-h-80 divide-y divide-slate-200 overflow-y-auto dark:divide-slate-800">
            {[...(versions.data ?? [])].sort((a, b) => b.version - a.version).map((v) => (
              <li key={v.version} className="flex items-center gap-2 py-1.5" data-version={v.version}>
                <span className="font-mono">v{v.version}</span>
                <span className="muted flex-1 text-xs">
                  {v.created_by ?? v.author ?? me?.name ?? me?.email ?? "you"} · {v.created_at ? new Date(v.created_at).toLocaleString() : ""}
                  {"restored_from" in v && (v as { restored_from?: number | null }).restored_from ? ` · restored from v${(v as { restored_from?: number }).restored_from}` : ""}
                </span>
                {v.version === current ? (
                  <span className="muted text-xs">current</span>
                ) : (
                  <button className="btn" onClick={() => restore(v.version)}>
                    Restore
                  </button>
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
