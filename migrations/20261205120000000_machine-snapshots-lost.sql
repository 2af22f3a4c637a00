-- Up Migration
-- A snapshot the machine's record lists but libvirt no longer has (its domain was lost, or
-- it was deleted outside the machine's workflow) is kept and marked lost, with the time the
-- reconciler noticed, so a revert to it is refused with that reason. Taking a snapshot of
-- the same name again clears the mark.
ALTER TABLE machine_snapshots ADD COLUMN lost_at timestamptz;

-- Down Migration
ALTER TABLE machine_snapshots DROP COLUMN lost_at;
