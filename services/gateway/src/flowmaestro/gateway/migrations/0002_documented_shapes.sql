-- Log entries say `warn` (not `warning`); executions carry their current state (each
-- finished node's output and the variables set) and are `pending` until a node is
-- scheduled; workflows list newest-created first by default.
-- Rows written before this migration are brought up to date here; `flowmaestro project
-- --rebuild` recomputes the same values from the event log.

UPDATE execution_logs SET level = 'warn' WHERE level = 'warning';

ALTER TABLE executions ADD COLUMN current_state jsonb NOT NULL DEFAULT '{}'::jsonb;

UPDATE executions e SET current_state = jsonb_build_object(
    'nodes', COALESCE((
        SELECT jsonb_object_agg(n.key, n.value -> 'output')
        FROM jsonb_each(e.nodes) n
        WHERE n.value ->> 'status' = 'completed' AND n.value ->> 'output_ref' IS NULL
    ), '{}'::jsonb),
    'variables', COALESCE((
        SELECT jsonb_object_agg(v.key, v.value ORDER BY l.seq)
        FROM execution_logs l, jsonb_each(l.metadata -> 'vars') v
        WHERE l.execution_id = e.id
          AND l.event = 'node.completed'
          AND jsonb_typeof(l.metadata -> 'vars') = 'object'
    ), '{}'::jsonb),
    'output_refs', COALESCE((
        SELECT jsonb_object_agg(n.key, n.value -> 'output_ref')
        FROM jsonb_each(e.nodes) n
        WHERE n.value ->> 'status' = 'completed' AND n.value ->> 'output_ref' IS NOT NULL
    ), '{}'::jsonb)
);

UPDATE executions e SET status = 'pending'
WHERE status = 'running'
  AND NOT EXISTS (SELECT 1 FROM jsonb_each(e.nodes) n WHERE n.value ->> 'status' <> 'pending');

CREATE INDEX workflows_owner_created ON workflows (owner_id, created_at DESC)
    WHERE deleted_at IS NULL;
