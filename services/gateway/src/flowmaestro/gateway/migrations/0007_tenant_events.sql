-- Who asked a batch to stop, and from where: each row's `execution.cancel_requested`
-- carries them (not the batch's starter), so the runs' own logs say who cancelled them.
ALTER TABLE batches ADD COLUMN IF NOT EXISTS cancel_actor_id text;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS cancel_address text;
