import type { RolloutSpecInput } from '../../../lib/rollout/spec';
import { readFlag } from '../../../store/rollout/flags';
import { invariant, type Invariant } from '../invariants';
import { settled, type ChaosLoad, type LoadContext } from '../load';

/**
 * Three canary rollouts on feature flags, judged by the built-in metrics on the outcomes
 * this load reports through the API: a healthy one that must end promoted at 100, a bad
 * one (half its canary requests fail) that must end aborted at 0, and one held at a manual
 * gate at 25. The flag in Redis must serve what each rollout says its weight is.
 */
type Kind = 'healthy' | 'bad' | 'gated';
const expected: Record<Kind, { phase: string; weight: number }> = {
  healthy: { phase: 'promoted', weight: 100 },
  bad: { phase: 'aborted', weight: 0 },
  gated: { phase: 'waiting-for-approval', weight: 25 },
};

function spec(target: string, kind: Kind, windowMs: number): RolloutSpecInput {
  const pause = `${Math.max(5, Math.round(windowMs / 4000))}s`;
  const steps: RolloutSpecInput['steps'] =
    kind === 'gated'
      ? [{ setWeight: 25 }, { pause: { untilApproved: true } }, { setWeight: 100 }]
      : [
          { setWeight: 20 },
          { pause: { duration: pause } },
          { setWeight: 50 },
          { pause: { duration: pause } },
          { setWeight: 100 },
        ];
  return {
    target,
    version: `chaos-${kind}`,
    traffic: { controller: 'flag' },
    steps,
    templates: [
      {
        name: 'default',
        metrics: [
          {
            name: 'error-rate',
            provider: { type: 'builtin', measure: 'errorRate' },
            interval: '5s',
            window: '15s',
            successCondition: { max: 0.05 },
            // An outage of Redis or of the API leaves a measurement without data or without
            // an answer: that is no verdict, and must not end a healthy rollout.
            inconclusiveLimit: 1000,
            consecutiveErrorLimit: 1000,
          },
        ],
      },
    ],
    rollbackWindow: '0s',
  };
}

export function rolloutLoad(): ChaosLoad {
  const started = new Map<Kind, { id: string; target: string }>();

  async function report(ctx: LoadContext, kind: Kind, target: string): Promise<void> {
    const outcomes = [];
    for (let i = 0; i < 20; i++) {
      outcomes.push({ variant: 'baseline', ok: true, latencyMs: 20 });
      outcomes.push({ variant: 'canary', ok: kind !== 'bad' || i % 2 === 0, latencyMs: 20 });
    }
    await ctx.api
      .call('POST /api/v1/flags/{key}/outcomes', 'POST', `/api/v1/flags/${target}/outcomes`, { outcomes })
      .catch(() => undefined);
  }

  const readRollout = async (ctx: LoadContext, id: string) => {
    const res = await ctx.api.call('GET /api/v1/rollouts/{id}', 'GET', `/api/v1/rollouts/${id}`);
    if (res.status !== 200) throw new Error(`GET /api/v1/rollouts/${id} answered ${res.status}`);
    const { record, status } = res.body as {
      record: { phase: string; weight: number } | null;
      status: { phase: string; weight: number } | null;
    };
    return status ?? record;
  };

  return {
    name: 'rollout',
    async start(ctx) {
      for (const kind of Object.keys(expected) as Kind[]) {
        const target = `${ctx.tag}-${kind}`;
        await report(ctx, kind, target);
        const res = await ctx.api.persist<{ id: string }>(
          'POST /api/v1/rollouts',
          'POST',
          '/api/v1/rollouts',
          spec(target, kind, ctx.windowMs),
        );
        if (res.status !== 201)
          throw new Error(`the ${kind} rollout did not start: ${res.status} ${JSON.stringify(res.body)}`);
        started.set(kind, { id: res.body.id, target });
      }
    },
    async step(ctx) {
      await Promise.all([...started].map(([kind, r]) => report(ctx, kind, r.target)));
    },
    async settle(ctx) {
      await settled(
        async () => {
          await Promise.all([...started].map(([kind, r]) => report(ctx, kind, r.target)));
          for (const [kind, r] of started) {
            const now = await readRollout(ctx, r.id);
            if (now?.phase !== expected[kind].phase) return false;
          }
          return true;
        },
        300_000,
        2000,
      );
    },
    async check(ctx) {
      const out: Invariant[] = [];
      const lines: string[] = [];
      let phasesHeld = started.size === 3;
      let flagsHeld = started.size === 3;
      for (const [kind, r] of started) {
        const now = await readRollout(ctx, r.id).catch(() => undefined);
        const flag = await readFlag(ctx.redis, r.target);
        if (now?.phase !== expected[kind].phase || now.weight !== expected[kind].weight) phasesHeld = false;
        if (!flag || flag.weight !== now?.weight) flagsHeld = false;
        lines.push(
          `${kind}: ${now?.phase ?? 'unknown'} at ${now?.weight ?? '?'}, Redis serves ${flag?.weight ?? 'no flag'}`,
        );
      }
      out.push(
        invariant(
          'rollouts: healthy promoted at 100, bad aborted at 0, gated held at 25',
          phasesHeld,
          lines.join('; '),
        ),
        invariant("rollouts: each flag in Redis serves its rollout's weight", flagsHeld, lines.join('; ')),
      );
      return out;
    },
    async stop(ctx) {
      // The gated rollout would wait for its approval forever: the run ends it.
      const gated = started.get('gated');
      if (gated)
        await ctx.api
          .call('POST /api/v1/rollouts/{id}/abort', 'POST', `/api/v1/rollouts/${gated.id}/abort`, {
            reason: 'the chaos run is over',
          })
          .catch(() => undefined);
    },
  };
}
