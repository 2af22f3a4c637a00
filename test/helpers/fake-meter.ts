import type { MetricMeter, MetricTags } from '@temporalio/common';

/** One instrument's values by series (its label set as sorted JSON). */
export interface FakeInstrument {
  kind: 'counter' | 'histogram' | 'gauge';
  values: Map<string, number[]>;
}

/** A MetricMeter that keeps what it is given, for unit tests of the metric definitions. */
export function fakeMeter() {
  const instruments = new Map<string, FakeInstrument>();
  const series = (tags: MetricTags = {}) =>
    JSON.stringify(Object.fromEntries(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b))));
  const make = (name: string, kind: FakeInstrument['kind']) => {
    if (instruments.has(name)) throw new Error(`${name} made twice`);
    const made: FakeInstrument = { kind, values: new Map() };
    instruments.set(name, made);
    const put = (value: number, tags?: MetricTags) => {
      if (value < 0) throw new Error(`${name}: negative value ${value}`);
      made.values.set(series(tags), [...(made.values.get(series(tags)) ?? []), value]);
    };
    return { name, kind, put };
  };
  const meter = {
    createCounter: (name: string) => {
      const i = make(name, 'counter');
      return { ...i, unit: '', description: '', valueType: 'int', add: i.put, withTags: () => undefined };
    },
    createHistogram: (name: string) => {
      const i = make(name, 'histogram');
      return { ...i, unit: '', description: '', valueType: 'float', record: i.put, withTags: () => undefined };
    },
    createGauge: (name: string) => {
      const i = make(name, 'gauge');
      return { ...i, unit: '', description: '', valueType: 'int', set: i.put, withTags: () => undefined };
    },
    withTags: () => meter,
  } as unknown as MetricMeter;
  /** The sum of a series' values (a counter's count), 0 if it has none. */
  const total = (name: string, tags: MetricTags = {}) =>
    (instruments.get(name)?.values.get(series(tags)) ?? []).reduce((a, b) => a + b, 0);
  /** The label sets an instrument has series for. */
  const labelSetsOf = (name: string) =>
    [...(instruments.get(name)?.values.keys() ?? [])].map((k) => JSON.parse(k) as Record<string, string>);
  return { meter, instruments, total, labelSetsOf };
}
