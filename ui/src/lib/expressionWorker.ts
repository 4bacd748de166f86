/** The worker a preview runs in: evaluates one expression and answers once. */
import { evaluateExpression, type PreviewRequest } from "./expressionPreview";

self.onmessage = async (event: MessageEvent<PreviewRequest>) => {
  self.postMessage(await evaluateExpression(event.data));
};
