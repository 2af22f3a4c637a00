import { createRng } from '../../lib/hmm/prng';

/**
 * The kills of a chaos run, drawn from a seed before the run starts: the same seed,
 * length, spacing and parts give the same schedule, so a run that found something can
 * be run again with the same kills in the same order.
 */
export interface Kill {
  /** From the start of the chaos window. */
  atMs: number;
  part: string;
}

export interface ScheduleOptions {
  seed: number;
  durationMs: number;
  killEveryMs: number;
  parts: readonly string[];
}

export function killSchedule(o: ScheduleOptions): Kill[] {
  if (o.parts.length === 0) throw new Error('a chaos run needs at least one part to kill');
  if (!(o.killEveryMs > 0)) throw new Error(`the time between kills must be positive, got ${o.killEveryMs} ms`);
  const rng = createRng(o.seed);
  const kills: Kill[] = [];
  let round: string[] = [];
  // Rounds of every part once, each round in a seeded order: a run long enough for one round
  // kills every part, and no part twice in a row across rounds (a part still coming back
  // from its last kill would make the second one a no-op).
  for (let at = o.killEveryMs; at < o.durationMs; at += o.killEveryMs) {
    if (round.length === 0) {
      round = shuffled(o.parts, rng.int);
      const last = kills[kills.length - 1]?.part;
      if (round.length > 1 && round[0] === last) round.push(round.shift()!);
    }
    kills.push({ atMs: at, part: round.shift()! });
  }
  return kills;
}

/** Fisher-Yates with the run's generator. */
function shuffled<T>(items: readonly T[], int: (n: number) => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** `42`, `0x2a`: a seed is a 32-bit unsigned integer. */
export function parseSeed(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff)
    throw new Error(`--seed must be a whole number from 0 to ${0xffff_ffff}, got ${JSON.stringify(text)}`);
  return n;
}
