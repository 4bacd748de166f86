-- The inbox: runs still under way, per owner (their waiting nodes are what it lists).

CREATE INDEX executions_owner_active ON executions (owner_id)
    WHERE status IN ('running', 'paused');
