/** Credentials: the user's integrations listed, created, tested, edited and deleted.
 * Secrets are write-only here: the server answers them masked, and an edit keeps the
 * stored ones unless new ones are typed. */
import { useState } from "react";
import { ApiError } from "../api/client";
import { useIntegrationMutations, useIntegrations } from "../api/hooks";
import type { Integration, ProbeResult } from "../api/types";
import { TopBar } from "../App";
import { INTEGRATION_KINDS, integrationBody, kindOf, type IntegrationDraft } from "../lib/integrations";

const emptyDraft = (): IntegrationDraft => ({ name: "", type: INTEGRATION_KINDS[0].type, config: {}, credentials: {}, enabled: true });

/** The form's fields of an integration: the settings its kind shows, as text. */
const draftOf = (i: Integration): IntegrationDraft => ({
  name: i.name,
  type: i.type,
  config: Object.fromEntries(
    kindOf(i.type)
      .config.filter((f) => i.config[f.name] !== undefined && i.config[f.name] !== null)
      .map((f) => [f.name, String(i.config[f.name])]),
  ),
  credentials: {},
  enabled: i.enabled,
});

function IntegrationForm({ editing, onDone }: { editing: Integration | null; onDone: () => void }) {
  const [draft, setDraft] = useState<IntegrationDraft>(() => (editing ? draftOf(editing) : emptyDraft()));
  const { create, update } = useIntegrationMutations();
  const saving = editing ? update : create;
  const kind = kindOf(draft.type);
  const error = saving.error instanceof Error ? saving.error.message : null;
  const setIn = (part: "config" | "credentials", name: string, value: string) => setDraft((d) => ({ ...d, [part]: { ...d[part], [name]: value } }));

  const submit = async () => {
    const body = integrationBody(draft, !!editing, editing?.config);
    try {
      if (editing) await update.mutateAsync({ id: editing.id, body });
      else await create.mutateAsync(body);
      onDone();
    } catch {
      // shown from the mutation's error
    }
  };

  return (
    <form
      className="panel flex max-w-xl flex-col gap-2 rounded border p-3"
      aria-label={editing ? `Edit ${editing.name}` : "New integration"}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="font-semibold">{editing ? `Edit ${editing.name}` : "New integration"}</div>
      <label className="flex flex-col gap-1">
        Name
        <input className="input" aria-label="Name" required maxLength={200} value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
      </label>
      <label className="flex flex-col gap-1">
        Type
        <select aria-label="Type" value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.target.value, config: {}, credentials: {} })}>
          {INTEGRATION_KINDS.map((k) => (
            <option key={k.type} value={k.type}>
              {k.label}
            </option>
          ))}
          {!INTEGRATION_KINDS.some((k) => k.type === draft.type) && <option value={draft.type}>{draft.type}</option>}
        </select>
      </label>
      {kind.config.map((f) => (
        <label key={f.name} className="flex flex-col gap-1">
          {f.label}
          <input className="input" aria-label={f.label} placeholder={f.placeholder} value={draft.config[f.name] ?? ""} onChange={(e) => setIn("config", f.name, e.target.value)} />
        </label>
      ))}
      {kind.credentials.map((f) => (
        <label key={f.name} className="flex flex-col gap-1">
          {f.label}
          <input
            className="input"
            aria-label={f.label}
            type={f.secret ? "password" : "text"}
            autoComplete="off"
            placeholder={editing && editing.credentials[f.name] ? "•••••••• (kept unless you type a new one)" : ""}
            value={draft.credentials[f.name] ?? ""}
            onChange={(e) => setIn("credentials", f.name, e.target.value)}
          />
        </label>
      ))}
      <label className="flex items-center gap-2">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })} />
        Enabled
      </label>
      {error && (
        <p className="field-error" role="alert">
          {error}
          {saving.error instanceof ApiError && saving.error.fieldErrors.map((d) => ` ${d.field ?? ""} ${d.message}`).join(";")}
        </p>
      )}
      <div className="flex gap-2">
        <button className="btn btn-primary" type="submit" disabled={saving.isPending}>
          Save
        </button>
        <button className="btn" type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function TestResult({ result }: { result: ProbeResult }) {
  return (
    <span role="status" data-testid="test-result" data-ok={result.ok} className={result.ok ? "text-emerald-700 dark:text-emerald-400" : "text-rose-600"}>
      {result.ok ? "✓" : "✗"} {result.message}
      {result.kind ? ` (${result.kind})` : ""} · {Math.round(result.duration_ms)} ms
    </span>
  );
}

function IntegrationRow({ integration, onEdit }: { integration: Integration; onEdit: () => void }) {
  const { remove, test } = useIntegrationMutations();
  const [confirming, setConfirming] = useState(false);
  return (
    <tr className="border-t align-top" data-integration={integration.name}>
      <td className="p-1 font-medium">{integration.name}</td>
      <td className="p-1">{kindOf(integration.type).label}</td>
      <td className="p-1">{integration.enabled ? "enabled" : "disabled"}</td>
      <td className="p-1 font-mono">{Object.keys(integration.credentials).join(", ") || "—"}</td>
      <td className="flex flex-wrap items-center gap-1 p-1">
        <button className="btn" disabled={test.isPending} onClick={() => test.mutate(integration.id)}>
          {test.isPending ? "Testing…" : "Test connection"}
        </button>
        <button className="btn" onClick={onEdit}>
          Edit
        </button>
        {confirming ? (
          <button className="btn btn-danger" onClick={() => remove.mutate(integration.id)}>
            Confirm delete
          </button>
        ) : (
          <button className="btn" onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
        {test.data && <TestResult result={test.data} />}
        {test.error && <span className="field-error">{test.error.message}</span>}
      </td>
    </tr>
  );
}

export function IntegrationsPage() {
  const integrations = useIntegrations();
  const [editing, setEditing] = useState<Integration | "new" | null>(null);
  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <span className="font-medium">Integrations</span>
        <button className="btn btn-primary" onClick={() => setEditing("new")}>
          New integration
        </button>
      </TopBar>
      <main className="flex flex-col gap-3 overflow-auto p-4 text-sm">
        {editing && <IntegrationForm key={editing === "new" ? "new" : editing.id} editing={editing === "new" ? null : editing} onDone={() => setEditing(null)} />}
        {integrations.error && <p className="field-error">{String(integrations.error)}</p>}
        <table className="text-left text-xs" data-testid="integrations">
          <thead>
            <tr>
              <th className="p-1">name</th>
              <th className="p-1">type</th>
              <th className="p-1">state</th>
              <th className="p-1">secrets (stored, never shown)</th>
              <th className="p-1" />
            </tr>
          </thead>
          <tbody>
            {(integrations.data ?? []).map((i) => (
              <IntegrationRow key={i.id} integration={i} onEdit={() => setEditing(i)} />
            ))}
          </tbody>
        </table>
        {integrations.data?.length === 0 && <p className="muted">No integrations yet: add one to give nodes credentials.</p>}
      </main>
    </div>
  );
}
