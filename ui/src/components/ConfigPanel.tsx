/** The selected node's config form, generated from its JSON Schema, validated inline. */
import { useMemo, useState } from "react";
import { useRunSample } from "../api/runSample";
import { Link } from "react-router";
import { useIntegrations, useModels, useNodeTypes } from "../api/hooks";
import type { CanvasNode } from "../lib/canvas";
import { integrationsFor, integrationTypesFor, picksModel } from "../lib/integrations";
import { availableReferences } from "../lib/references";
import { fieldText, parseFieldText, schemaToFields, validateField, type FormField } from "../lib/schemaForm";
import { useGraphStore } from "../stores/graphStore";
import { expressionDocument } from "../lib/runSample";
import { ExpressionPreview } from "./ExpressionPreview";
import { ReferenceInput } from "./ReferenceInput";

/** Node types whose `expression` field is JSONata or JMESPath, previewed on recorded input. */
const EXPRESSION_TYPES = new Set(["transform", "conditional", "switch"]);
/** Pick one of the user's integrations that fits the node (by its type or provider). */
function IntegrationSelect({ id, node, value, disabled, onChange }: { id: string; node: CanvasNode; value: unknown; disabled: boolean; onChange: (v: string | undefined) => void }) {
  const integrations = useIntegrations();
  const data = node.data as Record<string, unknown>;
  const fitting = integrationsFor(integrations.data ?? [], node.type ?? "", data);
  const current = typeof value === "string" ? value : "";
  const known = fitting.some((i) => i.id === current);
  return (
    <div className="flex flex-col gap-1">
      <select id={id} disabled={disabled} value={current} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">—</option>
        {fitting.map((i) => (
          <option key={i.id} value={i.id}>
            {i.name} ({i.type})
          </option>
        ))}
        {current && !known && <option value={current}>{current} (not one of yours of this kind)</option>}
      </select>
      {integrations.data && fitting.length === 0 && (
        <span className="muted text-[11px]">
          No {integrationTypesFor(node.type ?? "", data).join(" or ") || "matching"} integration yet: <Link to="/integrations">add one</Link>.
        </span>
      )}
    </div>
  );
}

/** A model name, with the models the chosen integration's (or provider's) endpoint lists. */
function ModelInput({ id, node, text, disabled, onChange }: { id: string; node: CanvasNode; text: string; disabled: boolean; onChange: (t: string) => void }) {
  const data = node.data as Record<string, unknown>;
  const integrationId = typeof data.integration_id === "string" ? data.integration_id : "";
  const provider = typeof data.provider === "string" ? data.provider : "";
  const [asked, setAsked] = useState(false);
  const models = useModels(integrationId, provider, asked && !disabled);
  const listId = `${id}-models`;
  return (
    <div className="flex flex-col gap-1">
      <div className="flex gap-1">
        <input id={id} className="min-w-0 flex-1" disabled={disabled} list={listId} value={text} placeholder="provider's default" onChange={(e) => onChange(e.target.value)} onFocus={() => setAsked(true)} />
        <button type="button" className="btn" disabled={disabled} onClick={() => (asked ? void models.refetch() : setAsked(true))} title="List the models of this integration's provider">
          Models
        </button>
      </div>
      <datalist id={listId} data-testid={listId}>
        {(models.data?.models ?? []).map((m) => (
          <option key={m.id} value={m.id}>
            {m.name ?? m.id}
          </option>
        ))}
      </datalist>
      {models.isFetching && <span className="muted text-[11px]">Asking the provider…</span>}
      {models.data && (
        <span className={`text-[11px] ${models.data.ok ? "muted" : "text-rose-600"}`} data-testid={`${id}-models-status`}>
          {models.data.ok ? `${models.data.models.length} models: ${models.data.models.map((m) => m.id).join(", ")}` : `No models: ${models.data.message}`}
        </span>
      )}
      {models.error && <span className="text-[11px] text-rose-600">{models.error.message}</span>}
    </div>
  );
}

export function ConfigPanel({ nodeId }: { nodeId: string }) {
  const node = useGraphStore((s) => s.nodes.find((n) => n.id === nodeId));
  if (!node) return null;
  return <ConfigForm node={node} />;
}

