import { readFileSync } from 'node:fs';
import { validationError } from '../../lib/errors';
import { syntheticBars, type Bar } from '../../lib/hmm';
import { analysisRequestSchema } from '../../lib/hmm/contract';
import type { Pool } from '../../lib/infra/db';
import { importBars } from '../../store/hmm/bars';

/** `hmm import` and `hmm generate`: bars into market_bars, the data the analyses read. */

const symbolSchema = analysisRequestSchema.innerType().shape.symbol;

export function parseSymbol(value: string | undefined, where: string): string {
  const parsed = symbolSchema.safeParse(value);
  if (!parsed.success)
    throw validationError(`${where}: ${JSON.stringify(value)} is not ${parsed.error.issues[0].message}`);
  return parsed.data;
}

/** ISO 8601 or epoch seconds / milliseconds (numbers under 1e11 are seconds). */
function parseTime(cell: string, where: string): number {
  const n = Number(cell);
  const ms = cell !== '' && Number.isFinite(n) ? (Math.abs(n) < 1e11 ? n * 1000 : n) : Date.parse(cell);
  if (!Number.isFinite(ms))
    throw validationError(`${where}: ${JSON.stringify(cell)} is not a time (ISO 8601 or epoch)`);
  return ms;
}

/**
 * Bars from a CSV with a header naming time (or date, timestamp), open, high, low, close
 * and optionally volume and symbol. Without a symbol column every row belongs to
 * `symbol`. Every row is checked, and a bad one is named by its line.
 */
export function parseBarsCsv(text: string, path: string, symbol?: string): Map<string, Bar[]> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw validationError(`${path}: a CSV file needs a header row and at least one bar`);
  const header = lines[0].split(',').map((h) => h.trim().toLowerCase());
  const column = (...names: string[]) => header.findIndex((h) => names.includes(h));
  const cols = {
    time: column('time', 'date', 'timestamp', 'datetime'),
    open: column('open'),
    high: column('high'),
    low: column('low'),
    close: column('close', 'adj close', 'adj_close'),
    volume: column('volume'),
    symbol: column('symbol', 'ticker'),
  };
  for (const need of ['time', 'open', 'high', 'low', 'close'] as const) {
    if (cols[need] < 0) throw validationError(`${path}: no ${need} column in the header (${header.join(', ')})`);
  }
  if (cols.symbol < 0 && !symbol) throw validationError(`${path} has no symbol column: give --symbol <S>`);
  const fixedSymbol = symbol ? parseSymbol(symbol, '--symbol') : undefined;
  const out = new Map<string, Bar[]>();
  lines.slice(1).forEach((line, r) => {
    const where = `${path} line ${r + 2}`;
    const cells = line.split(',').map((c) => c.trim());
    const num = (name: keyof typeof cols) => {
      const cell = cells[cols[name]] ?? '';
      const v = Number(cell);
      if (cell === '' || !Number.isFinite(v))
        throw validationError(`${where}: ${name} ${JSON.stringify(cell)} is not a number`);
      return v;
    };
    const bar: Bar = {
      time: parseTime(cells[cols.time] ?? '', where),
      open: num('open'),
      high: num('high'),
      low: num('low'),
      close: num('close'),
      volume: cols.volume >= 0 && cells[cols.volume] !== '' ? num('volume') : 0,
    };
    for (const k of ['open', 'high', 'low', 'close'] as const) {
      if (!(bar[k] > 0)) throw validationError(`${where}: ${k} must be a positive price, got ${bar[k]}`);
    }
    if (bar.high < bar.low) throw validationError(`${where}: high ${bar.high} is below low ${bar.low}`);
    if (bar.volume < 0) throw validationError(`${where}: volume must not be negative, got ${bar.volume}`);
    const sym = fixedSymbol ?? parseSymbol(cells[cols.symbol], `${where}: symbol`);
    const list = out.get(sym) ?? [];
    list.push(bar);
    out.set(sym, list);
  });
  return out;
}

export async function importCsv(pool: Pool, path: string, symbol?: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw validationError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const bySymbol = parseBarsCsv(text, path, symbol);
  const imported: Record<string, number> = {};
  for (const [sym, bars] of bySymbol) imported[sym] = await importBars(pool, sym, bars);
  return { imported };
}

export async function generateBars(pool: Pool, opts: { symbol: string; bars: number; seed: number; start?: string }) {
  const symbol = parseSymbol(opts.symbol, '--symbol');
  if (!Number.isInteger(opts.bars) || opts.bars < 30 || opts.bars > 1_000_000) {
    throw validationError(`--bars must be an integer between 30 and 1000000, got ${opts.bars}`);
  }
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff) {
    throw validationError(`--seed must be an integer between 0 and 4294967295, got ${opts.seed}`);
  }
  const startTime = opts.start === undefined ? undefined : Date.parse(opts.start);
  if (startTime !== undefined && !Number.isFinite(startTime)) {
    throw validationError(`--start must be an ISO 8601 date such as 2020-01-01, got ${JSON.stringify(opts.start)}`);
  }
  const { bars, states } = syntheticBars({ n: opts.bars, seed: opts.seed, startTime });
  const written = await importBars(pool, symbol, bars);
  const hidden = [0, 0, 0];
  for (const s of states) hidden[s]++;
  return {
    symbol,
    bars: written,
    from: new Date(bars[0].time).toISOString(),
    to: new Date(bars[bars.length - 1].time).toISOString(),
    hiddenRegimes: { 'low-vol': hidden[0], 'mid-vol': hidden[1], 'high-vol': hidden[2] },
  };
}
