/** Mapping the server's validation details onto the nodes and fields at fault. */
import type { ApiError } from "../api/client";
import type { ServerErrors } from "../stores/graphStore";

/** Server validation details → node id → field → message. */
export function toServerErrors(error: Pick<ApiError, "fieldErrors" | "message">): ServerErrors {
  const out: ServerErrors = {};
  for (const { node_id, field, message } of error.fieldErrors) {
    const node = node_id ?? "";
    out[node] = { ...out[node], [configField(field)]: message };
  }
  if (!Object.keys(out).length) out[""] = { "": error.message };
  return out;
}


/** The config field a server path names: `data.retry.max_attempts` → `retry`. */
export function configField(path: string | undefined): string {
  if (!path) return "";
  return path.replace(/^data\./, "").split(/[.[]/)[0];
}
