-- Up Migration
-- The sync's progress beside its status, so GET /api/v1/orders/:id answers from this row
-- alone instead of asking Temporal to describe the workflow on every read. Written by the
-- activities in the statements they already run (no extra round trip on the sync's path):
-- cbb_step is the last step a run recorded (loading: it began; contact: the contact is found
-- or made; fields: every field is set; done: the run ended), NULL before any run;
-- cbb_workflow_id and cbb_run_id name the run that began last, for the Web UI link.
ALTER TABLE orders
  ADD COLUMN cbb_step text CHECK (cbb_step IN ('loading', 'contact', 'fields', 'done')),
  ADD COLUMN cbb_workflow_id text,
  ADD COLUMN cbb_run_id text;

-- Down Migration
ALTER TABLE orders DROP COLUMN cbb_run_id, DROP COLUMN cbb_workflow_id, DROP COLUMN cbb_step;
