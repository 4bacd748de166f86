/** Pure helpers of the Triggers panel: the create body from the form, summaries, times. */
import type { Trigger, TriggerFire, TriggerKind } from "../api/types";

/** What the create form holds (all text, as typed). */
export interface TriggerForm {
  kind: TriggerKind;
  name: string;
  inputs: string;
  cron: string;
  timezone: string;
  missed: "skip" | "run_once";
  mode: "async" | "sync";
  secret: string;
  subject: string;
}

export const EMPTY_FORM: TriggerForm = {
  kind: "schedule",
  name: "",
  inputs: "{}",
  cron: "0 9 * * 1-5",
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  missed: "skip",
  mode: "async",
  secret: "",
  subject: "",
};

/** The `POST /api/triggers` body, or the form's problems by field. */
export function triggerBody(
  workflowId: string,
  form: TriggerForm,
): { body: Record<string, unknown> } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  let inputs: unknown = {};
  try {
    inputs = form.inputs.trim() ? JSON.parse(form.inputs) : {};
  } catch {
    errors.inputs = "not valid JSON";
  }
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) errors.inputs ??= "a JSON object";
  if (!form.name.trim()) errors.name = "required";
  const body: Record<string, unknown> = { workflow_id: workflowId, name: form.name.trim(), kind: form.kind, inputs };
  if (form.kind === "schedule") {
    const fields = form.cron.trim().split(/\s+/);
    if (!form.cron.trim().startsWith("@") && fields.length !== 5 && fields.length !== 6) errors.cron = "5 fields (or 6, seconds first)";
    body.schedule = { cron: form.cron.trim(), timezone: form.timezone.trim() || "UTC", missed: form.missed };
  } else if (form.kind === "webhook") {
    if (form.secret && form.secret.length < 16) errors.secret = "at least 16 characters";
    body.webhook = { mode: form.mode, ...(form.secret ? { secret: form.secret } : {}) };
  } else {
    if (!/^((\*|[A-Za-z0-9_-]+)\.)*(\*|>|[A-Za-z0-9_-]+)$/.test(form.subject.trim())) errors.subject = "tokens, * and a last >, split by dots";
    body.event = { subject: form.subject.trim() };
  }
  return Object.keys(errors).length ? { errors } : { body };
}

/** One line saying what fires the trigger. */
export function describeTrigger(trigger: Trigger, origin = ""): string {
  if (trigger.kind === "schedule" && trigger.schedule) {
    const missed = trigger.schedule.missed === "run_once" ? ", missed runs: once" : "";
    return `cron ${trigger.schedule.cron} (${trigger.schedule.timezone})${missed}`;
  }
  if (trigger.kind === "webhook" && trigger.webhook) {
    return `POST ${origin}${trigger.webhook.url}${trigger.webhook.signed ? " (signed)" : ""}${trigger.webhook.mode === "sync" ? ", waits for outputs" : ""}`;
  }
  return `messages on ${trigger.event?.filter ?? trigger.event?.subject ?? "?"}`;
}

/** How to fire an event trigger over HTTP: a POST of a JSON object to a subject its
 * pattern matches (each `*` or `>` standing for one example token), in the caller's own
 * namespace. Null for other kinds. */
export function publishHint(trigger: Trigger, origin = ""): string | null {
  if (trigger.kind !== "event" || !trigger.event) return null;
  const subject = trigger.event.subject
    .split(".")
    .map((token) => (token === "*" || token === ">" ? "example" : token))
    .join(".");
  return `POST ${origin}/api/events/${subject} with a JSON object (your bearer token)`;
}

/** "in 5 min", "in 2 h", "3 d ago"… relative to `now`. */
export function relativeTime(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const size = Math.abs(seconds);
  const [value, unit] =
    size < 60 ? [size, "s"] : size < 3600 ? [Math.round(size / 60), "min"] : size < 86400 ? [Math.round(size / 3600), "h"] : [Math.round(size / 86400), "d"];
  return seconds >= 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}

/** A fire's short label: what became of it and why. */
export function fireLabel(fire: TriggerFire): string {
  const why = fire.detail ? ` — ${fire.detail}` : "";
  return `${fire.outcome}${why}`;
}
