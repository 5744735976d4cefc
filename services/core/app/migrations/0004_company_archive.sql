-- Issue 16: a company is archived, never deleted (its invoices and stock keep pointing at it). An archived
-- company leaves /me and the company lists (ask with `include_archived=true`); an administrator restores it.
ALTER TABLE companies ADD COLUMN IF NOT EXISTS archived_at timestamptz;
