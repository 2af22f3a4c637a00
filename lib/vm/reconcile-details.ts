import type { VmReconcileEnd, VmReconcileSummary } from './contract';

/** A time as the Web UI's reader wants it: UTC, to the second. */
const clock = (ms: number) => `${new Date(ms).toISOString().slice(11, 19)} UTC`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The workflows drift was sent to, a few by name: the details are one line in the Web UI. */
function named(ids: string[]): string {
  const shown = ids.slice(0, 3).join(', ');
  return ids.length > 3 ? `${shown} and ${ids.length - 3} more` : shown;
}

/** What one pass found and did, in words: "3 machines checked, 1 drift sent to vm-7 at 04:05:00 UTC". */
export function describePass(s: VmReconcileSummary, sentTo: string[], at: number): string {
  const found = [];
  if (s.signalled) found.push(`${plural(s.signalled, 'drift')} sent to ${named(sentTo)}`);
  if (s.unattended) found.push(`${plural(s.unattended, 'drift')} reported only (no workflow running)`);
  if (!s.drifted) found.push('no drift');
  if (s.orphans.length) found.push(`${plural(s.orphans.length, 'domain')} no machine names (${named(s.orphans)})`);
  return `${plural(s.machines, 'machine')} checked, ${found.join(', ')} at ${clock(at)}`;
}

/** Where a reconcile run is, in words, for its current details in the Web UI. */
export type ReconcileSituation =
  | { kind: 'passing'; pass: number }
  | { kind: 'waiting'; last: string; nextAt: number; endsAt: number }
  | { kind: 'ended'; last: string; passes: number; why?: VmReconcileEnd };

const endings: Record<VmReconcileEnd, string> = {
  paused: 'the Schedule is paused or gone',
  superseded: 'another run of the Schedule reconciles',
  time: 'ran its time: the Schedule starts the next run',
  history: 'history long enough: the Schedule starts the next run',
};

export function describeReconcile(s: ReconcileSituation): string {
  switch (s.kind) {
    case 'passing':
      return `pass ${s.pass}: surveying the machines in Postgres and the domains in libvirt`;
    case 'waiting':
      return `${s.last}; next pass at ${clock(s.nextAt)} (this run ends by ${clock(s.endsAt)}, the Schedule starts the next)`;
    case 'ended':
      return s.why
        ? `${s.last}; ended after ${plural(s.passes, 'pass', 'passes')} (${endings[s.why]})`
        : `${s.last}; one pass, started without a Schedule's loop`;
  }
}
