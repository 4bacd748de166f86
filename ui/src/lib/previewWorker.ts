/** Previews in the browser: each one in its own module worker, bounded by `runBounded`. */
import { runBounded, type PreviewRequest, type PreviewResult, type WorkerLike } from "./expressionPreview";

function spawn(): WorkerLike {
  const worker = new Worker(new URL("./expressionWorker.ts", import.meta.url), { type: "module" });
  const like: WorkerLike = {
    onmessage: null,
    onerror: null,
    postMessage: (message) => worker.postMessage(message),
    terminate: () => worker.terminate(),
  };
  worker.onmessage = (event) => like.onmessage?.(event);
  worker.onerror = (event) => {
    event.preventDefault();
    like.onerror?.(event);
  };
  return like;
}

/** Evaluate `request` off the main thread; a runaway expression is cut off after `timeoutMs`. */
export const previewExpression = (request: PreviewRequest, timeoutMs?: number): Promise<PreviewResult> => runBounded(spawn, request, timeoutMs);
