import { escapeXml, regimeChartSvg } from '../../lib/hmm/chart';
import { analysisRequestSchema, hmmAnalysisWorkflowId, paramsHash, stateCounts } from '../../lib/hmm/contract';

const id = (body: unknown) => hmmAnalysisWorkflowId(analysisRequestSchema.parse(body));

test('the same request in any spelling has one id: case of the symbol, key order, defaults, a one-count range', () => {
  const base = id({ symbol: 'BTC-USD' });
  expect(base).toMatch(/^hmm-BTC-USD-[0-9a-f]{16}$/);
  expect(id({ symbol: ' btc-usd ' })).toBe(base);
  expect(id({ states: 3, symbol: 'BTC-USD', seed: 0, covariance: 'diag', tol: 1e-4 })).toBe(base);
  expect(id({ symbol: 'BTC-USD', states: { min: 3, max: 3 } })).toBe(base);
  expect(id({ symbol: 'BTC-USD', from: '2024-01-01T02:00:00+02:00' })).toBe(
    id({ symbol: 'BTC-USD', from: '2024-01-01T00:00:00Z' }),
  );
});

test('any parameter that changes the fit changes the id', () => {
  const base = id({ symbol: 'ETH' });
  const variants = [
    { seed: 1 },
    { states: 2 },
    { states: { min: 2, max: 4 } },
    { covariance: 'full' },
    { features: 'returns' },
    { restarts: 5 },
    { nIter: 99 },
    { tol: 1e-5 },
    { criterion: 'aic', states: { min: 2, max: 4 } },
    { to: '2025-01-01T00:00:00Z' },
  ];
  const ids = variants.map((v) => id({ symbol: 'ETH', ...v }));
  expect(new Set([base, ...ids]).size).toBe(variants.length + 1);
  expect(paramsHash(analysisRequestSchema.parse({ symbol: 'ETH' }))).toBe(base.slice(-16));
});

test.each([
  [{ symbol: 'A', states: 11 }, 'states'],
  [{ symbol: 'A', states: { min: 4, max: 2 } }, 'min must not exceed max'],
  [{ symbol: 'A', restarts: 0 }, 'restarts'],
  [{ symbol: 'A', nIter: 10_001 }, 'nIter'],
  [{ symbol: 'A', tol: -1 }, 'tol'],
  [{ symbol: 'A', seed: 2 ** 32 }, 'seed'],
  [{ symbol: 'A B' }, 'symbol'],
  [{ symbol: 'A', from: '2024-02-01T00:00:00Z', to: '2024-01-01T00:00:00Z' }, 'from must be before to'],
  [{ symbol: 'A', from: 'yesterday' }, 'ISO 8601'],
  [{ symbol: 'A', nIters: 5 }, 'nIters'],
])('%j is refused, naming %s', (body, words) => {
  const parsed = analysisRequestSchema.safeParse(body);
  expect(parsed.success).toBe(false);
  expect(JSON.stringify(parsed.error!.issues)).toContain(words);
});

test('a range of states fits every count in it', () => {
  expect(stateCounts(analysisRequestSchema.parse({ symbol: 'A', states: { min: 2, max: 5 } }))).toEqual([2, 3, 4, 5]);
});

test('the chart escapes every text and draws a price path and a probability area per regime present', () => {
  expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  const points = Array.from({ length: 10 }, (_, i) => ({
    time: i * 86_400_000,
    close: 100 + i,
    state: i < 5 ? 0 : 1,
    filtered: i < 5 ? [0.9, 0.1] : [0.2, 0.8],
  }));
  const svg = regimeChartSvg({
    title: 'X<script>',
    points,
    regimes: [
      { label: 'low-vol', meanReturn: 0.001, volatility: 0.01 },
      { label: 'high-vol', meanReturn: -0.002, volatility: 0.03 },
    ],
  });
  expect(svg).not.toContain('<script>');
  expect(svg).toContain('X&lt;script&gt;');
  expect(svg.match(/class="price regime-\d"/g)).toEqual(['class="price regime-0"', 'class="price regime-1"']);
  expect(svg.match(/class="probability regime-\d"/g)).toHaveLength(2);
  expect(svg).toContain('high-vol: mean -0.200 % per bar, volatility 3.00 %');
});
