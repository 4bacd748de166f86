/** The audit trail: who did what to which of the user's resources, when and from where. */
import { useState } from "react";
import { Link } from "react-router";
import { useAudit } from "../api/hooks";
import type { AuditEntry } from "../api/types";
import { TopBar } from "../App";

const LIMIT = 50;

function resourceLink(entry: AuditEntry) {
  if (entry.resource_type === "execution") return `/executions/${entry.resource_id}`;
  if (entry.resource_type === "batch") return `/batches/${entry.resource_id}`;
  if (entry.resource_type === "workflow" && entry.action !== "workflow.deleted") return `/workflows/${entry.resource_id}`;
  // a trigger lives in its workflow's Triggers tab
  if (entry.resource_type === "trigger" && typeof entry.details.workflow_id === "string") return `/workflows/${entry.details.workflow_id}`;
  return null;
}

export function AuditPage() {
  const [resourceType, setResourceType] = useState("");
  const [resourceId, setResourceId] = useState("");
  const [page, setPage] = useState(1);
  const params = new URLSearchParams({ page: String(page), limit: String(LIMIT) });
  if (resourceType) params.set("resource_type", resourceType);
  if (resourceId.trim()) params.set("resource_id", resourceId.trim());
  const audit = useAudit(params.toString());
  const pages = audit.data?.pagination.pages ?? 1;

  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <h1 className="font-semibold">Audit trail</h1>
      </TopBar>
      <main className="flex flex-col gap-3 overflow-auto p-4">
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <label>
            Resource{" "}
            <select className="input" value={resourceType} aria-label="Resource type" onChange={(e) => (setResourceType(e.target.value), setPage(1))}>
              <option value="">all</option>
              <option value="workflow">workflows</option>
              <option value="integration">integrations</option>
              <option value="execution">executions</option>
              <option value="batch">batches</option>
              <option value="trigger">triggers</option>
              <option value="event">published events</option>
            </select>
          </label>
          <input className="input" placeholder="resource id" aria-label="Resource id" value={resourceId} onChange={(e) => (setResourceId(e.target.value), setPage(1))} />
        </div>
        {audit.error && <p className="field-error">{String(audit.error)}</p>}
        <table className="text-left text-xs" data-testid="audit">
          <thead>
            <tr>
              <th className="p-1">when</th>
              <th className="p-1">who</th>
              <th className="p-1">from</th>
              <th className="p-1">action</th>
              <th className="p-1">resource</th>
              <th className="p-1">details</th>
            </tr>
          </thead>
          <tbody>
            {(audit.data?.entries ?? []).map((entry) => {
              const link = resourceLink(entry);
              return (
                <tr key={entry.id} data-action={entry.action} className="border-t">
                  <td className="p-1 whitespace-nowrap">{new Date(entry.at).toLocaleString()}</td>
                  <td className="p-1 font-mono">{entry.actor.user_id}</td>
                  <td className="p-1 font-mono">{entry.actor.address ?? ""}</td>
                  <td className="p-1">{entry.action}</td>
                  <td className="p-1 font-mono">{link ? <Link className="underline" to={link}>{entry.resource_id}</Link> : entry.resource_id}</td>
                  <td className="muted p-1 font-mono">{JSON.stringify(entry.details)}</td>
                </tr>
              );
            })}
            {audit.data?.entries.length === 0 && (
              <tr>
                <td className="muted p-1" colSpan={6}>No records.</td>
              </tr>
            )}
          </tbody>
        </table>
        <div className="flex items-center gap-2 text-xs">
          <button className="btn" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</button>
          <span>page {page} of {Math.max(pages, 1)}</span>
          <button className="btn" disabled={page >= pages} onClick={() => setPage(page + 1)}>Next</button>
        </div>
      </main>
    </div>
  );
}