function ConfigForm({ node }: { node: CanvasNode }) {
  const info = useNodeTypes().data?.find((n) => n.type === node.type);
  const fields = useMemo(() => (info ? schemaToFields(info.config) : []), [info]);
  const update = useGraphStore((s) => s.updateNodeData);
  const serverErrors = useGraphStore((s) => s.serverErrors[node.id]);
  const readOnly = useGraphStore((s) => s.readOnly);
  // Recomputed only when the graph's config or wiring changes, not when a node moves.
  const graphKey = useGraphStore((s) =>
    JSON.stringify([s.nodes.map((n) => [n.id, n.type, n.data]), s.edges.map((e) => [e.source, e.target])]),
  );
  const workflowId = useGraphStore((s) => s.workflowId);
  const { scope } = useRunSample(workflowId);
  const definition = useMemo(() => {
    const { nodes, edges } = useGraphStore.getState();
    void graphKey;
    return { nodes: Object.fromEntries(nodes.map((n) => [n.id, { id: n.id, type: n.type ?? "", data: n.data }])), edges };
  }, [graphKey]);
  const references = useMemo(() => availableReferences(definition, node.id, scope), [definition, node.id, scope]);
  const isExpression = EXPRESSION_TYPES.has(node.type ?? "");
  const recordedInput = useMemo(
    () => (isExpression && scope ? expressionDocument(definition, node.id, definition.nodes[node.id]?.data ?? {}, scope) : undefined),
    [isExpression, scope, definition, node.id],
  );
  const [drafts, setDrafts] = useState<Record<string, string>>({});

  if (!info) return <p className="muted p-3">Unknown node type {node.type}.</p>;

  const renderField = (field: FormField) => {
    const id = `cfg-${node.id}-${field.name}`;
    const value = node.data[field.name];
    const draftKey = `${node.id}:${field.name}`;
    // Keep what was typed (e.g. "1.50") while it still means the stored value; after an
    // undo or a paste the stored value wins.
    const draft = drafts[draftKey];
    const text = draft !== undefined && JSON.stringify(parseFieldText(field, draft)) === JSON.stringify(value) ? draft : fieldText(value);
    const problem = serverErrors?.[field.name] ?? validateField(field, value);
    const setText = (t: string) => {
      setDrafts((d) => ({ ...d, [draftKey]: t }));
      update(node.id, field.name, parseFieldText(field, t));
    };
    let control;
    if (field.name === "integration_id")
      control = <IntegrationSelect id={id} node={node} value={value} disabled={readOnly} onChange={(v) => update(node.id, field.name, v)} />;
    else if (field.name === "model" && picksModel(node.type ?? ""))
      control = <ModelInput id={id} node={node} text={text} disabled={readOnly} onChange={setText} />;
    else if (field.kind === "boolean")
      control = (
        <input id={id} type="checkbox" disabled={readOnly} checked={value === true} onChange={(e) => update(node.id, field.name, e.target.checked)} />
      );
    else if (field.kind === "enum")
      control = (
        <select id={id} disabled={readOnly} value={value === undefined ? "" : String(value)} onChange={(e) => update(node.id, field.name, e.target.value || undefined)}>
          <option value="">{field.default !== undefined ? `default (${String(field.default)})` : "—"}</option>
          {field.options?.map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      );
    else if (field.kind === "number" || field.kind === "integer")
      control = (
        <input
          id={id}
          type="number"
          disabled={readOnly}
          step={field.kind === "integer" ? 1 : "any"}
          placeholder={field.default !== undefined ? String(field.default) : ""}
          value={text}
          aria-invalid={!!problem}
          onChange={(e) => setText(e.target.value)}
        />
      );
    else if (field.kind === "json")
      control = (
        <textarea
          id={id}
          rows={4}
          disabled={readOnly}
          className="w-full font-mono text-xs"
          placeholder={field.default !== undefined ? JSON.stringify(field.default) : "{}"}
          value={text}
          aria-invalid={!!problem}
          onChange={(e) => setText(e.target.value)}
        />
      );
    else
      control = readOnly ? (
        <textarea id={id} disabled rows={2} className="w-full font-mono text-xs" value={text} />
      ) : (
        <ReferenceInput
          id={id}
          value={text}
          multiline={field.kind === "text" || field.kind === "any"}
          references={references}
          invalid={!!problem}
          scope={scope}
          onChange={setText}
        />
      );
    return (
      <div key={field.name} className="flex flex-col gap-1" data-field={field.name}>
        <label htmlFor={id} className={field.kind === "boolean" ? "flex items-center gap-2" : ""}>
          {field.label}
          {field.required && <span className="text-rose-600"> *</span>}
        </label>
        {control}
        {isExpression && field.name === "expression" && (
          <ExpressionPreview language={node.data.language === "jmespath" ? "jmespath" : "jsonata"} expression={typeof value === "string" ? value : ""} input={recordedInput} />
        )}
        {problem && (
          <span className="field-error" role="alert" data-field-error={field.name}>
            {problem}
          </span>
        )}
        {field.description && <span className="muted text-[11px]">{field.description}</span>}
      </div>
    );
  };

  const workflowErrors = serverErrors?.[""];
  return (
    <div className="flex flex-col gap-3 p-3" aria-label={`Configure ${node.id}`}>
      <div>
        <div className="font-semibold">{info.name}</div>
        <div className="muted font-mono text-xs">{node.id}</div>
        <p className="muted mt-1 text-xs">{info.description}</p>
      </div>
      {workflowErrors && <p className="field-error">{workflowErrors}</p>}
      {fields.filter((f) => !f.advanced).map(renderField)}
      {fields.some((f) => f.advanced) && (
        <details>
          <summary className="muted cursor-pointer text-xs">Retry, timeouts and cache</summary>
          <div className="mt-2 flex flex-col gap-3">{fields.filter((f) => f.advanced).map(renderField)}</div>
        </details>
      )}
      <p className="muted text-[11px]">
        Type <code>{"${"}</code> to insert a reference to inputs or upstream outputs
        {scope ? "; paths and previews come from the last run." : "; run once to complete paths inside real outputs."}
      </p>
    </div>
  );
}
