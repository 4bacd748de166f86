/** A small form over plain fields (run inputs, human-input answers). */
import { fieldText, parseFieldText, validateField, type FormField } from "../lib/schemaForm";

interface Props {
  idPrefix: string;
  fields: FormField[];
  values: Record<string, unknown>;
  onChange(values: Record<string, unknown>): void;
  showErrors?: boolean;
}

export function ValueForm({ idPrefix, fields, values, onChange, showErrors }: Props) {
  return (
    <div className="flex flex-col gap-2">
      {fields.map((field) => {
        const id = `${idPrefix}-${field.name}`;
        const value = values[field.name];
        const problem = showErrors ? validateField(field, value) : null;
        return (
          <div key={field.name} className="flex flex-col gap-1">
            <label htmlFor={id} className={field.kind === "boolean" ? "flex items-center gap-2" : ""}>
              {field.label}
              {field.required && <span className="text-rose-600"> *</span>}
            </label>
            {field.kind === "boolean" ? (
              <input id={id} type="checkbox" checked={value === true} onChange={(e) => onChange({ ...values, [field.name]: e.target.checked })} />
            ) : field.kind === "json" ? (
              <textarea
                id={id}
                rows={3}
                className="font-mono text-xs"
                value={fieldText(value)}
                onChange={(e) => onChange({ ...values, [field.name]: parseFieldText(field, e.target.value) })}
              />
            ) : (
              <input
                id={id}
                name={field.name}
                type={field.kind === "number" || field.kind === "integer" ? "number" : "text"}
                value={fieldText(value)}
                aria-invalid={!!problem}
                onChange={(e) => onChange({ ...values, [field.name]: parseFieldText(field, e.target.value) })}
              />
            )}
            {problem && <span className="field-error">{problem}</span>}
            {field.description && <span className="muted text-[11px]">{field.description}</span>}
          </div>
        );
      })}
    </div>
  );
}

