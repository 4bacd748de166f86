-- The audit trail of people's actions on workflows and integrations. Actions on an
-- execution are recorded as events in its own log (with an `actor`); the projector copies
-- them into execution_logs, and `GET /api/audit` reads both.

CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    owner_id      text NOT NULL,
    actor_id      text NOT NULL,
    address       text,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL
);
CREATE INDEX audit_log_owner ON audit_log (owner_id, created_at DESC);
CREATE INDEX audit_log_resource ON audit_log (owner_id, resource_type, resource_id);

-- The log entries that record a person's action on an execution.
CREATE INDEX execution_logs_actions ON execution_logs (execution_id, seq)
    WHERE metadata ? 'actor';
