/** The HTTP client: bearer token, the `{success, data | error}` envelope, typed errors. */
import type { ApiErrorBody } from "./types";

let token: string | null = localStorage.getItem("fm.token");
let onUnauthorized: () => void = () => {};

/** Set (or clear) the bearer token used by every request. */
export function setToken(next: string | null): void {
  token = next;
  if (next) localStorage.setItem("fm.token", next);
  else localStorage.removeItem("fm.token");
}

export const getToken = () => token;

/** Called when the server rejects the token, so the app can go back to the login page. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/** A problem the server reported; `fieldErrors` are the details naming a node and field. */
export class ApiError extends Error {
  readonly status: number;
  readonly code?: string;
  readonly details?: unknown;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.code = body.code;
    this.details = body.details;
  }

  /** Details as `{node_id?, field?, message}` entries, whatever list shape the server used. */
  get fieldErrors(): { node_id?: string; field?: string; message: string }[] {
    const raw = this.details as unknown;
    const list = Array.isArray(raw)
      ? raw
      : raw && typeof raw === "object" && Array.isArray((raw as { errors?: unknown }).errors)
        ? (raw as { errors: unknown[] }).errors
        : [];
    return list
      .filter((d): d is Record<string, unknown> => !!d && typeof d === "object")
      .map((d) => ({
        node_id: typeof d.node_id === "string" ? d.node_id : undefined,
        field: typeof d.field === "string" ? d.field : undefined,
        message: String(d.message ?? d.msg ?? "invalid"),
      }));
  }
}

/** Any request to the API; resolves to the envelope's `data`. */
export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  const response = await fetch(path, { ...init, headers, body });
  let payload: { success?: boolean; data?: T; error?: ApiErrorBody } = {};
  try {
    payload = await response.json();
  } catch {
    payload = {};
  }
  if (!response.ok || payload.success === false) {
    if (response.status === 401 && token) onUnauthorized();
    throw new ApiError(response.status, payload.error ?? { message: `${response.status} ${response.statusText}` });
  }
  return payload.data as T;
}
