import { durationMs, formatDuration, parseDuration } from '../../lib/rollout/duration';
import { metricsOf, rolloutSpec } from '../../lib/rollout/spec';
import { defaultTemplateName } from '../../lib/rollout/spec-defaults';
import { describeStep } from '../../lib/rollout/step-spec';

const messages = (input: unknown) => {
  const parsed = rolloutSpec.safeParse(input);
  if (parsed.success) throw new Error('expected the spec to be refused');
  return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('rollout spec', () => {
  it('defaults reproduce the origin: 5/25/50/100 %, 10 min each, < 5 % errors, p95 < 2 s, +50 % / +30 % relative, 30 min watch', () => {
    const spec = rolloutSpec.parse({ target: 'checkout-api' });
    expect(spec.steps.map(describeStep).join(', ')).toBe(
      'set weight 5 %, pause 10m, set weight 25 %, pause 10m, set weight 50 %, pause 10m, set weight 100 %',
    );
    expect(spec.rollbackWindow).toBe('30m');
    expect(spec.traffic).toEqual({ controller: 'flag' });
    expect(spec.backgroundAnalysis).toEqual({ templates: [defaultTemplateName] });
    const [errors, latency] = metricsOf(spec, [defaultTemplateName]);
    expect(errors).toMatchObject({
      interval: '30s',
      window: '5m',
      successCondition: { max: 0.05 },
      relative: { maxIncrease: 0.5 },
      failureLimit: 0,
    });
    expect(latency).toMatchObject({
      successCondition: { max: 2 },
      relative: { maxIncrease: 0.3 },
      compare: { direction: 'increase', tolerance: 0.3 },
    });
    expect(latency.provider).toEqual({ type: 'builtin', measure: 'latency', quantile: 0.95 });
  });

  it('accepts Argo-style steps and names each', () => {
    const spec = rolloutSpec.parse({
      target: 'web',
      steps: [
        { setWeight: 10 },
        { pause: { untilApproved: true } },
        { analysis: { templates: ['default'] } },
        { pause: { duration: '90s' } },
      ],
    });
    expect(spec.steps.map(describeStep)).toEqual([
      'set weight 10 %',
      'wait for approval',
      'analysis default',
      'pause 90s',
    ]);
  });

  it('refuses a step with two kinds or none, and a pause with both or neither form', () => {
    expect(messages({ target: 'web', steps: [{ setWeight: 10, pause: { duration: '1m' } }] })).toEqual([
      'steps.0: a step has exactly one of setWeight, pause, analysis, got setWeight and pause',
    ]);
    expect(messages({ target: 'web', steps: [{}] })).toEqual([
      'steps.0: a step has exactly one of setWeight, pause, analysis',
    ]);
    expect(messages({ target: 'web', steps: [{ pause: {} }] })).toEqual([
      'steps.0.pause: pause takes either duration (e.g. 10m) or untilApproved: true',
    ]);
  });

  it('names every bound it enforces', () => {
    expect(messages({ target: 'Web App' })[0]).toMatch(/^target: target must be 1 to 63 lowercase/);
    expect(messages({ target: 'web', steps: [{ setWeight: 101 }] })).toEqual([
      'steps.0.setWeight: setWeight must be between 0 and 100',
    ]);
    expect(messages({ target: 'web', steps: [{ pause: { duration: '25h' } }] })).toEqual([
      'steps.0.pause.duration: pause.duration must be between 1s and 24h, got 25h',
    ]);
    expect(messages({ target: 'web', steps: [{ pause: { duration: '10 minutes' } }] })[0]).toMatch(
      /must be a duration such as 30s, 10m or 1h/,
    );
    expect(messages({ target: 'web', steps: [] })).toEqual(['steps: a rollout needs at least one step']);
    expect(messages({ target: 'web', steps: Array(101).fill({ setWeight: 1 }) })).toEqual([
      'steps: a rollout has at most 100 steps',
    ]);
    expect(messages({ target: 'web', rollbackWindow: '2d' })).toEqual([
      'rollbackWindow: rollbackWindow must be between 0s and 24h, got 2d',
    ]);
  });

  it('checks metric limits and that a metric judges something', () => {
    const metric = (m: object) => ({
      target: 'web',
      templates: [{ name: 't', metrics: [{ name: 'm', provider: { type: 'builtin', measure: 'errorRate' }, ...m }] }],
    });
    expect(rolloutSpec.safeParse(metric({ successCondition: { max: 0.1 } })).success).toBe(true);
    expect(messages(metric({}))).toEqual([
      'templates.0.metrics.0: metric m judges nothing: give successCondition, relative or compare',
    ]);
    expect(messages(metric({ successCondition: { max: 1 }, failureLimit: 1001 }))).toEqual([
      'templates.0.metrics.0.failureLimit: failureLimit must be between 0 and 1000',
    ]);
    expect(messages(metric({ successCondition: { max: 1 }, interval: '2h' }))).toEqual([
      'templates.0.metrics.0.interval: interval must be between 1s and 1h, got 2h',
    ]);
    expect(messages(metric({ successCondition: { max: 1 }, count: 0 }))).toEqual([
      'templates.0.metrics.0.count: count must be between 1 and 10000',
    ]);
    expect(messages(metric({ successCondition: { min: 2, max: 1 } }))).toEqual([
      'templates.0.metrics.0.successCondition: successCondition.min must not exceed max',
    ]);
    expect(messages(metric({ successCondition: {} }))).toEqual([
      'templates.0.metrics.0.successCondition: successCondition needs max, min or both',
    ]);
  });

  it('asks a comparing Prometheus query for {{variant}}', () => {
    const spec = (query: string) => ({
      target: 'web',
      templates: [
        {
          name: 't',
          metrics: [{ name: 'm', provider: { type: 'prometheus', query }, relative: { maxIncrease: 0.5 } }],
        },
      ],
    });
    expect(messages(spec('sum(rate(errors[5m]))'))).toEqual([
      'templates.0.metrics.0.provider.query: metric m compares canary and baseline, so its query must contain {{variant}}',
    ]);
    expect(rolloutSpec.safeParse(spec('sum(rate(errors{version="{{variant}}"}[5m]))')).success).toBe(true);
  });

  it('refuses references to templates it does not define, and defines no background analysis without a default template', () => {
    const templates = [
      {
        name: 'smoke',
        metrics: [{ name: 'm', provider: { type: 'builtin', measure: 'errorRate' }, successCondition: { max: 0.1 } }],
      },
    ];
    expect(messages({ target: 'web', templates, steps: [{ analysis: { templates: ['default'] } }] })).toEqual([
      'steps.0.analysis.templates: analysis names template default, which the spec does not define (defined: smoke)',
    ]);
    expect(rolloutSpec.parse({ target: 'web', templates }).backgroundAnalysis).toBeNull();
    expect(rolloutSpec.parse({ target: 'web', backgroundAnalysis: null }).backgroundAnalysis).toBeNull();
  });
});

describe('durations', () => {
  it('parses whole numbers of one unit and formats them back', () => {
    expect([
      parseDuration('250ms'),
      parseDuration('30s'),
      parseDuration('10m'),
      parseDuration('2h'),
      parseDuration('1d'),
    ]).toEqual([250, 30_000, 600_000, 7_200_000, 86_400_000]);
    expect([parseDuration('1.5h'), parseDuration('10'), parseDuration('m'), parseDuration('-1s')]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(() => durationMs('soon')).toThrow('not a duration: "soon"');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(3_600_000)).toBe('1h');
  });
});
