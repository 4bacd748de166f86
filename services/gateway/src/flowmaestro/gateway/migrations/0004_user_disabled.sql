-- An operator disables an account with `UPDATE users SET disabled_at = now() WHERE ...`:
-- its tokens are refused at once, and it can no longer sign in.
ALTER TABLE users ADD COLUMN IF NOT EXISTS disabled_at timestamptz;
