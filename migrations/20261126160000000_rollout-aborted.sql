-- Up Migration
-- One phase for a rollout at weight 0: a rollback by the judge ended in a phase of its own,
-- 'rolled-back'; it is now 'aborted', as a person's abort is, and the reason names who or
-- what aborted ('aborted by the background analysis: …'). Rows written before say so here.
UPDATE rollouts SET phase = 'aborted', reason = 'aborted by analysis: ' || coalesce(reason, 'no reason recorded')
  WHERE phase = 'rolled-back';
UPDATE rollout_events SET to_phase = 'aborted' WHERE to_phase = 'rolled-back';
UPDATE rollout_events SET from_phase = 'aborted' WHERE from_phase = 'rolled-back';

-- Down Migration
-- The earlier code reads 'aborted' as a person's abort; the rollbacks' rows keep that phase.
SELECT 1;
