/** The confirmation before a re-run or retry: the nodes with external effects (requests,
 * writes, messages) the new run would run again, with the idempotency keys they carry;
 * the user starts it or cancels. */
import * as Dialog from "@radix-ui/react-dialog";
import { useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import { effectLabel, effectsPath, mergeEffects, NEW_RUN, type EffectNode, type EffectsPreview } from "../lib/reruns";

export interface PendingRun {
  /** "Re-run", "Retry from b": the dialog's title. */
  title: string;
  executionId: string;
  /** The nodes the run starts from (a preview is read for each); a function when they
   * must be read first (the executions list knows no definitions). */
  from: string[] | (() => Promise<string[]>);
  start(): Promise<void>;
}

type Loaded = { effects: EffectNode[]; unknown: string[] };

export function EffectsConfirm({ pending, onClose }: { pending: PendingRun | null; onClose(): void }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setLoaded(null);
    setError(null);
    if (!pending) return;
    let live = true;
    void (async () => {
      try {
        const from = typeof pending.from === "function" ? await pending.from() : pending.from;
        if (!from.length) throw new Error("The run's definition could not be read: its side effects are not known.");
        const previews = await Promise.all(from.map((node) => api<EffectsPreview>(effectsPath(pending.executionId, node))));
        if (live) setLoaded(mergeEffects(previews));
      } catch (e) {
        if (live) setError(e instanceof ApiError ? e.message : String(e));
      }
    })();
    return () => {
      live = false;
    };
  }, [pending]);

  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    setError(null);
    try {
      await pending.start();
      onClose();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog.Root open={!!pending} onOpenChange={(open) => !open && onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className="panel fixed left-1/2 top-1/2 z-50 max-h-[85vh] w-[34rem] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg border p-4 shadow-xl" data-testid="effects-confirm">
          <Dialog.Title className="mb-1 font-semibold">{pending?.title}</Dialog.Title>
          <Dialog.Description className="muted mb-3 text-xs">
            The nodes with external effects (requests, writes, messages) the new run runs again, with the idempotency keys their commands carry ({NEW_RUN} stands for the new run's id, given when it starts): a service that deduplicates by key sees each as new.
          </Dialog.Description>
          {!loaded && !error && <p className="muted">Checking side effects…</p>}
          {loaded &&
            (loaded.effects.length === 0 && loaded.unknown.length === 0 ? (
              <p className="text-sm" data-testid="no-effects">
                No node with external effects runs again.
              </p>
            ) : (
              <ul className="flex flex-col gap-1 text-xs" data-testid="effects">
                {loaded.effects.map((effect) => (
                  <li key={[...(effect.via ?? []), effect.node_id].join("/")} data-node={effect.node_id} className="flex flex-col">
                    <span className="font-medium">{effectLabel(effect)}</span>
                    <span className="muted font-mono">key {effect.idempotency_key}</span>
                  </li>
                ))}
                {loaded.unknown.map((id) => (
                  <li key={id} className="muted">
                    {id}: its body is not known here; its effects are not listed.
                  </li>
                ))}
              </ul>
            ))}
          {error && (
            <p className="field-error mt-2" role="alert">
              {error}
            </p>
          )}
          <div className="mt-4 flex justify-end gap-2">
            <Dialog.Close className="btn">Cancel</Dialog.Close>
            <button className="btn btn-primary" disabled={busy || !loaded} onClick={() => void confirm()}>
              Start
            </button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
