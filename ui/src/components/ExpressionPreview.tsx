/**
 * The result of a JSONata or JMESPath expression on the input its node received in the
 * last run, evaluated in a bounded worker in this browser as the expression is typed.
 */
import { useEffect, useMemo, useState } from "react";
import { PREVIEW_MAX_CHARS, previewText, type ExpressionLanguage, type PreviewResult } from "../lib/expressionPreview";
import { previewExpression } from "../lib/previewWorker";

const DEBOUNCE_MS = 250;

interface Props {
  language: ExpressionLanguage;
  expression: string;
  /** The recorded input; undefined when the last run has none for this node. */
  input: unknown;
}

export function ExpressionPreview({ language, expression, input }: Props) {
  const [result, setResult] = useState<PreviewResult | null>(null);
  const [busy, setBusy] = useState(false);
  const ready = input !== undefined && expression.trim() !== "";
  const inputText = useMemo(() => (input === undefined ? "" : previewText(input, 4000).text), [input]);

  useEffect(() => {
    if (!ready) return;
    let current = true;
    const timer = setTimeout(() => {
      setBusy(true);
      void previewExpression({ language, expression, input, maxChars: PREVIEW_MAX_CHARS }).then((r) => {
        if (!current) return;
        setResult(r);
        setBusy(false);
      });
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [ready, language, expression, input]);

  if (input === undefined) return <p className="muted text-[11px]" data-testid="expression-preview">Run the workflow once to preview this expression on real data.</p>;
  return (
    <div className="flex flex-col gap-1 text-[11px]" data-testid="expression-preview" data-state={busy ? "busy" : result ? (result.ok ? "ok" : result.kind) : "idle"}>
      <details>
        <summary className="muted cursor-pointer">Input from the last run</summary>
        <pre className="max-h-32 overflow-auto rounded bg-slate-100 p-1 dark:bg-slate-800">{inputText}</pre>
      </details>
      <span className="muted">Result{busy ? " (evaluating…)" : ""}</span>
      {result &&
        (result.ok ? (
          <pre data-testid="expression-result" className="max-h-40 overflow-auto whitespace-pre-wrap rounded bg-emerald-50 p-1 [overflow-wrap:anywhere] dark:bg-emerald-950">
            {result.text}
          </pre>
        ) : (
          <p data-testid="expression-error" className="field-error [overflow-wrap:anywhere]">
            {result.error}
          </p>
        ))}
    </div>
  );
}
