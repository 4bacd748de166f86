import { useMemo, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { useExecutions, useWorkflowMutations, useWorkflows } from "../api/hooks";
import type { ExecutionSummary, WorkflowDefinition, WorkflowRecord } from "../api/types";
import { TopBar } from "../App";
import { StatusBadge } from "../components/StatusBadge";
import { parseWorkflowFile } from "../lib/exchange";

const STARTER: WorkflowDefinition = { nodes: {}, edges: [] };

/** The workflow library: search, create, import, rename, duplicate, delete, last run. */
export function LibraryPage() {
  const workflows = useWorkflows();
  const executions = useExecutions(undefined, true);
  const { create, update, remove } = useWorkflowMutations();
  const navigate = useNavigate();
  const [search, setSearch] = useState("");
  const [renaming, setRenaming] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const lastRun = useMemo(() => {
    const latest = new Map<string, ExecutionSummary>();
    for (const e of executions.data ?? []) {
      const prior = e.workflow_id ? latest.get(e.workflow_id) : undefined;
      if (e.workflow_id && (!prior || (e.started_at ?? "") > (prior.started_at ?? ""))) latest.set(e.workflow_id, e);
    }
    return latest;
  }, [executions.data]);

  const shown = (workflows.data ?? []).filter((w) => w.name.toLowerCase().includes(search.toLowerCase()));

  const createNew = async (name = "Untitled workflow", definition = STARTER) => {
    setError(null);
    try {
      const workflow = await create.mutateAsync({ name, definition });
      navigate(`/workflows/${workflow.id}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const importFile = async (file: File) => {
    try {
      const { name, definition } = parseWorkflowFile(await file.text(), file.name);
      await createNew(name, definition);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const status = (w: WorkflowRecord) => lastRun.get(w.id)?.status ?? w.last_execution_status ?? w.last_execution?.status;

  return (
    <div className="flex h-full flex-col">
      <TopBar />
      <main className="mx-auto flex w-full max-w-5xl flex-col gap-4 p-6">
        <div className="flex items-center gap-2">
          <h1 className="text-xl font-semibold">Workflows</h1>
          <input
            type="search"
            placeholder="Search workflows"
            aria-label="Search workflows"
            className="ml-auto w-64"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <button className="btn" onClick={() => fileInput.current?.click()}>
            Import JSON
          </button>
          <input ref={fileInput} type="file" accept="application/json,.json" hidden onChange={(e) => e.target.files?.[0] && importFile(e.target.files[0])} />
          <button className="btn btn-primary" onClick={() => createNew()} disabled={create.isPending}>
            New workflow
          </button>
        </div>
        {error && <p role="alert" className="field-error">{error}</p>}
        {workflows.isLoading && <p className="muted">Loading…</p>}
        {workflows.data && shown.length === 0 && <p className="muted">No workflows yet.</p>}
        <ul className="panel divide-y divide-slate-200 rounded-lg border dark:divide-slate-800" aria-label="Workflows">
          {shown.map((w) => (
            <li key={w.id} className="flex items-center gap-3 px-4 py-2" data-workflow={w.name}>
              {renaming === w.id ? (
                <form
                  className="flex-1"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const name = new FormData(e.currentTarget).get("name") as string;
                    update.mutate({ id: w.id, name });
                    setRenaming(null);
                  }}
                >
                  <input name="name" defaultValue={w.name} autoFocus aria-label="New name" onBlur={() => setRenaming(null)} />
                </form>
              ) : (
                <Link to={`/workflows/${w.id}`} className="flex-1 font-medium hover:underline">
                  {w.name}
                </Link>
              )}
              <span className="muted text-xs">v{w.version ?? 1}</span>
              {status(w) ? <StatusBadge status={status(w)!} /> : <span className="muted text-xs">never run</span>}
              <button className="btn" onClick={() => setRenaming(w.id)}>
                Rename
              </button>
              <button className="btn" onClick={() => createNew(`${w.name} (copy)`, w.definition)}>
                Duplicate
              </button>
              {confirming === w.id ? (
                <button className="btn btn-danger" onClick={() => remove.mutate(w.id)} onBlur={() => setConfirming(null)} autoFocus>
                  Confirm delete
                </button>
              ) : (
                <button className="btn" onClick={() => setConfirming(w.id)}>
                  Delete
                </button>
              )}
            </li>
          ))}
        </ul>
      </main>
    </div>
  );
}
