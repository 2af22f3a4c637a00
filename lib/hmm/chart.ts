/**
 * The regime chart as SVG text: the price coloured by regime, the filtered probability
 * of each regime stacked beneath it, and a legend of each regime's mean return and
 * volatility. Pure string building (no DOM, no dependency), every text escaped.
 */

export interface ChartPoint {
  /** Epoch milliseconds. */
  time: number;
  close: number;
  /** Viterbi state. */
  state: number;
  /** Filtered probability of each state. */
  filtered: readonly number[];
}

export interface ChartRegime {
  label: string;
  meanReturn: number;
  volatility: number;
}

export interface ChartInput {
  title: string;
  points: readonly ChartPoint[];
  /** Calmest first, as the analysis orders states. */
  regimes: readonly ChartRegime[];
  width?: number;
  height?: number;
}

/** Calm to turbulent: green through amber to red, then violet for the most volatile of many. */
const RAMP = [
  '#1b9e4b',
  '#66bb3a',
  '#b5c42b',
  '#f2c12e',
  '#f29a2e',
  '#ea6a2c',
  '#d8432c',
  '#b2182b',
  '#7b1fa2',
  '#4a148c',
];

/** k colours spread along the ramp, so two states are green and red and three add amber. */
export function regimeColours(k: number): string[] {
  if (k === 1) return [RAMP[0]];
  return Array.from({ length: k }, (_, i) => RAMP[Math.round((i * (RAMP.length - 1 - (k <= 3 ? 3 : 0))) / (k - 1))]);
}

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

/** At most `max` points, evenly spaced and always keeping the last: a chart has no more pixels than that. */
function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)]);
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const pct = (v: number, digits: number) => `${(100 * v).toFixed(digits)} %`;

export function regimeChartSvg(input: ChartInput): string {
  const width = input.width ?? 1000;
  const k = input.regimes.length;
  const height = input.height ?? 600 + Math.ceil(k / 2) * 20 + 10;
  const colours = regimeColours(k);
  const left = 70;
  const right = width - 20;
  const price = { top: 50, bottom: 390 };
  const prob = { top: 420, bottom: 560 };
  const legendTop = 590;
  const points = thin(input.points, 2 * width);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="28" font-size="16" font-weight="bold">${escapeXml(input.title)}</text>`,
  ];
  if (points.length < 2) {
    out.push(`<text x="${left}" y="${price.top + 40}">no regimes to draw</text>`, '</svg>');
    return out.join('\n');
  }
  const t0 = points[0].time;
  const t1 = points[points.length - 1].time;
  const x = (t: number) => left + ((t - t0) / Math.max(t1 - t0, 1)) * (right - left);
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) {
    lo = Math.min(lo, p.close);
    hi = Math.max(hi, p.close);
  }
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  lo -= pad;
  hi += pad;
  const y = (v: number) => price.bottom - ((v - lo) / (hi - lo)) * (price.bottom - price.top);

  // Axes and grid.
  out.push(
    `<g stroke="#cccccc" stroke-width="1">`,
    `<line x1="${left}" y1="${price.bottom}" x2="${right}" y2="${price.bottom}"/>`,
    `<line x1="${left}" y1="${price.top}" x2="${left}" y2="${price.bottom}"/>`,
    `<line x1="${left}" y1="${prob.bottom}" x2="${right}" y2="${prob.bottom}"/>`,
    `</g>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    out.push(
      `<text x="${left - 6}" y="${f1(y(v) + 4)}" text-anchor="end" fill="#555555">${escapeXml(v.toPrecision(5))}</text>`,
    );
  }
  out.push(
    `<text x="${left}" y="${prob.bottom + 16}" fill="#555555">${day(t0)}</text>`,
    `<text x="${right}" y="${prob.bottom + 16}" text-anchor="end" fill="#555555">${day(t1)}</text>`,
    `<text x="${left - 6}" y="${prob.top + 4}" text-anchor="end" fill="#555555">100 %</text>`,
    `<text x="${left - 6}" y="${prob.bottom}" text-anchor="end" fill="#555555">0 %</text>`,
    `<text x="${left}" y="${prob.top - 8}" fill="#333333">filtered probability of each regime (what was knowable at each bar)</text>`,
  );

  // Price: one path per regime, a segment ending at bar t drawn in bar t's regime.
  const segments: string[][] = Array.from({ length: k }, () => []);
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const s = Math.min(Math.max(b.state, 0), k - 1);
    segments[s].push(`M${f1(x(a.time))} ${f1(y(a.close))}L${f1(x(b.time))} ${f1(y(b.close))}`);
  }
  segments.forEach((d, s) => {
    if (d.length > 0) {
      out.push(
        `<path class="price regime-${s}" d="${d.join('')}" stroke="${colours[s]}" stroke-width="1.6" fill="none"/>`,
      );
    }
  });

  // Filtered probabilities, stacked from the calmest regime up.
  const py = (v: number) => prob.bottom - v * (prob.bottom - prob.top);
  const below = new Float64Array(points.length);
  for (let s = 0; s < k; s++) {
    const upper: string[] = [];
    const lower: string[] = [];
    points.forEach((p, i) => {
      const top = below[i] + (p.filtered[s] ?? 0);
      upper.push(`${f1(x(p.time))} ${f1(py(Math.min(top, 1)))}`);
      lower.push(`${f1(x(p.time))} ${f1(py(Math.min(below[i], 1)))}`);
      below[i] = top;
    });
    out.push(
      `<path class="probability regime-${s}" d="M${upper.join('L')}L${lower.reverse().join('L')}Z" fill="${colours[s]}" fill-opacity="0.85" stroke="none"/>`,
    );
  }

  // Legend: each regime's colour, label, mean return and volatility per bar.
  input.regimes.forEach((r, s) => {
    const col = s % 2;
    const row = Math.floor(s / 2);
    const lx = left + col * 440;
    const ly = legendTop + row * 20;
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="14" height="12" fill="${colours[s]}"/>`,
      `<text x="${lx + 20}" y="${ly}">${escapeXml(r.label)}: mean ${escapeXml(pct(r.meanReturn, 3))} per bar, volatility ${escapeXml(pct(r.volatility, 2))}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
