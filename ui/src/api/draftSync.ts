/**
 * Autosave of the draft: edits are sent to the server shortly after they stop, one write
 * at a time, each naming the revision it builds on. A 409 means another tab or user wrote
 * since: the editor stops saving and offers to reload theirs or overwrite with its own.
 */
import { useCallback, useEffect, useRef } from "react";
import { problemsToErrors } from "../lib/problems";
import { useGraphStore } from "../stores/graphStore";
import { ApiError } from "./client";
import { type Draft, draftApi } from "./drafts";

/** Quiet time after the last edit before the draft is sent. */
export const AUTOSAVE_DELAY_MS = 800;

/** The revision a 409 `EDIT_CONFLICT` reports the server holds. */
export function conflictRevision(error: unknown): number | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  const revision = (error.details as { revision?: unknown } | undefined)?.revision;
  return typeof revision === "number" ? revision : null;
}

/** Loads a draft into the editor (the server's problems shown on nodes and fields). */
export function loadDraft(draft: Draft): void {
  const g = useGraphStore.getState();
  g.load({ id: draft.workflow_id, name: draft.name, version: draft.version, definition: draft.definition, revision: draft.revision, hasDraft: draft.has_draft });
  g.setServerErrors(problemsToErrors(draft.problems));
}

export function useDraftSync(workflowId: string) {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const inflight = useRef<Promise<boolean> | null>(null);

  const send = useCallback(
    async (revision?: number): Promise<boolean> => {
      while (inflight.current) await inflight.current;
      const g = useGraphStore.getState();
      if (revision === undefined && (!g.dirty || g.sync === "conflict")) return g.sync !== "conflict";
      const sent = { nodes: g.nodes, edges: g.edges, name: g.name };
      g.setSync("saving");
      const run = (async () => {
        try {
          const draft = await draftApi.save(workflowId, { name: g.name, definition: g.definition() }, revision ?? g.revision);
          useGraphStore.getState().markDraftSaved(draft.revision, sent, problemsToErrors(draft.problems));
          return true;
        } catch (e) {
          const theirs = conflictRevision(e);
          const store = useGraphStore.getState();
          if (theirs !== null) store.setSync("conflict", { conflictRevision: theirs });
          else {
            store.setSync("error", { error: e instanceof Error ? e.message : String(e) });
            if (e instanceof ApiError && e.status === 429) timer.current = setTimeout(() => void send(), 5000);
          }
          return false;
        } finally {
          inflight.current = null;
        }
      })();
      inflight.current = run;
      return run;
    },
    [workflowId],
  );

  // Every edit (re)starts the quiet-time timer.
  useEffect(() => {
    const stop = useGraphStore.subscribe((s, prev) => {
      if (!s.dirty || s.readOnly || s.workflowId !== workflowId) return;
      if (s.nodes === prev.nodes && s.edges === prev.edges && s.name === prev.name && s.dirty === prev.dirty) return;
      if (s.sync === "saved" || s.sync === "error") s.setSync("pending");
      clearTimeout(timer.current);
      timer.current = setTimeout(() => void send(), AUTOSAVE_DELAY_MS);
    });
    return () => {
      stop();
      clearTimeout(timer.current);
    };
  }, [send, workflowId]);

  /** Send now (Ctrl+S, before a run, a publish or leaving); false when it did not reach the server. */
  const flush = useCallback(() => {
    clearTimeout(timer.current);
    return send();
  }, [send]);

  /** Resolve a conflict by taking what the server holds. */
  const reload = useCallback(async () => {
    clearTimeout(timer.current);
    loadDraft(await draftApi.get(workflowId));
  }, [workflowId]);

  /** Resolve a conflict by writing this editor's draft over what the server holds. */
  const overwrite = useCallback(async () => {
    const theirs = useGraphStore.getState().conflictRevision;
    useGraphStore.setState({ dirty: true });
    return send(theirs ?? undefined);
  }, [send]);

  return { flush, reload, overwrite };
}
