-- How each execution started (`manual`, `schedule`, `webhook`, `event` or `batch`), for
-- the executions list's filter, and an index of the runs still under way per owner (the
-- inbox lists their waiting nodes). `flowmaestro project --rebuild` recomputes `source`
-- from the event log, as the projector writes it.

ALTER TABLE executions ADD COLUMN source text NOT NULL DEFAULT 'manual';

UPDATE executions SET source = CASE
    WHEN batch_id IS NOT NULL THEN 'batch'
    WHEN trigger_kind IS NOT NULL THEN trigger_kind
    ELSE 'manual' END;

CREATE INDEX executions_owner_source ON executions (owner_id, test, source, started_at DESC);
CREATE INDEX executions_owner_active ON executions (owner_id)
    WHERE status IN ('running', 'paused');
CREATE INDEX execution_logs_waiting ON execution_logs (execution_id, node_id, seq DESC)
    WHERE event = 'node.waiting';
