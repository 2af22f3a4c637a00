import type { CbbSweepTotals } from './contract';

/** A time as the Web UI's reader wants it: UTC, to the second. */
export const utcTime = (ms: number) => new Date(ms).toISOString().slice(11, 19) + ' UTC';

const counts = (t: CbbSweepTotals) =>
  `${t.started} syncs started, ${t.joined} joined, ${t.synced} synced, ${t.notSynced} not synced`;

/** What the sweep is doing, in words, for the run's current details in the Web UI. */
export type SweepSituation =
  | { kind: 'sweeping'; after: string; totals: CbbSweepTotals }
  | { kind: 'idle'; since: number; nextAt: number; endsAt: number; totals: CbbSweepTotals }
  | { kind: 'ended'; why: 'done' | 'idle' | 'paused' | 'superseded' | 'history'; totals: CbbSweepTotals };

export function describeSweep(s: SweepSituation): string {
  switch (s.kind) {
    case 'sweeping':
      return `sweeping pending orders after id ${s.after}; this run so far: ${counts(s.totals)}`;
    case 'idle':
      return (
        `idle since ${utcTime(s.since)}: no pending order. Next sweep at ${utcTime(s.nextAt)}; ` +
        `unless an order turns up, this run ends at ${utcTime(s.endsAt)} and the Schedule starts the next. ` +
        `This run: ${counts(s.totals)}`
      );
    case 'ended': {
      const why = {
        done: 'every pending order swept',
        idle: 'idle long enough: the Schedule starts the next run',
        paused: 'the Schedule is paused',
        superseded: 'another run of the Schedule sweeps now',
        history: 'history long enough: the Schedule starts the next run',
      }[s.why];
      return `ended (${why}); this run: ${counts(s.totals)}`;
    }
  }
}
