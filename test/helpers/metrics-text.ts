/** Reading Prometheus text exposition (a /metrics page) and asking Prometheus, for the tests. */

/** The sum of every series of `name` whose labels include `labels`: 0 when there is none. */
export type Scrape = (name: string, labels?: Record<string, string>) => number;

export function parseMetrics(text: string): Scrape {
  const samples = text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
      );
      return { name: m[1], labels, value: Number(m[3]) };
    });
  return (name, labels = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

/** An instant query's single value; undefined while it has no result. */
export async function promValue(baseUrl: string, query: string): Promise<number | undefined> {
  const res = await fetch(`${baseUrl}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`${query}: ${JSON.stringify(body)}`);
  const [first] = body.data.result;
  return first ? Number(first.value[1]) : undefined;
}
