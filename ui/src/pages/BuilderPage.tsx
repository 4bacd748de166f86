import * as Tabs from "@radix-ui/react-tabs";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useBlocker, useParams } from "react-router";
import { ApiError } from "../api/client";
import { loadDraft, useDraftSync } from "../api/draftSync";
import { draftApi } from "../api/drafts";
import { useNodeTypes, useWorkflow } from "../api/hooks";
import type { WorkflowRecord } from "../api/types";
import { TopBar } from "../App";
import { NotFound } from "./NotFoundPage";
import { ConfigPanel } from "../components/ConfigPanel";
import { TestNodePanel } from "../components/TestNodePanel";
import { FlowCanvas } from "../components/FlowCanvas";
import { Inspector } from "../components/Inspector";
import { Palette } from "../components/Palette";
import { focusPaletteSearch } from "../components/paletteFocus";
import { RunPanel } from "../components/RunPanel";
import { TriggersPanel } from "../components/TriggersPanel";
import { PublishDialog } from "../components/PublishDialog";
import { VersionsDialog } from "../components/VersionsDialog";
import { STICKY_TYPE } from "../lib/canvas";
import { download, parseWorkflowFile, workflowFile } from "../lib/exchange";
import { branchHandles, isSink } from "../lib/handles";
import { SHORTCUTS, shortcutAction } from "../lib/shortcuts";
import { useExecutionStore } from "../stores/executionStore";
import { problemPlace } from "../lib/problems";
import { type SyncStatus, useGraphStore } from "../stores/graphStore";

const SYNC_TEXT: Record<SyncStatus, string> = {
  saved: "Draft saved",
  pending: "Unsaved changes",
  saving: "Saving draft…",
  conflict: "Changed elsewhere",
  error: "Draft not saved",
};

/** Unsaved edits are at risk: not yet on the server, or refused by it. */
const atRisk = () => {
  const { dirty, sync } = useGraphStore.getState();
  return dirty || sync === "saving" || sync === "conflict";
};

