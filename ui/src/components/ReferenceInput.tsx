/**
 * A text box (or area) that suggests `${...}` references while typing, and previews what
 * the text resolves to against the last run's recorded values.
 */
import { useMemo, useRef, useState } from "react";
import { previewText } from "../lib/expressionPreview";
import { applyCompletion, completeReference, previewReferences, type Completion, type ReferenceOption, type Scope } from "../lib/references";

interface Props {
  id: string;
  value: string;
  multiline?: boolean;
  references: ReferenceOption[];
  invalid?: boolean;
  /** The last run's recorded values; with them the resolved value is previewed. */
  scope?: Scope | null;
  onChange(value: string): void;
}

const PREVIEW_CHARS = 2000;

export function ReferenceInput({ id, value, multiline, references, invalid, scope, onChange }: Props) {
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const [completion, setCompletion] = useState<Completion | null>(null);
  const [active, setActive] = useState(0);

  const update = (text: string, caret: number) => {
    onChange(text);
    setCompletion(completeReference(text, caret, references));
    setActive(0);
  };
  const choose = (option: ReferenceOption) => {
    if (!completion) return;
    const next = applyCompletion(value, completion, option);
    onChange(next.text);
    setCompletion(null);
    requestAnimationFrame(() => {
      ref.current?.focus();
      ref.current?.setSelectionRange(next.caret, next.caret);
    });
  };
  const props = {
    id,
    ref,
    value,
    "aria-invalid": invalid,
    "aria-autocomplete": "list" as const,
    "aria-controls": `${id}-refs`,
    className: "w-full font-mono text-xs",
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => update(e.target.value, e.target.selectionStart ?? e.target.value.length),
    onBlur: () => setTimeout(() => setCompletion(null), 150),
    onKeyDown: (e: React.KeyboardEvent) => {
      if (!completion) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = completion.options.length;
        setActive((a) => (a + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
      } else if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        choose(completion.options[active]);
      } else if (e.key === "Escape") setCompletion(null);
    },
  };
  const preview = useMemo(() => {
    const found = scope ? previewReferences(value, scope) : null;
    if (!found) return null;
    const text = typeof found.value === "string" ? found.value.slice(0, PREVIEW_CHARS) : previewText(found.value, PREVIEW_CHARS).text;
    return { text, unresolved: found.unresolved };
  }, [value, scope]);
  return (
    <div className="relative">
      {multiline ? <textarea rows={3} {...props} /> : <input {...props} />}
      {preview && (
        <div data-testid={`preview-${id}`} className="mt-1 rounded bg-slate-100 px-2 py-1 text-[11px] dark:bg-slate-800">
          <span className="muted">Last run: </span>
          <span className="whitespace-pre-wrap font-mono [overflow-wrap:anywhere]" data-preview-value>
            {preview.text}
          </span>
          {preview.unresolved.length > 0 && (
            <span className="block text-amber-700 dark:text-amber-400">Not in the last run: {preview.unresolved.join(", ")}</span>
          )}
        </div>
      )}
      {completion && (
        <ul id={`${id}-refs`} role="listbox" className="panel absolute z-20 mt-1 max-h-48 w-full overflow-y-auto rounded border shadow-lg">
          {completion.options.map((option, i) => (
            <li
              key={option.text}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(option);
              }}
              className={`cursor-pointer px-2 py-1 ${i === active ? "bg-sky-100 dark:bg-sky-900" : ""}`}
            >
              <span className="font-mono text-xs">{option.text}</span>
              <span className="muted block text-[10px]">{option.detail}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
