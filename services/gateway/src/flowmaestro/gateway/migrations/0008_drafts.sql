-- Drafts: each workflow has at most one server-side draft (it may be invalid); publishing
-- it makes a version. `workflows.revision` counts every write to the workflow or its
-- draft, so a client holding an older revision gets a conflict instead of overwriting.
ALTER TABLE workflows ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 1;

CREATE TABLE IF NOT EXISTS workflow_drafts (
    workflow_id  text PRIMARY KEY REFERENCES workflows (id),
    name         text NOT NULL,
    definition   jsonb NOT NULL,
    base_version integer NOT NULL,
    updated_at   timestamptz NOT NULL,
    updated_by   text
);
