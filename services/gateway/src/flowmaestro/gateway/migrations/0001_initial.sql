-- The read model: users, workflows and their versions, integrations, and the projection
-- of the execution log (executions, execution_logs, projector_checkpoints).

CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE workflows (
    id              text PRIMARY KEY,
    owner_id        text NOT NULL REFERENCES users (id),
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    current_version integer NOT NULL,
    definition      jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz
);
CREATE INDEX workflows_owner ON workflows (owner_id, updated_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE workflow_versions (
    workflow_id   text NOT NULL REFERENCES workflows (id),
    version       integer NOT NULL,
    definition    jsonb NOT NULL,
    created_at    timestamptz NOT NULL,
    restored_from integer,
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE executions (
    id               text PRIMARY KEY,
    owner_id         text,
    workflow_id      text,
    workflow_version integer,
    test             boolean NOT NULL DEFAULT false,
    status           text NOT NULL,
    inputs           jsonb NOT NULL,
    outputs          jsonb NOT NULL,
    error            jsonb,
    failed_node      text,
    nodes            jsonb NOT NULL,
    started_at       timestamptz NOT NULL,
    completed_at     timestamptz,
    duration_ms      double precision,
    last_seq         bigint NOT NULL,
    event_count      integer NOT NULL
);
CREATE INDEX executions_owner ON executions (owner_id, test, started_at DESC);
CREATE INDEX executions_workflow ON executions (workflow_id, started_at DESC);

CREATE TABLE execution_logs (
    execution_id text NOT NULL,
    seq          bigint NOT NULL,
    node_id      text,
    level        text NOT NULL,
    event        text NOT NULL,
    message      text NOT NULL,
    metadata     jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (execution_id, seq)
);

CREATE TABLE integrations (
    id                text PRIMARY KEY,
    owner_id          text NOT NULL REFERENCES users (id),
    name              text NOT NULL,
    type              text NOT NULL,
    config            jsonb NOT NULL,
    credentials       jsonb,
    credential_fields text[] NOT NULL DEFAULT '{}',
    enabled           boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX integrations_owner ON integrations (owner_id, created_at);

CREATE TABLE projector_checkpoints (
    name     text PRIMARY KEY,
    last_seq bigint NOT NULL
);
