/**
 * Previews of JSONata and JMESPath expressions on a recorded input, evaluated in the
 * browser (the user's own data stays in the user's own browser). `evaluateExpression` is
 * the pure part; `runBounded` runs it in a worker that is killed when it takes too long,
 * so a pathological expression cannot hang the tab.
 */
import jmespath from "jmespath";
import jsonata from "jsonata";

export type ExpressionLanguage = "jsonata" | "jmespath";

export interface PreviewRequest {
  language: ExpressionLanguage;
  expression: string;
  input: unknown;
  /** Longest preview text kept; the rest of a large result is cut off. */
  maxChars: number;
}

export type PreviewResult =
  | { ok: true; text: string; truncated: boolean }
  | { ok: false; error: string; kind: "expression" | "timeout" | "crashed" };

/** How long a preview may run before its worker is terminated. */
export const PREVIEW_TIMEOUT_MS = 1000;
/** How much of a preview's result is shown. */
export const PREVIEW_MAX_CHARS = 20_000;
/** Longest expression previewed (the server bounds node config size the same way). */
export const MAX_EXPRESSION_CHARS = 10_000;

/** `value` as pretty JSON, cut to `maxChars`. */
export function previewText(value: unknown, maxChars: number): { text: string; truncated: boolean } {
  let text: string;
  try {
    text = value === undefined ? "(no result)" : (JSON.stringify(value, null, 2) ?? String(value));
  } catch (e) {
    text = `(cannot show: ${e instanceof Error ? e.message : String(e)})`;
  }
  return text.length > maxChars ? { text: `${text.slice(0, maxChars)}…`, truncated: true } : { text, truncated: false };
}

/** Evaluate one expression on `input`; errors become a result, never a throw. */
export async function evaluateExpression(request: PreviewRequest): Promise<PreviewResult> {
  const { language, expression, input, maxChars } = request;
  if (expression.length > MAX_EXPRESSION_CHARS)
    return { ok: false, kind: "expression", error: `expression longer than ${MAX_EXPRESSION_CHARS} characters` };
  try {
    const value = language === "jmespath" ? jmespath.search(input as never, expression) : await jsonata(expression).evaluate(input);
    return { ok: true, ...previewText(value, maxChars) };
  } catch (e) {
    const message = e instanceof Error ? e.message : typeof e === "object" && e && "message" in e ? String((e as { message: unknown }).message) : String(e);
    return { ok: false, kind: "expression", error: `${language === "jmespath" ? "JMESPath" : "JSONata"}: ${message}` };
  }
}

/** The part of a worker `runBounded` uses: `Worker` in the browser, a thin adapter in tests. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/**
 * Run `request` in a fresh worker from `spawn`; resolve with its answer, or with a
 * `timeout` result after `timeoutMs`, terminating the worker either way. A worker per
 * preview costs a few milliseconds and means a killed one leaves nothing behind.
 */
export function runBounded(spawn: () => WorkerLike, request: PreviewRequest, timeoutMs = PREVIEW_TIMEOUT_MS): Promise<PreviewResult> {
  return new Promise((resolve) => {
    let worker: WorkerLike;
    try {
      worker = spawn();
    } catch (e) {
      resolve({ ok: false, kind: "crashed", error: `preview unavailable: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    let settled = false;
    const finish = (result: PreviewResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.terminate();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, kind: "timeout", error: `stopped after ${timeoutMs} ms: the expression took too long` }),
      timeoutMs,
    );
    worker.onmessage = (event) => {
      const result = event.data as PreviewResult;
      // Bound the size here too: the main thread never keeps more than it shows.
      finish(result.ok && result.text.length > request.maxChars ? { ok: true, text: `${result.text.slice(0, request.maxChars)}…`, truncated: true } : result);
    };
    worker.onerror = (event) =>
      finish({ ok: false, kind: "crashed", error: `preview failed: ${String((event as { message?: unknown } | null)?.message ?? "worker error")}` });
    worker.postMessage(request);
  });
}
