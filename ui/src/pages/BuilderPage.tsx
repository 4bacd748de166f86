import * as Tabs from "@radix-ui/react-tabs";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../api/client";
import { useWorkflow, useWorkflowMutations } from "../api/hooks";
import type { WorkflowRecord } from "../api/types";
import { TopBar } from "../App";
import { NotFound } from "./NotFoundPage";
import { ConfigPanel } from "../components/ConfigPanel";
import { FlowCanvas } from "../components/FlowCanvas";
import { Inspector } from "../components/Inspector";
import { Palette } from "../components/Palette";
import { RunPanel } from "../components/RunPanel";
import { TriggersPanel } from "../components/TriggersPanel";
import { VersionsDialog } from "../components/VersionsDialog";
import { download, parseWorkflowFile, workflowFile } from "../lib/exchange";
import { SHORTCUTS, shortcutAction } from "../lib/shortcuts";
import { useExecutionStore } from "../stores/executionStore";
import { toServerErrors } from "../lib/serverErrors";
import { useGraphStore } from "../stores/graphStore";

function Builder({ workflow }: { workflow: WorkflowRecord }) {
  // Narrow selections: dragging a node must not re-render the panels.
  const name = useGraphStore((s) => s.name);
  const dirty = useGraphStore((s) => s.dirty);
  const version = useGraphStore((s) => s.version);
  const canUndo = useGraphStore((s) => s.past.length > 0);
  const canRedo = useGraphStore((s) => s.future.length > 0);
  const workflowError = useGraphStore((s) => s.serverErrors[""]);
  const selectedIds = useGraphStore((s) => s.nodes.filter((n) => n.selected).map((n) => n.id).join("\n"));
  const graph = useGraphStore.getState();
  const { update } = useWorkflowMutations();
  const { fitView } = useReactFlow();
  const clearRun = useExecutionStore((s) => s.clear);
  const [tab, setTab] = useState("config");
  const [notice, setNotice] = useState<{ text: string; error?: boolean } | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const selected = selectedIds ? selectedIds.split("\n") : [];

  useEffect(() => {
    useGraphStore.getState().load({ id: workflow.id, name: workflow.name, version: workflow.version, definition: workflow.definition });
    clearRun();
    // Load once per workflow id; later refetches must not discard edits.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workflow.id]);

  const save = useCallback(async (): Promise<boolean> => {
    const { workflowId, name, definition, markSaved, setServerErrors } = useGraphStore.getState();
    try {
      const saved = await update.mutateAsync({ id: workflowId!, name, definition: definition() });
      markSaved(saved.version ?? null);
      setNotice({ text: `Saved version ${saved.version ?? ""}` });
      return true;
    } catch (e) {
      if (e instanceof ApiError) setServerErrors(toServerErrors(e));
      setNotice({ text: `Not saved: ${e instanceof Error ? e.message : String(e)}`, error: true });
      setTab("config");
      return false;
    }
  }, [update]);

  const ensureSaved = useCallback(async () => (useGraphStore.getState().dirty ? save() : true), [save]);

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
      g.load({ id: g.workflowId, name: g.name, version: g.version, definition });
      useGraphStore.setState({ dirty: true });
      setTimeout(() => fitView({ maxZoom: 1, padding: 0.2 }), 50);
    } catch (e) {
      setNotice({ text: `Import failed: ${e instanceof Error ? e.message : String(e)}`, error: true });
    }
  };

  const addAtCentre = (type: string) => {
    const count = useGraphStore.getState().nodes.length;
    graph.addNode(type, { x: 100 + count * 30, y: 100 + count * 20 });
  };

  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <input aria-label="Workflow name" className="w-56 font-medium" value={name} onChange={(e) => graph.setName(e.target.value)} />
        <button className="btn btn-primary" onClick={() => save()} title="Save (Ctrl+S)" data-action="save">
          Save{dirty ? " •" : ""}
        </button>
        <VersionsDialog
          workflowId={workflow.id}
          current={version}
          onRestored={(w) => {
            graph.load({ id: w.id, name: w.name, version: w.version, definition: w.definition });
            setNotice({ text: `Restored; now at version ${w.version}` });
          }}
        />
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
      <div className="flex min-h-0 flex-1">
        <Palette onAdd={addAtCentre} />
        <main className="relative min-w-0 flex-1">
          <FlowCanvas />
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
              {selected.length === 1 ? (
                <ConfigPanel key={selected[0]} nodeId={selected[0]} />
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
