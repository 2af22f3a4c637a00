import type { Answer } from './client';

/** One thing a chaos run promises, checked after the run: what it claims, whether it held, and the evidence. */
export interface Invariant {
  claim: string;
  held: boolean;
  evidence: string;
}

export const invariant = (claim: string, held: boolean, evidence: string): Invariant => ({ claim, held, evidence });

/** Numbered lines, one per invariant, the evidence beneath; the last line counts them. */
export function report(invariants: readonly Invariant[]): string {
  const lines = invariants.map(
    (inv, i) => `${String(i + 1).padStart(2)}. ${inv.held ? 'held  ' : 'BROKEN'} ${inv.claim}\n      ${inv.evidence}`,
  );
  const broken = invariants.filter((i) => !i.held).length;
  lines.push(
    broken === 0 ? `all ${invariants.length} invariants held` : `${broken} of ${invariants.length} invariants BROKEN`,
  );
  return lines.join('\n');
}

const listed = (items: string[], max = 5) =>
  items.length <= max ? items.join('; ') : `${items.slice(0, max).join('; ')}; and ${items.length - max} more`;

/**
 * What the API promises during outages (README, "Outages"): a dependency that is down is a
 * 503 with Retry-After within the request deadline, never another 5xx, never a hang.
 * `slackRatio` is how far past the deadline an answer may come (the issue's 10 %).
 */
export function outageInvariants(answers: readonly Answer[], deadlineMs: number, slackRatio = 0.1): Invariant[] {
  const fiveHundreds = answers.filter((a) => a.status >= 500 && a.status !== 503);
  const hangs = answers.filter((a) => a.status === 0);
  const unavailable = answers.filter((a) => a.status === 503);
  const bare = unavailable.filter((a) => !a.retryAfter);
  const limit = Math.round(deadlineMs * (1 + slackRatio));
  const late = unavailable.filter((a) => a.ms > limit);
  const byStatus = new Map<number, number>();
  for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
  const mix = [...byStatus]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s === 0 ? 'no answer' : s}×${n}`)
    .join(', ');
  const slowest = unavailable.reduce((m, a) => Math.max(m, a.ms), 0);
  // A 400 is the run's own request refused: not an outage, but worth seeing beside the mix.
  const refused = answers.filter((a) => a.status === 400).map((a) => `${a.route}: ${a.detail ?? ''}`);
  return [
    invariant(
      'no 5xx other than 503, and no request left without an answer',
      fiveHundreds.length === 0 && hangs.length === 0,
      `${answers.length} answers (${mix})` +
        (fiveHundreds.length
          ? `; ${listed(fiveHundreds.map((a) => `${a.status} ${a.route}: ${a.detail ?? ''}`))}`
          : '') +
        (hangs.length ? `; no answer within the client's patience: ${listed(hangs.map((a) => a.route))}` : '') +
        (refused.length ? `; the 400s: ${listed(refused, 3)}` : ''),
    ),
    invariant(
      'every 503 carries Retry-After',
      bare.length === 0,
      `${unavailable.length} 503s` + (bare.length ? `; without it: ${listed(bare.map((a) => a.route))}` : ''),
    ),
    invariant(
      `every 503 within the deadline (${deadlineMs} ms, +${Math.round(slackRatio * 100)} %: ${limit} ms)`,
      late.length === 0,
      `${unavailable.length} 503s, slowest ${slowest} ms` +
        (late.length ? `; late: ${listed(late.map((a) => `${a.route} ${a.ms} ms`))}` : ''),
    ),
  ];
}
