/** Integrations on the canvas: the kinds the credentials screen offers (with the settings
 * and secrets each needs), which integrations fit a node, and the bodies sent to the API.
 * Pure. Secrets are write-only: the server answers them masked. */

export interface IntegrationField {
  name: string;
  label: string;
  secret?: boolean;
  placeholder?: string;
}

export interface IntegrationKind {
  type: string;
  label: string;
  config: IntegrationField[];
  credentials: IntegrationField[];
}

const apiKey: IntegrationField = { name: "api_key", label: "API key", secret: true };
const baseUrl = (placeholder: string): IntegrationField => ({ name: "base_url", label: "Base URL", placeholder });

export const INTEGRATION_KINDS: IntegrationKind[] = [
  { type: "openai", label: "OpenAI", config: [baseUrl("https://api.openai.com/v1")], credentials: [apiKey] },
  { type: "anthropic", label: "Anthropic", config: [baseUrl("https://api.anthropic.com")], credentials: [apiKey] },
  { type: "openai_compatible", label: "OpenAI-compatible server", config: [baseUrl("https://llm.example.com/v1")], credentials: [apiKey] },
  { type: "google", label: "Google Gemini", config: [], credentials: [apiKey] },
  { type: "cohere", label: "Cohere", config: [], credentials: [apiKey] },
  {
    type: "http",
    label: "HTTP API",
    config: [baseUrl("https://api.example.com")],
    credentials: [
      { name: "token", label: "Bearer token", secret: true },
      { name: "username", label: "Username (basic auth)" },
      { name: "password", label: "Password (basic auth)", secret: true },
    ],
  },
  { type: "slack", label: "Slack", config: [], credentials: [{ name: "token", label: "Bot token", secret: true }] },
  { type: "notion", label: "Notion", config: [], credentials: [{ name: "token", label: "Integration token", secret: true }] },
  {
    type: "email",
    label: "Email (SMTP)",
    config: [
      { name: "host", label: "SMTP host", placeholder: "smtp.example.com" },
      { name: "port", label: "Port", placeholder: "587" },
      { name: "security", label: "Security (starttls, tls, none)", placeholder: "starttls" },
      { name: "from_address", label: "From address" },
    ],
    credentials: [
      { name: "username", label: "Username" },
      { name: "password", label: "Password", secret: true },
    ],
  },
  {
    type: "postgres",
    label: "PostgreSQL",
    config: [
      { name: "host", label: "Host" },
      { name: "port", label: "Port", placeholder: "5432" },
      { name: "dbname", label: "Database" },
      { name: "user", label: "User" },
    ],
    credentials: [{ name: "password", label: "Password", secret: true }],
  },
  { type: "webhook", label: "Signed webhook", config: [], credentials: [{ name: "secret", label: "Signing secret", secret: true }] },
];

export const kindOf = (type: string): IntegrationKind =>
  INTEGRATION_KINDS.find((k) => k.type === type) ?? { type, label: type, config: [], credentials: [] };

const AI_NODES = new Set(["llm", "agent", "vision", "audio", "embeddings", "semantic_search"]);
const BY_NODE: Record<string, string[]> = {
  http: ["http"],
  database: ["postgres"],
  email: ["email"],
  slack: ["slack"],
  notion: ["notion"],
  webhook: ["webhook"],
};

/** The integration types a node of `nodeType` (with its config `data`) can use: an AI
 * node's provider, or the one kind an integration node speaks. */
export function integrationTypesFor(nodeType: string, data: Record<string, unknown> = {}): string[] {
  if (AI_NODES.has(nodeType)) return [typeof data.provider === "string" && data.provider ? data.provider : "openai"];
  return BY_NODE[nodeType] ?? [];
}

/** The integrations a node can pick, enabled ones only. */
export function integrationsFor<T extends { type: string; enabled: boolean }>(all: T[], nodeType: string, data: Record<string, unknown> = {}): T[] {
  const types = integrationTypesFor(nodeType, data);
  return all.filter((i) => i.enabled && types.includes(i.type));
}

/** Whether a node picks a model from its provider (and so can list the provider's models). */
export const picksModel = (nodeType: string) => AI_NODES.has(nodeType);

export interface IntegrationDraft {
  name: string;
  type: string;
  config: Record<string, string>;
  credentials: Record<string, string>;
  enabled: boolean;
}

/** The API body for a draft. Blank fields are left out; editing, settings the form does
 * not show (`original`, set through the API) are kept as they were, and credentials are
 * sent only when one was typed (the stored ones are kept otherwise), and then all of them. */
export function integrationBody(draft: IntegrationDraft, editing: boolean, original: Record<string, unknown> = {}): Record<string, unknown> {
  const filled = (values: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(values)
        .map(([k, v]) => [k, v.trim()] as const)
        .filter(([, v]) => v !== "")
        .map(([k, v]) => [k, k === "port" && /^\d+$/.test(v) ? Number(v) : v]),
    );
  const shown = new Set([...kindOf(draft.type).config.map((f) => f.name), ...Object.keys(draft.config)]);
  const kept = editing ? Object.fromEntries(Object.entries(original).filter(([k]) => !shown.has(k))) : {};
  const body: Record<string, unknown> = {
    name: draft.name.trim(),
    type: draft.type,
    config: { ...kept, ...filled(draft.config) },
    enabled: draft.enabled,
  };
  const credentials = filled(draft.credentials);
  if (!editing || Object.keys(credentials).length > 0) body.credentials = credentials;
  return body;
}
