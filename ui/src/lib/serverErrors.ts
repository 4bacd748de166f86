/** Mapping the server's validation details onto the nodes and fields at fault. */
import type { ApiError } from "../api/client";
import type { ServerErrors } from "../stores/graphStore";

/** Server validation details → node id → field → message. */
export function toServerErrors(error: Pick<ApiError, "fieldErrors" | "message">): ServerErrors {
  const out: ServerErrors = {};
  for (const { node_id, field, message } of error.fieldErrors) {
    const node = node_id ?? "";
    out[node] = { ...out[node], [field ?? ""]: message };
  }
  if (!Object.keys(out).length) out[""] = { "": error.message };
  return out;
}

