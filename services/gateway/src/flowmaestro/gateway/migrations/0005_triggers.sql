-- Triggers: cron schedules, webhooks and tenants' events that start executions, and the
-- fires each has made (one row per fire: a fire delivered twice is recorded once).

CREATE TABLE triggers (
    id            text PRIMARY KEY,
    owner_id      text NOT NULL,
    workflow_id   text NOT NULL,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('schedule', 'webhook', 'event')),
    inputs        jsonb NOT NULL DEFAULT '{}'::jsonb,
    config        jsonb NOT NULL DEFAULT '{}'::jsonb,
    secret        jsonb,
    webhook_token text UNIQUE,
    paused        boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX triggers_owner ON triggers (owner_id, workflow_id, created_at);
CREATE INDEX triggers_event_owner ON triggers (owner_id) WHERE kind = 'event';

CREATE TABLE trigger_fires (
    trigger_id   text NOT NULL,
    fire_key     text NOT NULL,
    execution_id text,
    outcome      text NOT NULL,
    detail       text,
    scheduled_at timestamptz,
    fired_at     timestamptz NOT NULL,
    PRIMARY KEY (trigger_id, fire_key)
);
CREATE INDEX trigger_fires_recent ON trigger_fires (trigger_id, fired_at DESC);
CREATE INDEX trigger_fires_scheduled ON trigger_fires (trigger_id, scheduled_at DESC);

ALTER TABLE executions ADD COLUMN IF NOT EXISTS trigger_id text;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS trigger_kind text;
CREATE INDEX executions_trigger ON executions (trigger_id, started_at DESC)
    WHERE trigger_id IS NOT NULL;
