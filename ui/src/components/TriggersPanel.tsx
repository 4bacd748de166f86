/** A workflow's triggers: schedules with their next fire times, webhooks with their URL,
 * event subjects and how to publish to them; the latest fires of each; create, pause,
 * resume and delete. */
import { useState } from "react";
import { Link } from "react-router";
import { useTriggerMutations, useTriggers } from "../api/hooks";
import type { Trigger } from "../api/types";
import { EMPTY_FORM, type TriggerForm, describeTrigger, fireLabel, publishHint, relativeTime, triggerBody } from "../lib/triggers";

function TriggerItem({ trigger, workflowId }: { trigger: Trigger; workflowId: string }) {
  const { setPaused, remove } = useTriggerMutations(workflowId);
  const now = Date.now();
  return (
    <li className="space-y-1 py-2" data-trigger={trigger.id}>
      <div className="flex items-center gap-2">
        <span className="flex-1 truncate font-medium">{trigger.name}</span>
        <span className="muted text-xs">{trigger.paused ? "paused" : trigger.kind}</span>
        <button className="btn" onClick={() => setPaused.mutate({ id: trigger.id, paused: !trigger.paused })}>
          {trigger.paused ? "Resume" : "Pause"}
        </button>
        <button className="btn" onClick={() => remove.mutate(trigger.id)} aria-label={`Delete ${trigger.name}`}>
          ✕
        </button>
      </div>
      <p className="muted break-all font-mono text-xs">{describeTrigger(trigger, window.location.origin)}</p>
      {publishHint(trigger, window.location.origin) && (
        <p className="muted break-all font-mono text-xs" data-publish>{publishHint(trigger, window.location.origin)}</p>
      )}
      {trigger.next_fires.length > 0 && (
        <p className="text-xs" title={trigger.next_fires.join("\n")}>
          Next: {trigger.next_fires.slice(0, 3).map((t) => `${new Date(t).toLocaleString()} (${relativeTime(t, now)})`).join(", ")}
        </p>
      )}
      {trigger.last_fires.length > 0 && (
        <ul className="text-xs">
          {trigger.last_fires.slice(0, 5).map((fire) => (
            <li key={fire.fire_key} className="flex gap-1">
              <span className="muted">{relativeTime(fire.fired_at, now)}</span>
              {fire.execution_id ? <Link to={`/executions/${fire.execution_id}`}>{fireLabel(fire)}</Link> : <span>{fireLabel(fire)}</span>}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function NewTrigger({ workflowId }: { workflowId: string }) {
  const [form, setForm] = useState<TriggerForm>(EMPTY_FORM);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const { create } = useTriggerMutations(workflowId);
  const set = (change: Partial<TriggerForm>) => setForm({ ...form, ...change });
  const submit = async () => {
    const made = triggerBody(workflowId, form);
    if ("errors" in made) return setErrors(made.errors);
    setErrors({});
    try {
      await create.mutateAsync(made.body);
      setForm({ ...EMPTY_FORM, kind: form.kind });
    } catch (e) {
      setErrors({ "": e instanceof Error ? e.message : String(e) });
    }
  };
  const field = (name: keyof TriggerForm, label: string, placeholder = "") => (
    <label className="block text-xs">
      {label}
      <input className="input w-full" value={form[name]} placeholder={placeholder} onChange={(e) => set({ [name]: e.target.value })} />
      {errors[name] && <span className="field-error">{errors[name]}</span>}
    </label>
  );
  return (
    <div className="space-y-2 border-t border-slate-200 pt-2 dark:border-slate-800">
      <div className="flex gap-1">
        {(["schedule", "webhook", "event"] as const).map((kind) => (
          <button key={kind} className={`btn flex-1 ${form.kind === kind ? "btn-primary" : ""}`} onClick={() => set({ kind })}>
            {kind}
          </button>
        ))}
      </div>
      {field("name", "Name")}
      {form.kind === "schedule" && (
        <>
          {field("cron", "Cron (minute hour day month weekday)", "0 9 * * 1-5")}
          {field("timezone", "Time zone", "Europe/Paris")}
          <label className="block text-xs">
            Missed runs
            <select className="input w-full" value={form.missed} onChange={(e) => set({ missed: e.target.value as TriggerForm["missed"] })}>
              <option value="skip">skip</option>
              <option value="run_once">run once</option>
            </select>
          </label>
        </>
      )}
      {form.kind === "webhook" && (
        <>
          <label className="block text-xs">
            Answer
            <select className="input w-full" value={form.mode} onChange={(e) => set({ mode: e.target.value as TriggerForm["mode"] })}>
              <option value="async">at once (202, execution id)</option>
              <option value="sync">with the outputs</option>
            </select>
          </label>
          {field("secret", "HMAC secret (optional)")}
        </>
      )}
      {form.kind === "event" && field("subject", "Subject in your namespace", "orders.>")}
      {field("inputs", "Inputs (JSON)")}
      {errors[""] && <p className="field-error">{errors[""]}</p>}
      <button className="btn btn-primary w-full" onClick={submit} disabled={create.isPending}>
        Add trigger
      </button>
    </div>
  );
}

export function TriggersPanel({ workflowId }: { workflowId: string }) {
  const triggers = useTriggers(workflowId);
  return (
    <div className="space-y-2 p-3">
      {triggers.error && <p className="field-error">{String(triggers.error)}</p>}
      {triggers.data?.length === 0 && <p className="muted">No triggers: runs start only from the canvas, the API and the CLI.</p>}
      <ul className="divide-y divide-slate-200 dark:divide-slate-800">
        {triggers.data?.map((t) => <TriggerItem key={t.id} trigger={t} workflowId={workflowId} />)}
      </ul>
      <NewTrigger workflowId={workflowId} />
    </div>
  );
}
