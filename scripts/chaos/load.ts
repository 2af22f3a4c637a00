import type { Redis } from 'ioredis';
import type { Pool } from '../../lib/infra/db';
import type { Rng } from '../../lib/hmm/prng';
import type { StackSettings } from '../stack/settings';
import type { ChaosClient } from './client';
import type { Invariant } from './invariants';

/** What a process's load is given: the API (recorded), the stack's stores for the checks, a seeded generator. */
export interface LoadContext {
  s: StackSettings;
  api: ChaosClient;
  apiUrl: string;
  apiKey?: string;
  pool: Pool;
  redis: Redis;
  /** This run's tag: every name a load makes carries it, so the checks count this run's things only. */
  tag: string;
  rng: Rng;
  /** How long the chaos window lasts: loads spread their work over it. */
  windowMs: number;
  /** 1 is the ten-minute run's full load; the short run in the tests uses a fraction. */
  scale: number;
  say(msg: string): void;
}

/**
 * One process under chaos. `start` hands it its work through the API before the first
 * kill; `step` runs every few seconds through the chaos window (more work, controls);
 * `settle` waits, within a bound, for the work to end once the parts are back; `check`
 * says what held.
 */
export interface ChaosLoad {
  name: string;
  start(ctx: LoadContext): Promise<void>;
  step?(ctx: LoadContext, elapsedMs: number): Promise<void>;
  settle(ctx: LoadContext): Promise<void>;
  check(ctx: LoadContext): Promise<Invariant[]>;
  stop?(ctx: LoadContext): Promise<void>;
}

/** Polls `probe` until it holds or `timeoutMs` passes; says which. Settling never throws: the checks tell. */
export async function settled(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 1000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return true;
    } catch {
      /* a part still coming back: look again */
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const scaled = (n: number, scale: number, min = 1) => Math.max(min, Math.round(n * scale));