function Builder({ workflow }: { workflow: WorkflowRecord }) {
  // Narrow selections: dragging a node must not re-render the panels.
  const name = useGraphStore((s) => s.name);
  const version = useGraphStore((s) => s.version);
  const sync = useGraphStore((s) => s.sync);
  const syncError = useGraphStore((s) => s.syncError);
  const hasDraft = useGraphStore((s) => s.hasDraft);
  const problemCount = useGraphStore((s) => Object.values(s.serverErrors).reduce((n, fields) => n + Object.keys(fields).length, 0));
  const canUndo = useGraphStore((s) => s.past.length > 0);
  const canRedo = useGraphStore((s) => s.future.length > 0);
  const workflowError = useGraphStore((s) => s.serverErrors[""]);
  const selectedIds = useGraphStore((s) => s.nodes.filter((n) => n.selected).map((n) => n.id).join("\n"));
  const graph = useGraphStore.getState();
  const { flush, reload, overwrite } = useDraftSync(workflow.id);
  const { fitView, screenToFlowPosition, setCenter, getZoom } = useReactFlow();
  const catalogue = useNodeTypes().data;
  const [loaded, setLoaded] = useState<string | null>(null);
  const clearRun = useExecutionStore((s) => s.clear);
  const [tab, setTab] = useState("config");
  const [notice, setNotice] = useState<{ text: string; error?: boolean } | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const selected = selectedIds ? selectedIds.split("\n") : [];

  useEffect(() => {
    // The editor edits the server's draft (or the published definition when there is none).
    let cancelled = false;
    clearRun();
    draftApi
      .get(workflow.id)
      .then((draft) => {
        if (cancelled) return;
        loadDraft(draft);
        setLoaded(workflow.id);
      })
      .catch((e) => setNotice({ text: `Could not load the draft: ${e instanceof Error ? e.message : String(e)}`, error: true }));
    return () => {
      cancelled = true;
    };
    // Load once per workflow id; later refetches must not discard edits.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workflow.id]);

  const save = useCallback(async (): Promise<boolean> => {
    const saved = await flush();
    const { sync, syncError } = useGraphStore.getState();
    if (saved) setNotice({ text: "Draft saved" });
    else setNotice({ text: sync === "conflict" ? "Not saved: the workflow was changed elsewhere" : `Not saved: ${syncError ?? ""}`, error: true });
    return saved;
  }, [flush]);

  const ensureSaved = useCallback(async () => flush(), [flush]);

  // Leaving, reloading or closing the tab with edits the server does not have yet asks first.
  useEffect(() => {
    const onUnload = (e: BeforeUnloadEvent) => {
      if (!atRisk()) return;
      void flush();
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", onUnload);
    return () => window.removeEventListener("beforeunload", onUnload);
  }, [flush]);
  const blocker = useBlocker(({ currentLocation, nextLocation }) => currentLocation.pathname !== nextLocation.pathname && atRisk());
  const asking = useRef(false);
  useEffect(() => {
    // Ask once per blocked navigation (the blocker object changes on every render).
    if (blocker.state !== "blocked" || asking.current) return;
    asking.current = true;
    void flush()
      .then((saved) => {
        if (saved || window.confirm("Your latest changes are not saved. Leave anyway?")) blocker.proceed();
        else blocker.reset();
      })
      .finally(() => {
        asking.current = false;
      });
  }, [blocker, flush]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      const typing = target?.closest?.("input, textarea, select, [contenteditable]");
      const action = shortcutAction(e);
      if (!action || (typing && action !== "save" && action !== "run")) return;
      const g = useGraphStore.getState();
      e.preventDefault();
      switch (action) {
        case "save":
          void save();
          break;
        case "undo":
          g.undo();
          break;
        case "redo":
          g.redo();
          break;
        case "copy":
          g.copy();
          break;
        case "paste":
          g.paste();
          break;
        case "delete":
          g.deleteSelected();
          break;
        case "selectAll":
          g.selectAll();
          break;
        case "run":
          setTab("run");
          setTimeout(() => document.querySelector<HTMLButtonElement>("[data-action=run]")?.click(), 0);
          break;
        case "layout":
          g.layout();
          setTimeout(() => fitView({ duration: 200, maxZoom: 1, padding: 0.2 }), 50);
          break;
        case "fit":
          void fitView({ duration: 200, maxZoom: 1, padding: 0.2 });
          break;
        case "escape":
          g.select(null);
          break;
        case "quickAdd":
          focusPaletteSearch();
          break;
        case "note":
          addNoteRef.current();
          break;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save, fitView]);

  const importFile = async (file: File) => {
    try {
      const { definition } = parseWorkflowFile(await file.text(), file.name);
      const g = useGraphStore.getState();
      g.checkpoint();
      g.load({ id: g.workflowId, name: g.name, version: g.version, definition, revision: g.revision, hasDraft: g.hasDraft });
      useGraphStore.setState({ dirty: true });
      setTimeout(() => fitView({ maxZoom: 1, padding: 0.2 }), 50);
    } catch (e) {
      setNotice({ text: `Import failed: ${e instanceof Error ? e.message : String(e)}`, error: true });
    }
  };

  // Quick-add connects from the one selected node (through its first free branch handle).
  const selectedNode = selected.length === 1 ? graph.nodes.find((n) => n.id === selected[0]) : undefined;
  const after = selectedNode && selectedNode.type !== STICKY_TYPE && !isSink(selectedNode.type) ? selectedNode : undefined;
  const add = (type: string) => {
    const g = useGraphStore.getState();
    if (g.readOnly) return;
    const source = after && g.nodes.find((n) => n.id === after.id);
    if (source) {
      const handles = branchHandles(source.type, source.data, catalogue?.find((n) => n.type === source.type));
      const used = new Set(g.edges.filter((e) => e.source === source.id).map((e) => e.sourceHandle));
      const id = g.addNodeAfter(type, source.id, handles.find((h) => !used.has(h)) ?? handles[0] ?? null);
      // Keep the new node in view, so a keyboard chain of quick-adds can be watched.
      const added = useGraphStore.getState().nodes.find((n) => n.id === id);
      if (added) void setCenter(added.position.x + 110, added.position.y + 40, { zoom: getZoom(), duration: 200 });
    } else {
      const count = g.nodes.length;
      g.addNode(type, { x: 100 + count * 30, y: 100 + count * 20 });
    }
  };
  const addNote = () => {
    const canvas = document.querySelector("[data-testid=canvas]")?.getBoundingClientRect();
    const centre = canvas ? screenToFlowPosition({ x: canvas.left + 40, y: canvas.top + 40 }) : { x: 0, y: 0 };
    if (useGraphStore.getState().addNote(centre) === null && !useGraphStore.getState().readOnly)
      setNotice({ text: "This workflow already has the most sticky notes it may hold.", error: true });
  };
  const addNoteRef = useRef(addNote);
  addNoteRef.current = addNote;

  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <input aria-label="Workflow name" className="w-56 font-medium" value={name} onChange={(e) => graph.setName(e.target.value)} />
        <span className={`whitespace-nowrap text-xs ${sync === "saved" ? "muted" : sync === "error" || sync === "conflict" ? "text-rose-600" : "text-amber-700 dark:text-amber-400"}`} data-testid="draft-status" data-sync={sync} title={syncError ?? "Edits are saved to a draft as you go (Ctrl+S saves now)"}>
          {sync === "saved" && !hasDraft ? `Published v${version ?? ""}` : SYNC_TEXT[sync]}
        </span>
        <PublishDialog
          workflowId={workflow.id}
          flush={flush}
          onPublished={(published) => {
            // The canvas already shows what was published; only the bookkeeping changes.
            const w = published.workflow;
            useGraphStore.setState({ version: w.version ?? null, revision: published.revision, hasDraft: false, serverErrors: {} });
            setNotice({ text: published.new_version ? `Published version ${w.version}` : `Published layout; still version ${w.version}` });
          }}
        />
        <VersionsDialog
          workflowId={workflow.id}
          current={version}
          flush={flush}
          onRestored={(w) => setNotice({ text: `Restored; now at version ${w.version}` })}
        />
        {problemCount > 0 && (
          <details className="relative text-xs" data-testid="problems">
            <summary className="cursor-pointer whitespace-nowrap text-rose-600">
              {problemCount} problem{problemCount > 1 ? "s" : ""}
            </summary>
            <ul className="panel absolute left-0 top-6 z-30 w-96 list-disc rounded border p-2 pl-6 shadow-lg">
              {Object.entries(useGraphStore.getState().serverErrors).flatMap(([nodeId, fields]) =>
                Object.entries(fields).map(([field, message]) => (
                  <li key={`${nodeId}:${field}`}>{nodeId ? `${problemPlace({ node_id: nodeId, field: field || null })}: ${message}` : message}</li>
                )),
              )}
            </ul>
          </details>
        )}
        <button className="btn" onClick={graph.undo} disabled={!canUndo} title="Undo (Ctrl+Z)" aria-label="Undo">↶</button>
        <button className="btn" onClick={graph.redo} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)" aria-label="Redo">↷</button>
        <button className="btn" onClick={() => { graph.layout(); setTimeout(() => fitView({ duration: 200, maxZoom: 1, padding: 0.2 }), 50); }} title="Auto-layout (Shift+L)">Layout</button>
        <button className="btn" onClick={() => fitView({ duration: 200, maxZoom: 1, padding: 0.2 })} title="Zoom to fit (Shift+F)">Fit</button>
        <button className="btn" onClick={() => download(`${name || "workflow"}.json`, workflowFile(name, graph.definition()))}>Export</button>
        <button className="btn" onClick={() => fileInput.current?.click()}>Import</button>
        <Link className="btn" to={`/workflows/${workflow.id}/batches`} title="Run this workflow once per row of a CSV">
          Batches
        </Link>
        <input ref={fileInput} type="file" accept=".json,application/json" hidden onChange={(e) => e.target.files?.[0] && importFile(e.target.files[0])} />
        {notice && (
          <span role="status" className={`truncate text-xs ${notice.error ? "text-rose-600" : "text-emerald-700 dark:text-emerald-400"}`}>
            {notice.text}
          </span>
        )}
      </TopBar>
      {sync === "conflict" && (
        <div role="alert" className="flex items-center gap-2 border-b border-rose-300 bg-rose-50 px-3 py-2 text-sm dark:bg-rose-950" data-testid="conflict">
          <span className="flex-1">This workflow was changed in another tab or by someone else since you loaded it. Your edits are kept here but not saved.</span>
          <button className="btn" onClick={() => void reload().then(() => setNotice({ text: "Reloaded the latest draft" }))}>
            Reload theirs
          </button>
          <button className="btn" onClick={() => void overwrite().then((ok) => ok && setNotice({ text: "Overwrote with your draft" }))}>
            Overwrite with mine
          </button>
        </div>
      )}
      <div className="flex min-h-0 flex-1">
        <Palette onAdd={add} onAddNote={addNote} after={after?.id ?? null} />
        <main className="relative min-w-0 flex-1">
          {loaded === workflow.id ? <FlowCanvas /> : <p className="muted p-6">Loading…</p>}
        </main>
        <Tabs.Root value={tab} onValueChange={setTab} className="panel flex w-80 shrink-0 flex-col border-l">
          <Tabs.List className="flex border-b border-slate-200 dark:border-slate-800" aria-label="Panels">
            {[["config", "Configure"], ["run", "Run"], ["triggers", "Triggers"], ["inspect", "Inspect"], ["keys", "Keys"]].map(([value, label]) => (
              <Tabs.Trigger key={value} value={value} className="flex-1 px-2 py-2 text-xs font-medium data-[state=active]:border-b-2 data-[state=active]:border-sky-500">
                {label}
              </Tabs.Trigger>
            ))}
          </Tabs.List>
          <div className="min-h-0 flex-1 overflow-y-auto">
            <Tabs.Content value="config">
              {selectedNode?.type === STICKY_TYPE ? (
                <p className="muted p-3">A sticky note: edit its text on the canvas. Notes are saved with the workflow and never run.</p>
              ) : selected.length === 1 ? (
                <>
                  <ConfigPanel key={selected[0]} nodeId={selected[0]} />
                  <TestNodePanel key={`test-${selected[0]}`} workflowId={workflow.id} nodeId={selected[0]} />
                </>
              ) : (
                <p className="muted p-3">{selected.length > 1 ? `${selected.length} nodes selected.` : "Select a node to configure it."}</p>
              )}
              {workflowError && <p className="field-error p-3">{Object.values(workflowError).join("; ")}</p>}
            </Tabs.Content>
            <Tabs.Content value="run">
              <RunPanel ensureSaved={ensureSaved} onRunError={(text) => setNotice({ text, error: true })} />
            </Tabs.Content>
            <Tabs.Content value="triggers">
              <TriggersPanel workflowId={workflow.id} />
            </Tabs.Content>
            <Tabs.Content value="inspect">
              {selected.length === 1 ? <Inspector nodeId={selected[0]} /> : <p className="muted p-3">Select a node to inspect its run.</p>}
            </Tabs.Content>
            <Tabs.Content value="keys">
              <dl className="grid grid-cols-2 gap-1 p-3 text-xs">
                {SHORTCUTS.map(([keys, what]) => (
                  <div key={keys} className="contents">
                    <dt className="font-mono">{keys}</dt>
                    <dd>{what}</dd>
                  </div>
                ))}
              </dl>
            </Tabs.Content>
          </div>
        </Tabs.Root>
      </div>
    </div>
  );
}

/** The builder: palette, canvas, config/run/inspect panels. */
export function BuilderPage() {
  const { id = "" } = useParams();
  const workflow = useWorkflow(id);
  if (workflow.error instanceof ApiError && workflow.error.status === 404) return <NotFound what="This workflow" />;
  if (workflow.error) return <p className="field-error p-6">{String(workflow.error)}</p>;
  if (!workflow.data) return <p className="muted p-6">Loading…</p>;
  return (
    <ReactFlowProvider>
      <Builder workflow={workflow.data} />
    </ReactFlowProvider>
  );
}
