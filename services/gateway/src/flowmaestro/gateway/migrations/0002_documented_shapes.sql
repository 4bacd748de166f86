-- Log entries say `warn` (not `warning`); executions keep the variables their nodes set
-- (the API's `current_state` is each completed node's output plus these) and are
-- `pending` until a node is scheduled; workflows list newest-created first by default.
-- Rows written before this migration are brought up to date here; `flowmaestro project
-- --rebuild` recomputes the same values from the event log.

UPDATE execution_logs SET level = 'warn' WHERE level = 'warning';

ALTER TABLE executions ADD COLUMN variables jsonb NOT NULL DEFAULT '{}'::jsonb;

UPDATE executions e SET variables = v.merged
FROM (
    SELECT l.execution_id, jsonb_object_agg(kv.key, kv.value ORDER BY l.seq) AS merged
    FROM execution_logs l, jsonb_each(l.metadata -> 'vars') kv
    WHERE l.event = 'node.completed' AND jsonb_typeof(l.metadata -> 'vars') = 'object'
    GROUP BY l.execution_id
) v
WHERE v.execution_id = e.id;

UPDATE executions e SET status = 'pending'
WHERE status = 'running'
  AND NOT EXISTS (SELECT 1 FROM jsonb_each(e.nodes) n WHERE n.value ->> 'status' <> 'pending');

CREATE INDEX workflows_owner_created ON workflows (owner_id, created_at DESC)
    WHERE deleted_at IS NULL;
