/** Waiting for you: every human-input node of the user's runs that waits for an answer,
 * answered right here. */
import { useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { keys, useInbox } from "../api/hooks";
import { TopBar } from "../App";
import { HumanInputForm } from "../components/HumanInputForm";

export function InboxPage() {
  const inbox = useInbox();
  const client = useQueryClient();
  const waiting = inbox.data?.waiting ?? [];
  return (
    <div className="flex h-full flex-col">
      <TopBar>
        <span className="font-medium">Waiting for you</span>
      </TopBar>
      <main className="flex flex-col gap-3 overflow-auto p-4 text-sm" data-testid="inbox">
        {inbox.error && <p className="field-error">{String(inbox.error)}</p>}
        {inbox.data && waiting.length === 0 && <p className="muted">Nothing is waiting for you.</p>}
        {waiting.map((w) => (
          <section key={`${w.execution_id}/${w.node_id}`} className="panel flex max-w-xl flex-col gap-2 rounded border p-3" data-testid={`waiting-${w.execution_id}-${w.node_id}`}>
            <div className="flex flex-wrap items-center gap-2 text-xs">
              <span className="font-semibold">{w.workflow_name ?? "a deleted workflow"}</span>
              {w.workflow_version != null && <span className="muted">v{w.workflow_version}</span>}
              {w.test && <span className="muted">test run</span>}
              <span className="muted">waiting since {new Date(w.waiting_since).toLocaleString()}</span>
              <Link className="underline" to={`/executions/${w.execution_id}`}>
                open run
              </Link>
            </div>
            <HumanInputForm
              executionId={w.execution_id}
              nodeId={w.node_id}
              request={w.request}
              onAnswered={() => void client.invalidateQueries({ queryKey: keys.inbox })}
            />
          </section>
        ))}
      </main>
    </div>
  );
}
