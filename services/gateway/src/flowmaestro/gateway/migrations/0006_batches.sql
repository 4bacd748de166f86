-- Batches: many executions of one workflow version, one per row of inputs, at most
-- `concurrency` at once. The rows are the durable plan; a row's execution id is made from
-- the batch id and the row number, and its outcome is read from the projected execution.
-- `flowmaestro project --rebuild` restores executions.batch_id from the log.

CREATE TABLE batches (
    id               text PRIMARY KEY,
    owner_id         text NOT NULL REFERENCES users (id),
    workflow_id      text NOT NULL,
    workflow_version integer NOT NULL,
    definition       jsonb NOT NULL,
    workflows        jsonb NOT NULL DEFAULT '{}'::jsonb,
    columns          text[] NOT NULL DEFAULT '{}',
    concurrency      integer NOT NULL,
    total            integer NOT NULL,
    status           text NOT NULL,
    actor_id         text,
    address          text,
    created_at       timestamptz NOT NULL,
    cancel_requested_at timestamptz,
    ended_at         timestamptz
);
CREATE INDEX batches_owner ON batches (owner_id, created_at DESC);
CREATE INDEX batches_workflow ON batches (owner_id, workflow_id, created_at DESC);
CREATE INDEX batches_active ON batches (status) WHERE status IN ('running', 'cancelling');

-- state: queued (not started) → started (claimed; its execution carries the outcome), or
-- skipped (cancelled before it started). `published`: its execution.started is in the log.
CREATE TABLE batch_rows (
    batch_id     text NOT NULL REFERENCES batches (id),
    row_index    integer NOT NULL,
    execution_id text NOT NULL,
    inputs       jsonb NOT NULL,
    state        text NOT NULL DEFAULT 'queued',
    published    boolean NOT NULL DEFAULT false,
    cancel_sent  boolean NOT NULL DEFAULT false,
    started_at   timestamptz,
    PRIMARY KEY (batch_id, row_index)
);
CREATE INDEX batch_rows_queued ON batch_rows (batch_id, row_index) WHERE state = 'queued';
CREATE INDEX batch_rows_started ON batch_rows (batch_id) WHERE state = 'started';

ALTER TABLE executions ADD COLUMN IF NOT EXISTS batch_id text;
CREATE INDEX executions_batch ON executions (batch_id) WHERE batch_id IS NOT NULL;
